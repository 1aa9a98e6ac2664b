"""What driftguard itself stands on, and who may assume the roles declared policies name.

driftguard sees and undoes changes in a member account only while three things hold
there: its remediation role is what the spoke stack made (who may assume it, what it
may do), the spoke's forwarding rules forward (named `driftguard-…`, FORWARDING_RULE_PREFIX),
and a trail records the calls. A change to any of them is a *safeguard* change: always
alerted (critical), whoever made it. driftguard's own sessions never make these calls,
so none of them is taken as driftguard's own (driftguard.dispatch routes them first).

A role that declared policies name is the identity behind that access: a new trust
policy (UpdateAssumeRolePolicy) is compared, as GetRole shows it, with the identity the
team approved, and alerted when it differs (critical when it lets anyone new in).

Pure: which safeguard a CloudTrail record changes, how a trust policy changed, and the
alerts. driftguard.service publishes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from driftguard import kinds
from driftguard.alerts import WORDING, Alert, AlertResource, fit_alert
from driftguard.arns import Arn, console_origin, role_arn
from driftguard.errors import DriftguardError
from driftguard.events import CloudTrailDetail
from driftguard.model import Trigger
from driftguard.principals import TrustChange
from driftguard.vocabulary import ALERT_SEVERITY, AlertType, Finding, Severity, TriggerKind

IAM_SOURCE: Final = "iam.amazonaws.com"
EVENTS_SOURCE: Final = "events.amazonaws.com"
CLOUDTRAIL_SOURCE: Final = "cloudtrail.amazonaws.com"

# The spoke's forwarding rules are all named so (spoke-template.yaml; the hub's rules
# match the same prefix: tests/contract/test_templates.py holds the three together).
FORWARDING_RULE_PREFIX: Final = "driftguard-"

# IAM calls that change a role: whether it exists, who may assume it, what it may do.
ROLE_CALLS: Final = frozenset(
    {
        "CreateRole",
        "DeleteRole",
        "UpdateAssumeRolePolicy",
        "PutRolePolicy",
        "DeleteRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
    }
)
# EventBridge calls that change a rule, and the request parameter that names it.
RULE_CALLS: Final = {
    "PutRule": "name",
    "DisableRule": "name",
    "DeleteRule": "name",
    "PutTargets": "rule",
    "RemoveTargets": "rule",
}
# CloudTrail calls that stop or change what a trail records, and what names the trail.
TRAIL_CALLS: Final = {
    "StopLogging": "name",
    "DeleteTrail": "name",
    "UpdateTrail": "name",
    "PutEventSelectors": "trailName",
}
TRUST_CALL: Final = "UpdateAssumeRolePolicy"

ROLE_KIND, RULE_KIND, TRAIL_KIND = "iam-role", "events-rule", "cloudtrail-trail"
CHANGED: Final = "changed"  # the status an alert shows for a safeguard or a role
MAX_REQUEST_LINES: Final = 20
MAX_LINE: Final = 300

_ROLE_MEANING: Final = {
    "CreateRole": "driftguard's remediation role was created again: whoever its new trust "
    "policy lets in may rewrite every key and secret policy in this account",
    "DeleteRole": "driftguard's remediation role is gone: driftguard can no longer check or "
    "restore anything in this account",
    "UpdateAssumeRolePolicy": "who may assume driftguard's remediation role changed: whoever "
    "it now trusts may rewrite every key and secret policy in this account",
    "PutRolePolicy": "what driftguard's remediation role may do changed: anyone who can "
    "assume it may now do more, or driftguard less",
    "AttachRolePolicy": "a managed policy was attached to driftguard's remediation role: "
    "anyone who can assume it may now do what that policy allows",
    "DeleteRolePermissionsBoundary": "the permissions boundary of driftguard's remediation "
    "role was removed: it may now do everything its policies allow",
    "DeleteRolePolicy": "a policy of driftguard's remediation role was removed: driftguard "
    "may no longer read or restore policies in this account",
    "DetachRolePolicy": "a managed policy was detached from driftguard's remediation role: "
    "what it may do changed",
    "PutRolePermissionsBoundary": "a permissions boundary now limits driftguard's remediation "
    "role: driftguard may no longer read or restore policies in this account",
}
_RULE_MEANING: Final = {
    "DeleteRule": "the rule that forwards this account's changes to driftguard is gone: "
    "driftguard hears of no change here, only the sweep finds drift",
    "DisableRule": "the rule that forwards this account's changes to driftguard is disabled: "
    "driftguard hears of no change here, only the sweep finds drift",
    "PutRule": "the rule that forwards this account's changes to driftguard was changed "
    "(its pattern or state): driftguard may no longer hear of them",
    "RemoveTargets": "the rule that forwards this account's changes to driftguard lost a "
    "target: they may no longer reach driftguard",
    "PutTargets": "where the rule that forwards this account's changes to driftguard sends "
    "them changed: they may reach someone else, or no longer driftguard",
}
_TRAIL_MEANING: Final = {
    "StopLogging": "the trail stopped recording: if driftguard's events come from it, "
    "driftguard hears of no change, only the sweep finds drift",
    "DeleteTrail": "the trail is gone: if driftguard's events come from it, driftguard hears "
    "of no change, only the sweep finds drift",
    "PutEventSelectors": "what the trail records changed: the write management events "
    "driftguard acts on may no longer be recorded",
    "UpdateTrail": "the trail's settings changed: it may no longer record every region, or "
    "IAM's events",
}


@dataclass(frozen=True)
class Safeguard:
    """The safeguard one CloudTrail record changed."""

    kind: str  # ROLE_KIND, RULE_KIND or TRAIL_KIND
    arn: str
    account: str
    region: str
    what: str  # as a person names it: "driftguard's remediation role"
    meaning: str  # what the change puts at risk
    console_url: str

    @property
    def subject(self) -> str:
        return f"{self.what} {self.arn}"


def changed_safeguard(detail: CloudTrailDetail, remediation_role_name: str) -> Safeguard | None:
    """The safeguard this record changes, or None: a call on driftguard's remediation
    role, on one of its forwarding rules, or on any trail."""
    params = detail.request_parameters or {}
    partition = detail.user_identity.partition
    account, region, call = detail.recipient_account_id, detail.aws_region, detail.event_name
    if detail.event_source == IAM_SOURCE and call in ROLE_CALLS:
        name = params.get("roleName")
        if not isinstance(name, str) or name.casefold() != remediation_role_name.casefold():
            return None  # role names are unique whatever their case
        arn = role_arn(partition, account, remediation_role_name)
        return Safeguard(
            kind=ROLE_KIND,
            arn=arn,
            account=account,
            region="",
            what="driftguard's remediation role",
            meaning=_ROLE_MEANING[call],
            console_url=role_console_url(arn),
        )
    if detail.event_source == EVENTS_SOURCE and call in RULE_CALLS:
        name = params.get(RULE_CALLS[call])
        if not isinstance(name, str) or not name.startswith(FORWARDING_RULE_PREFIX):
            return None
        bus = params.get("eventBusName")
        bus_name = bus.rsplit("/", 1)[-1] if isinstance(bus, str) and bus else "default"
        path = name if bus_name == "default" else f"{bus_name}/{name}"
        arn = f"arn:{partition}:events:{region}:{account}:rule/{path}"
        rule = Arn(partition, "events", region, account, f"rule/{path}", arn)
        return Safeguard(
            kind=RULE_KIND,
            arn=arn,
            account=account,
            region=region,
            what="driftguard's forwarding rule",
            meaning=_RULE_MEANING[call],
            console_url=(
                f"{console_origin(rule)}/events/home?region={region}"
                f"#/eventbus/{quote(bus_name, safe='')}/rules/{quote(name, safe='')}"
            ),
        )
    if detail.event_source == CLOUDTRAIL_SOURCE and call in TRAIL_CALLS:
        trail = _trail(params.get(TRAIL_CALLS[call]), partition, region, account)
        return Safeguard(
            kind=TRAIL_KIND,
            arn=trail.text,
            account=trail.account,
            region=trail.region,
            what="the trail",
            meaning=_TRAIL_MEANING[call],
            console_url=(
                f"{console_origin(trail)}/cloudtrail/home?region={trail.region}"
                f"#/trails/{quote(trail.text, safe='')}"
            ),
        )
    return None


def _trail(name: Any, partition: str, region: str, account: str) -> Arn:
    """The trail a call names (its name or its ARN)."""
    if isinstance(name, str) and name.startswith("arn:"):
        try:
            parsed = Arn.parse(name)
        except DriftguardError:
            pass
        else:
            if parsed.service == "cloudtrail" and parsed.region and parsed.account:
                return parsed
    trail = name if isinstance(name, str) and name else "unnamed"
    resource = f"trail/{trail[:128]}"
    text = f"arn:{partition}:cloudtrail:{region}:{account}:{resource}"
    return Arn(partition, "cloudtrail", region, account, resource, text)


def role_console_url(arn: str) -> str:
    """IAM is global: the console of the role's partition (any region shows it)."""
    parts = arn.split(":", 5)
    partition = parts[1] if len(parts) == 6 else "aws"
    name = arn.rsplit("/", 1)[-1]
    origin = console_origin(Arn(partition, "iam", "us-east-1", "", "", arn))
    return f"{origin}/iam/home#/roles/details/{quote(name, safe='')}"


def request_lines(detail: CloudTrailDetail) -> list[str]:
    """What the call asked for, one parameter a line, as CloudTrail recorded it."""
    lines = []
    for key, value in list((detail.request_parameters or {}).items())[:MAX_REQUEST_LINES]:
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        line = f"{key}: {text}"
        lines.append(line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…")
    return lines


def _wording_trigger(detail: CloudTrailDetail) -> Trigger:
    """The call, for the alert's wording only: these alerts carry no trigger kind."""
    return Trigger(
        kind=TriggerKind.POLICY_CHANGED,
        event_name=detail.event_name,
        event_id=detail.event_id,
        actor=detail.user_identity.describe(),
        event_time=detail.event_time,
    )


def safeguard_alert(safeguard: Safeguard, detail: CloudTrailDetail, now: datetime) -> Alert:
    """One critical alert: which safeguard, who changed it, what it means, what the call asked."""
    trigger = _wording_trigger(detail)
    title, summary, next_steps = WORDING[AlertType.SAFEGUARD_CHANGED](safeguard.subject, 1, trigger)
    severity = ALERT_SEVERITY[AlertType.SAFEGUARD_CHANGED] or Severity.CRITICAL
    lines = request_lines(detail)
    return fit_alert(
        Alert(
            type=AlertType.SAFEGUARD_CHANGED,
            severity=severity,
            title=title,
            summary=summary,
            resources=[
                AlertResource(
                    arn=safeguard.arn,
                    kind=safeguard.kind,
                    account=safeguard.account,
                    region=safeguard.region,
                    status=CHANGED,
                    diff={"summary": lines} if lines else {},
                    reason=safeguard.meaning,
                    console_url=safeguard.console_url,
                )
            ],
            next_steps=next_steps,
            role_arn=safeguard.arn if safeguard.kind == ROLE_KIND else None,
            actor=trigger.actor,
            event_name=detail.event_name,
            event_id=detail.event_id,
            changed_at=detail.event_time,
            detected_at=now,
        )
    )


# --------------------------------------------------------------------------- trust


def named_resource(arn: str, status: str) -> AlertResource:
    """A declared resource whose policy names the role, for the trust alert."""
    try:
        target = kinds.target(arn)
    except DriftguardError:
        return AlertResource(arn=arn, kind="", account="", region="", status=status)
    return AlertResource(
        arn=target.text,
        kind=target.kind.name,
        account=target.arn.account,
        region=target.region,
        status=status,
        reason="its declared policy grants the role access",
        console_url=target.kind.console_url(target.arn),
    )


def trust_alert(
    role: str,
    change: TrustChange,
    named: list[AlertResource],
    detail: CloudTrailDetail,
    now: datetime,
) -> Alert:
    """One alert for a declared principal's new trust policy, listing what names it."""
    trigger = _wording_trigger(detail)
    title, summary, next_steps = WORDING[AlertType.PRINCIPAL_TRUST_CHANGED](
        role, len(named), trigger
    )
    subject = AlertResource(
        arn=role,
        kind=ROLE_KIND,
        account=detail.recipient_account_id,
        region="",
        status=CHANGED,
        findings=[Finding.WIDENED.value] if change.widened else [],
        diff={"summary": list(change.changes)} if change.changes else {},
        reason=f"{role} {change.why}",
        console_url=role_console_url(role),
    )
    return fit_alert(
        Alert(
            type=AlertType.PRINCIPAL_TRUST_CHANGED,
            severity=change.severity,
            title=title,
            summary=summary,
            resources=[subject, *named],
            next_steps=next_steps,
            role_arn=role,
            actor=trigger.actor,
            event_name=detail.event_name,
            event_id=detail.event_id,
            changed_at=detail.event_time,
            detected_at=now,
        )
    )
