"""From a CloudTrail record to the service method that handles it: the one dispatcher,
used by every event handler and by `driftguard replay-dlq`.

IAM role events fan out to every resource naming the role; a registered kind's policy
calls check that one resource. Failed calls and driftguard's own changes are ignored
(the template's rules already drop them; this holds for replayed events too).
"""

from __future__ import annotations

from typing import Protocol

from driftguard import kinds
from driftguard.aws import SESSION_NAME
from driftguard.decision import Result
from driftguard.errors import InvalidEventError
from driftguard.events import CloudTrailDetail
from driftguard.kinds import ResourceKind
from driftguard.vocabulary import Outcome

IAM_EVENT_SOURCE = "iam.amazonaws.com"


class Handlers(Protocol):
    """What the dispatcher calls (driftguard.service.Remediator)."""

    def on_role_deleted(self, detail: CloudTrailDetail) -> list[Result]: ...

    def on_role_created(self, detail: CloudTrailDetail) -> list[Result]: ...

    def on_policy_change(self, detail: CloudTrailDetail, kind: ResourceKind) -> list[Result]: ...


def ignore_reason(detail: CloudTrailDetail, remediation_role_name: str) -> str | None:
    """Failed calls and driftguard's own restores never trigger a fix."""
    if detail.error_code:
        return f"failed call ({detail.error_code})"
    if _by_driftguard(detail, remediation_role_name):
        return "driftguard's own change"
    return None


def _by_driftguard(detail: CloudTrailDetail, remediation_role_name: str) -> bool:
    """A session driftguard opened: the remediation role of the account that received
    the call, under driftguard's session name. Anyone else who gets to use that role
    (another session name, the role of another account) is seen like anyone else."""
    identity = detail.user_identity
    account, partition = detail.recipient_account_id, identity.partition
    role = f"arn:{partition}:iam::{account}:role/{remediation_role_name}"
    session = f"arn:{partition}:sts::{account}:assumed-role/{remediation_role_name}/{SESSION_NAME}"
    return identity.issuer_arn == role and identity.arn == session


def dispatch(
    handlers: Handlers, detail: CloudTrailDetail, *, remediation_role_name: str
) -> list[Result]:
    """Handle one CloudTrail record; InvalidEventError when driftguard cannot use it."""
    if reason := ignore_reason(detail, remediation_role_name):
        return [Result(arn="", outcome=Outcome.IGNORED, reason=reason)]
    if detail.event_source == IAM_EVENT_SOURCE:
        if detail.event_name == "DeleteRole":
            return handlers.on_role_deleted(detail)
        if detail.event_name == "CreateRole":
            return handlers.on_role_created(detail)
        raise InvalidEventError(f"{detail.event_name} is not an IAM event driftguard handles")
    kind = kinds.for_event_source(detail.event_source)
    if kind is None or detail.event_name not in kind.policy_event_names:
        return [
            Result(
                arn="",
                outcome=Outcome.IGNORED,
                reason=f"{detail.event_name} is not a policy change",
            )
        ]
    return handlers.on_policy_change(detail, kind)
