"""The alerts about access paths (driftguard.path_watch): a path broke or healed, and
access to a path's key beside its policy (a replica, a grant). Their words are in
driftguard.alerts.WORDING with every other alert's."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from driftguard.alerts import (
    WORDING,
    Alert,
    AlertPath,
    AlertResource,
    call_fields,
    fit_alert,
)
from driftguard.arns import Arn
from driftguard.model import Trigger
from driftguard.path_model import PATH_KIND
from driftguard.path_store import audit_arn
from driftguard.vocabulary import ALERT_SEVERITY, AlertType, Severity

__all__ = ["grant_alert", "path_alert", "replica_alert"]


def replica_alert(
    key_arn: str, replica_arn: str, trigger: Trigger, *, now: datetime, console_url: str = ""
) -> Alert:
    """KEY_REPLICATED: the replica named as the resource to adopt."""
    reason = f"replica of {key_arn}; adopt it: `driftguard adopt {replica_arn}`"
    return _key_alert(
        AlertType.KEY_REPLICATED, key_arn, replica_arn, reason, trigger, now, console_url
    )


def grant_alert(
    key_arn: str,
    grant: Mapping[str, Any],
    trigger: Trigger,
    *,
    now: datetime,
    console_url: str = "",
) -> Alert:
    """KEY_GRANT_CREATED: the grantee, the operations, and how to revoke it."""
    grant_id = grant.get("grant_id") or "GRANT_ID"
    reason = (
        f"grant {grant.get('grant_id') or '(id not recorded)'} lets "
        f"{grant.get('grantee') or 'an unnamed grantee'} call "
        f"{', '.join(grant.get('operations') or ()) or 'no operation named'}; revoke it: "
        f"aws kms revoke-grant --key-id {key_arn} --grant-id {grant_id}"
    )
    return _key_alert(
        AlertType.KEY_GRANT_CREATED, key_arn, key_arn, reason, trigger, now, console_url
    )


def _key_alert(
    alert_type: AlertType,
    key_arn: str,
    resource_arn: str,
    reason: str,
    trigger: Trigger,
    now: datetime,
    console_url: str,
) -> Alert:
    title, summary, next_steps = WORDING[alert_type](key_arn, 1, trigger)
    resource = Arn.parse(resource_arn)
    return fit_alert(
        Alert(
            type=alert_type,
            severity=ALERT_SEVERITY[alert_type] or Severity.HIGH,
            title=title,
            summary=summary,
            resources=[
                AlertResource(
                    arn=resource_arn,
                    kind="kms-key",
                    account=resource.account,
                    region=resource.region,
                    status=alert_type.value,
                    reason=reason[:1000],
                    console_url=console_url,
                )
            ],
            next_steps=next_steps,
            **call_fields(trigger, now),
        )
    )


def path_alert(
    alert_type: AlertType,
    path: AlertPath,
    trigger: Trigger,
    *,
    account: str,
    region: str,
    now: datetime,
    console_url: str = "",
) -> Alert:
    """PATH_BROKEN or PATH_HEALED for one path; `account` and `region` are the role's
    and the secret's (where the pod stands, where it reads), `console_url` the
    secret's page."""
    title, summary, next_steps = WORDING[alert_type](path.name, 1, trigger)
    return fit_alert(
        Alert(
            type=alert_type,
            severity=ALERT_SEVERITY[alert_type] or Severity.HIGH,
            title=title,
            summary=summary,
            resources=[
                AlertResource(
                    arn=audit_arn(path.name),  # where its history is
                    kind=PATH_KIND,
                    account=account,
                    region=region,
                    status=alert_type.value,
                    reason=path.reason[:1000],
                    console_url=console_url,
                )
            ],
            next_steps=next_steps,
            role_arn=path.role_arn,
            **call_fields(trigger, now),
            path=path.model_copy(update={"fix": path.fix[:2000]}),
        )
    )
