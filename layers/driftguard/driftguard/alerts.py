"""Alerts: one per incident, composed from decisions and published to the SNS topic.

The notifier turns them into Slack messages; the model is the contract between
the two, so it is pydantic (an edge). `compose_alert` is pure: everything it says
comes from the decisions, nothing from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from driftguard.model import Trigger
from driftguard.vocabulary import AlertType, Link, Severity, TriggerKind

if TYPE_CHECKING:  # the notifier reads alerts without loading the decision machinery
    from driftguard.decision import Decision


# Built on first use, not at import (issue 10, cold start): most invocations send no alert.
_MODEL_CONFIG: Final = ConfigDict(frozen=True, defer_build=True)


class AlertResource(BaseModel):
    model_config = _MODEL_CONFIG

    arn: str
    kind: str
    account: str
    region: str
    status: str
    findings: list[str] = []
    orphaned_ids: list[str] = []
    diff: dict[str, Any] = {}
    reason: str = ""
    console_url: str = ""


class AlertPath(BaseModel):
    """A declared access path, for the two path alerts: its first broken link (None:
    it works), why and the fix, and the calls driftguard made to put it right."""

    model_config = _MODEL_CONFIG

    name: str
    role_arn: str
    secret_arn: str
    key_arn: str
    mode: str
    broken: Link | None = None
    reason: str = ""
    fix: str = ""
    failing: list[Link] = []
    # The safe fix: being applied (PATH_BROKEN) or applied and verified (PATH_HEALED).
    driftguard_calls: list[str] = []


class Alert(BaseModel):
    model_config = _MODEL_CONFIG

    type: AlertType
    severity: Severity
    title: str
    summary: str
    resources: list[AlertResource] = Field(min_length=1)
    next_steps: str = ""
    role_arn: str | None = None
    unique_ids: dict[str, str] = {}  # unique id -> role ARN it belonged to, when known
    actor: str | None = None
    event_name: str | None = None
    event_id: str | None = None
    trigger: TriggerKind | None = None  # what made driftguard look
    changed_at: datetime | None = None
    detected_at: datetime
    time_to_fix_seconds: float | None = None
    omitted: int = 0  # resources left out to keep the message under SNS's size limit
    path: AlertPath | None = None  # PATH_BROKEN, PATH_HEALED


def readable_changes(diff: dict[str, Any]) -> list[str]:
    """Principal and action changes when there are any; the grant lines only when
    nothing else shows what changed (a condition or resource, say)."""
    lines: list[str] = diff.get("summary", [])
    short = [line for line in lines if not line.lstrip("+- ").startswith("grant ")]
    return short or lines


# --------------------------------------------------------------------------- composing


def compose_alert(
    decisions: Sequence[Decision], trigger: Trigger, *, role: str | None, now: datetime
) -> Alert:
    """One alert for the decisions of one trigger that have an alert due: a DeleteRole
    that orphans 30 resources is one alert listing them. It takes the type of the worst
    (AlertType ranking) and the highest severity."""
    worst = max(decisions, key=lambda d: (_rank(d.alert), d.severity.rank))
    alert_type = worst.alert or AlertType.RESTORED
    severity = max((d.severity for d in decisions), key=lambda s: s.rank)
    unique_ids: dict[str, str] = {}
    for decision in decisions:
        for uid, owner in decision.observation.owners.items():
            unique_ids[uid] = owner or (f"probably {role}" if role else "unknown")
    subject = role or decisions[0].target.text
    title, summary, next_steps = WORDING[alert_type](subject, len(decisions), trigger)
    time_to_fix = None
    if alert_type is AlertType.RESTORED and trigger.event_time is not None:
        time_to_fix = max(0.0, (worst.at - trigger.event_time).total_seconds())
    return fit_alert(
        Alert(
            type=alert_type,
            severity=severity,
            title=title,
            summary=summary,
            resources=[_resource(d) for d in decisions],
            next_steps=next_steps,
            role_arn=role,
            unique_ids=unique_ids,
            trigger=trigger.kind,
            time_to_fix_seconds=time_to_fix,
            **call_fields(trigger, now),
        )
    )


def call_fields(trigger: Trigger, now: datetime) -> dict[str, Any]:
    """What every alert says of the call that led to it, and when it was seen."""
    return {
        "actor": trigger.actor,
        "event_name": trigger.event_name,
        "event_id": trigger.event_id,
        "changed_at": trigger.event_time,
        "detected_at": now,
    }


def _rank(alert: AlertType | None) -> int:
    return alert.rank if alert is not None else -1


def _resource(decision: Decision) -> AlertResource:
    obs, target = decision.observation, decision.target
    return AlertResource(
        arn=target.text,
        kind=target.kind.name,
        account=target.arn.account,
        region=target.region,
        status=decision.status.value,
        findings=list(obs.findings),
        orphaned_ids=list(obs.orphaned_ids),
        diff=_capped(obs.diff),
        reason=decision.reason[:1000],
        console_url=target.kind.console_url(target.arn),
    )


MAX_CHANGE_LINES = 40  # per resource in an alert
MAX_ALERT_BYTES = 200_000  # SNS takes 256 KB


def _capped(diff: dict[str, Any]) -> dict[str, Any]:
    """The diff with each list cut to its first lines: the whole diff is in the history,
    and an SNS message must stay under 256 KB."""
    return {
        name: [str(item)[:300] for item in value[:MAX_CHANGE_LINES]]
        if isinstance(value, list)
        else value
        for name, value in diff.items()
    }


def fit_alert(alert: Alert) -> Alert:
    """An alert SNS accepts: past the size, the resources' changes go first, then the
    resources past what fits (their count stays in `omitted`)."""
    if len(alert.model_dump_json()) <= MAX_ALERT_BYTES:
        return alert
    resources = [r.model_copy(update={"diff": {}}) for r in alert.resources]
    kept: list[AlertResource] = []
    size = 0
    for resource in resources:
        size += len(resource.model_dump_json())
        if size > MAX_ALERT_BYTES // 2 and kept:
            break
        kept.append(resource)
    return alert.model_copy(
        update={"resources": kept, "omitted": alert.omitted + len(resources) - len(kept)}
    )


Wording = Callable[[str, int, Trigger], tuple[str, str, str]]


def _plural(count: int) -> str:
    return f"{count} resource{'s' if count != 1 else ''}"


def _by(trigger: Trigger) -> str:
    if trigger.event_name:
        return f" after {trigger.describe()}"
    if trigger.kind is TriggerKind.DECLARATION_CHANGED:
        return " (checked as its declaration changed)"
    return " (found by the sweep)"


# (title, summary, next steps) per alert type: subject, how many resources, the trigger.
WORDING: Final[Mapping[AlertType, Wording]] = {
    AlertType.ORPHANED_PRINCIPAL: lambda subject, n, t: (
        f"Orphaned principal: {subject}",
        f"{_plural(n)} now name a deleted principal by its unique ID{_by(t)}; access is broken.",
        "driftguard restores the declared policies as soon as the role exists again "
        "and IAM has propagated. Recreate the role, or declare new policies.",
    ),
    AlertType.PENDING_PRINCIPAL: lambda subject, n, t: (
        f"Waiting for principal: {subject}",
        f"{_plural(n)} drifted{_by(t)}, but a declared principal does not exist, so the "
        "declared policy cannot be put back yet.",
        "Create the missing principal, or declare a policy without it.",
    ),
    AlertType.DRIFT_DETECTED: lambda subject, n, t: (
        f"Drift detected: {subject}",
        f"{_plural(n)} differ from the declared state{_by(t)} (detect mode: not restored).",
        "Review the change (`driftguard history ARN`); adopt it or switch to enforce.",
    ),
    AlertType.RESTORED: lambda subject, n, t: (
        f"Restored: {subject}",
        f"{_plural(n)} put back to the declared policy{_by(t)} and verified.",
        "Nothing to do, unless the change was intended: then declare it.",
    ),
    AlertType.QUARANTINED: lambda subject, n, t: (
        f"Quarantined: {subject}",
        f"{_plural(n)} keep being changed back{_by(t)}; driftguard stopped restoring.",
        "Find who keeps changing it (history), then declare or adopt it again.",
    ),
    AlertType.INVALID_DECLARATION: lambda subject, n, t: (
        f"Declared state unusable: {subject}",
        f"The declared state of {_plural(n)} cannot be applied{_by(t)}.",
        "Declare the policy again (`driftguard declare`).",
    ),
    AlertType.PRINCIPAL_TRUST_CHANGED: lambda subject, n, t: (
        f"Trust policy changed: {subject}",
        f"Who may assume {subject} changed{_by(t)}, and it is not the identity the team "
        f"approved; {_plural(n)} {'grants' if n == 1 else 'grant'} it access, so whoever it "
        "lets in now gets that access.",
        f"`driftguard approve-principal {subject}` if the change was intended; else put the "
        "approved trust policy back.",
    ),
    AlertType.SAFEGUARD_CHANGED: lambda subject, n, t: (
        f"driftguard safeguard changed: {subject}",
        f"{t.describe()} changed {subject}. driftguard relies on it to see and undo "
        "changes: whoever changed it may be blinding driftguard or using its role.",
        "Unless this was a reviewed update of driftguard's spoke stack, undo it (update the "
        "StackSet instance of that account; start the trail's logging again) and find out "
        "how the caller could make it.",
    ),
    AlertType.DECLARATION_REFUSED: lambda subject, n, t: (
        f"Declaration refused: {subject}",
        f"The declared state of {_plural(n)} is not signed by the declarer role{_by(t)}: "
        "someone wrote it straight into the state table. driftguard will not apply it.",
        "Find who wrote it (the table's CloudTrail data events), then declare the "
        "resource again with `driftguard declare`.",
    ),
    AlertType.DECLARATION_CHANGED: lambda subject, n, t: (
        f"Declaration changed: {subject}",
        f"The declared state of {_plural(n)} changed.",
        "Nothing to do if this change was reviewed; else declare the previous policy again.",
    ),
    AlertType.PATH_BROKEN: lambda subject, n, t: (
        f"Access path broken: {subject}",
        f"Access path {subject} is broken{_by(t)}: its pod may no longer reach the secret, "
        "or others may reach it too (the first broken link says which).",
        "Put the first broken link right (its fix is below), or let driftguard do it where "
        f"it safely can (enforce mode). `driftguard verify-path {subject}` shows every link.",
    ),
    AlertType.PATH_HEALED: lambda subject, n, t: (
        f"Access path works again: {subject}",
        f"Every link of access path {subject} holds again{_by(t)}.",
        "Nothing to do, unless what broke it was intended: then change the declared path.",
    ),
    AlertType.KEY_REPLICATED: lambda subject, n, t: (
        f"Key replicated: {subject}",
        f"{t.describe()} made a replica of {subject}, the key of a declared access path. "
        "KMS does not keep a replica's key policy in step with its primary's: driftguard "
        "does not guard the replica until it is declared.",
        "Adopt the replica's policy (`driftguard adopt REPLICA_ARN --mode enforce`, the "
        "replica below) or, if it should not exist, schedule its deletion.",
    ),
    AlertType.KEY_GRANT_CREATED: lambda subject, n, t: (
        f"Grant created on key: {subject}",
        f"{t.describe()} created a grant on {subject}, the key of a declared access path: "
        "whoever it names may use the key beside its key policy, which driftguard keeps "
        "as declared but which no grant is part of.",
        "If it was not intended, revoke it (the command is below). `driftguard verify-path "
        "NAME` lists every grant on the key.",
    ),
    AlertType.CHECK_FAILED: lambda subject, n, t: (
        f"Check failed: {subject}",
        f"driftguard could not read the live policy of {_plural(n)}{_by(t)}.",
        "See the reason per resource; driftguard checks again on the next event or sweep.",
    ),
    AlertType.RESTORE_FAILED: lambda subject, n, t: (
        f"Restore failed: {subject}",
        f"driftguard could not restore {_plural(n)}{_by(t)}.",
        "See the reason per resource; driftguard retries on the next event or sweep.",
    ),
}


# --------------------------------------------------------------------------- publishing


class AlertPublisher:
    """Publishes alerts to SNS. The message attributes let subscribers filter.

    `sns` gives the client when the first alert is due: most invocations publish
    nothing and need not create one."""

    def __init__(self, sns: Callable[[], Any], topic_arn: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn

    def publish(self, alert: Alert) -> str:
        response = self._sns().publish(
            TopicArn=self._topic_arn,
            Subject=alert.title[:100],
            Message=alert.model_dump_json(),
            MessageAttributes={
                "alert_type": {"DataType": "String", "StringValue": alert.type.value},
                "severity": {"DataType": "String", "StringValue": alert.severity.value},
            },
        )
        return str(response["MessageId"])
