"""From a CloudTrail record to the service method that handles it: the one dispatcher,
used by every event handler and by `driftguard replay-dlq`.

IAM role events fan out to every resource naming the role; a registered kind's policy
calls check that one resource. Failed calls and driftguard's own changes are ignored
(the template's rules already drop them; this holds for replayed events too).

A change to one of driftguard's safeguards (its remediation role, its forwarding rules,
a trail: driftguard.safeguards) is routed before driftguard's own changes are set
aside: driftguard never makes those calls, so a record saying its session did is
alerted like any other. A new trust policy for another role is compared with the
approved identity when declared policies name the role.
"""

from __future__ import annotations

from typing import Protocol

from driftguard import kinds
from driftguard.aws import SESSION_NAME
from driftguard.decision import Result
from driftguard.errors import InvalidEventError
from driftguard.events import CloudTrailDetail
from driftguard.kinds import ResourceKind
from driftguard.kinds.role_trust import ROLE_TRUST
from driftguard.safeguards import IAM_SOURCE, ROLE_CALLS, TRUST_CALL, changed_safeguard
from driftguard.vocabulary import Outcome

IAM_EVENT_SOURCE = IAM_SOURCE


class Handlers(Protocol):
    """What the dispatcher calls (driftguard.service.Remediator)."""

    def on_role_deleted(self, detail: CloudTrailDetail) -> list[Result]: ...

    def on_role_created(self, detail: CloudTrailDetail) -> list[Result]: ...

    def on_policy_change(self, detail: CloudTrailDetail, kind: ResourceKind) -> list[Result]: ...

    def on_safeguard_changed(self, detail: CloudTrailDetail) -> list[Result]: ...

    def on_trust_changed(self, detail: CloudTrailDetail) -> list[Result]: ...


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
    if detail.error_code:  # a failed call changes nothing, not even a safeguard
        failed = f"failed call ({detail.error_code})"
        return [Result(arn="", outcome=Outcome.IGNORED, reason=failed)]
    if changed_safeguard(detail, remediation_role_name) is not None:
        # Never driftguard's own: it has no permission to make any of these calls.
        results = handlers.on_safeguard_changed(detail)
        # The role may be named by declared policies as well (nothing else changes).
        if detail.event_name == "DeleteRole":
            results += handlers.on_role_deleted(detail)
        elif detail.event_name == "CreateRole":
            results += handlers.on_role_created(detail)
        return results
    if reason := ignore_reason(detail, remediation_role_name):
        return [Result(arn="", outcome=Outcome.IGNORED, reason=reason)]
    if detail.event_source == IAM_EVENT_SOURCE:
        if detail.event_name == "DeleteRole":
            return handlers.on_role_deleted(detail)
        if detail.event_name == "CreateRole":
            return handlers.on_role_created(detail)
        if detail.event_name == TRUST_CALL:
            # Who may now assume a role declared policies name, and the role's own
            # declared trust policy (the role-trust kind) when it has one.
            trust_kind = kinds.get(ROLE_TRUST)
            return handlers.on_trust_changed(detail) + handlers.on_policy_change(detail, trust_kind)
        if detail.event_name in ROLE_CALLS:
            # The rules deliver these for the remediation role only (a replay may not).
            other = f"{detail.event_name} of a role that is not driftguard's remediation role"
            return [Result(arn="", outcome=Outcome.IGNORED, reason=other)]
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
