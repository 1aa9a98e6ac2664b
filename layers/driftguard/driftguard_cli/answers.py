"""What the CLI answers, as plain data: built by pure functions, shown by
`driftguard_cli.views` (terminal) or as JSON (`--json`). Nothing here does I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from driftguard.decision import Observation, Result
from driftguard.model import StatusRecord
from driftguard.vocabulary import FINDING_SEVERITY, Finding, Mode, Severity, Status


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --------------------------------------------------------------------------- worst first


def findings_severity(findings: Iterable[str]) -> Severity:
    """The severity of the worst finding (vocabulary.FINDING_SEVERITY, ranked as
    Classification.severity ranks them); NONE without any."""
    known = [Finding(f) for f in findings if f in Finding.__members__.values()]
    return max((FINDING_SEVERITY[f] for f in known), key=lambda s: s.rank, default=Severity.NONE)


def status_rank(status: str | None) -> int:
    """Worse ranks higher: the Status declaration order, in-sync lowest and quarantined
    highest; anything else (no status) below them all."""
    if status is None or status not in Status.__members__.values():
        return -1
    return list(Status).index(Status(status))


def worst_first(severity: str, status: str | None) -> tuple[int, int]:
    """A sort key: the worst severity first, then the worst status."""
    return (-Severity(severity).rank, -status_rank(status))


def record_severity(record: StatusRecord) -> Severity:
    return findings_severity(record.findings)


def sorted_records(records: Iterable[StatusRecord]) -> list[StatusRecord]:
    """Worst severity first, then worst status, then the newest."""
    newest_first = sorted(records, key=lambda r: r.updated_at, reverse=True)
    return sorted(newest_first, key=lambda r: worst_first(record_severity(r).value, r.status.value))


def status_json(record: StatusRecord) -> dict[str, Any]:
    """`status --json`: the record as stored, and the severity of its findings."""
    return asdict(record) | {"severity": record_severity(record).value}


# --------------------------------------------------------------------------- drift


@dataclass(frozen=True)
class DriftAnswer:
    """`driftguard drift`: the live policy of one resource against its declaration."""

    arn: str
    kind: str
    account: str
    mode: str
    version: int
    declared_by: str
    declared_at: datetime
    recorded_status: str | None  # what the state table says now (may be older than live)
    in_sync: bool
    live_missing: bool
    findings: tuple[str, ...]
    severity: str
    # Unique IDs in the live policy and the role each belonged to (None: unknown).
    orphaned: tuple[tuple[str, str | None], ...]
    changes: tuple[str, ...]  # PolicyDiff.summary_lines(): "+" only live, "-" only declared
    added_statements: tuple[dict[str, Any], ...]
    removed_statements: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "kind": self.kind,
            "account": self.account,
            "mode": self.mode,
            "version": self.version,
            "declared_by": self.declared_by,
            "declared_at": _iso(self.declared_at),
            "recorded_status": self.recorded_status,
            "in_sync": self.in_sync,
            "live_missing": self.live_missing,
            "findings": list(self.findings),
            "severity": self.severity,
            "orphaned_ids": {uid: role for uid, role in self.orphaned},
            "changes": list(self.changes),
            "added_statements": list(self.added_statements),
            "removed_statements": list(self.removed_statements),
        }


def drift_answer(observation: Observation) -> DriftAnswer:
    """From a successful look (no failure): the live policy against the declaration."""
    declared, record = observation.declared, observation.previous
    classification, owners = observation.classification, observation.owners
    assert classification is not None, "a failed look has no drift to show"
    diff = classification.diff
    return DriftAnswer(
        arn=declared.arn,
        kind=declared.kind,
        account=declared.account,
        mode=declared.mode.value,
        version=declared.version,
        declared_by=declared.declared_by,
        declared_at=declared.declared_at,
        recorded_status=record.status.value if record else None,
        in_sync=classification.in_sync,
        live_missing=diff is None,
        findings=tuple(sorted(f.value for f in classification.findings)),
        severity=classification.severity.value,
        orphaned=tuple((uid, owners.get(uid)) for uid in sorted(classification.orphaned_ids)),
        changes=diff.summary_lines() if diff else (),
        added_statements=diff.added_statements if diff else (),
        removed_statements=diff.removed_statements if diff else (),
    )


# --------------------------------------------------------------------------- principals


@dataclass(frozen=True)
class NamedResource:
    """A declared resource whose policy names a principal, and its recorded status."""

    arn: str
    status: str | None

    def to_json(self) -> dict[str, Any]:
        return {"arn": self.arn, "status": self.status}


@dataclass(frozen=True)
class PrincipalAnswer:
    """`driftguard principals`: what driftguard knows about one role."""

    role_arn: str
    resources: tuple[NamedResource, ...]
    unique_ids: tuple[str, ...]  # every unique ID the role is known to have had
    exists: bool | None  # None: could not look (no access to the account)
    current_id: str | None = None  # its unique ID now, when it exists
    lookup_error: str | None = None

    @property
    def known(self) -> bool:
        """Anything at all is known about this role."""
        return bool(self.resources or self.unique_ids or self.exists)

    @property
    def orphaning_ids(self) -> tuple[str, ...]:
        """Earlier unique IDs: those that show up in policies once the role was deleted."""
        return tuple(uid for uid in self.unique_ids if uid != self.current_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "role_arn": self.role_arn,
            "exists": self.exists,
            "current_unique_id": self.current_id,
            "lookup_error": self.lookup_error,
            "unique_ids": list(self.unique_ids),
            "previous_unique_ids": list(self.orphaning_ids),
            "resources": [r.to_json() for r in self.resources],
        }


def named_resources(
    arns: Iterable[str], statuses: Mapping[str, str | None]
) -> tuple[NamedResource, ...]:
    return tuple(NamedResource(arn, statuses.get(arn)) for arn in sorted(set(arns)))


@dataclass(frozen=True)
class WhoisAnswer:
    """`driftguard whois`: the role a unique ID belonged to."""

    unique_id: str
    role_arn: str
    other_ids: tuple[str, ...]
    resources: tuple[NamedResource, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "role_arn": self.role_arn,
            "other_unique_ids": list(self.other_ids),
            "resources": [r.to_json() for r in self.resources],
        }


# --------------------------------------------------------------------------- scan


@dataclass(frozen=True)
class ScanRow:
    """One resource of `driftguard scan`: its live policy against the declaration."""

    arn: str
    account: str
    kind: str
    status: str  # in-sync, drifted, orphaned-principal; "error" when it could not be read
    findings: tuple[str, ...] = ()
    severity: str = "none"
    error: str | None = None
    region: str = ""
    mode: str = ""  # "" when the declaration could not be read

    @property
    def drifted(self) -> bool:
        return self.error is not None or self.status != Status.IN_SYNC

    @property
    def restorable(self) -> bool:
        """What `scan --remediate` would put the declaration back on: read, not in
        sync, in enforce mode (a missing principal may still hold it back)."""
        return self.mode == Mode.ENFORCE and self.error is None and self.status != Status.IN_SYNC

    def to_json(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "account": self.account,
            "region": self.region,
            "kind": self.kind,
            "mode": self.mode or None,
            "status": self.status,
            "findings": list(self.findings),
            "severity": self.severity,
            "error": self.error,
        }


def sorted_scan(rows: Iterable[ScanRow]) -> list[ScanRow]:
    return sorted(
        rows, key=lambda r: (*worst_first(r.severity, r.status), r.account, r.kind, r.arn)
    )


@dataclass(frozen=True)
class SweepRow:
    """One resource of `scan --remediate`: what the sweep did, and where it rests."""

    arn: str
    outcome: str
    status: str | None  # None: the sweep stopped before deciding one
    kind: str
    account: str
    region: str
    mode: str  # "" when no status was recorded
    findings: tuple[str, ...] = ()
    severity: str = "none"
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "outcome": self.outcome,
            "status": self.status,
            "reason": self.reason,
            "account": self.account,
            "region": self.region,
            "kind": self.kind,
            "mode": self.mode or None,
            "findings": list(self.findings),
            "severity": self.severity,
        }


def sweep_rows(
    results: Sequence[Result], records: Mapping[str, StatusRecord | None]
) -> list[SweepRow]:
    """The sweep's results with the status each left recorded (its findings), worst first."""
    rows = [sweep_row(result, records.get(result.arn)) for result in results]
    return sorted(rows, key=lambda r: (*worst_first(r.severity, r.status), r.arn))


def sweep_row(result: Result, record: StatusRecord | None) -> SweepRow:
    findings = record.findings if record is not None else ()
    parts = result.arn.split(":")  # arn:partition:service:region:account:...
    return SweepRow(
        arn=result.arn,
        outcome=result.outcome.value,
        status=result.status.value if result.status else None,
        kind=result.kind or (record.kind if record else ""),
        account=record.account if record else parts[4] if len(parts) > 4 else "",
        region=record.region if record else parts[3] if len(parts) > 3 else "",
        mode=record.mode.value if record else "",
        findings=findings,
        severity=findings_severity(findings).value,
        reason=result.reason,
    )


# --------------------------------------------------------------------------- dead-letter queue


@dataclass(frozen=True)
class ReplayRow:
    """One message of the events dead-letter queue and what replaying it did."""

    message_id: str
    event_name: str | None  # None when the message is not a CloudTrail event
    event_id: str | None
    actor: str | None
    why_parked: str  # the parking function's reason, or EventBridge's delivery error
    result: str  # listed | replayed | invalid | failed
    detail: str = ""
    outcomes: tuple[str, ...] = ()  # "outcome arn" per resource the replay handled

    @property
    def kept(self) -> bool:
        """Still on the queue after this run."""
        return self.result in ("listed", "invalid", "failed")

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "event_name": self.event_name,
            "event_id": self.event_id,
            "actor": self.actor,
            "why_parked": self.why_parked,
            "result": self.result,
            "detail": self.detail,
            "outcomes": list(self.outcomes),
            "kept_on_queue": self.kept,
        }
