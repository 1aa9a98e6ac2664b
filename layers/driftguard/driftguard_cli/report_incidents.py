"""Incidents from a resource's audit history, and how long they took (pure).

An incident is one run of problem states in the history: it begins at the first
entry that leaves the resource in a problem status (drift seen, a principal gone,
a check or restore failed) and ends at the next entry that leaves it in sync: a
verified restore (RESTORED) or back in sync without one (RESOLVED, a new
declaration). A RESTORED entry with nothing open is an incident of its own: the
drift was seen and undone in the same check, so the audit holds one entry for both
(the change's CloudTrail time is not in the audit; its duration reads 0).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from driftguard.alerts import readable_changes
from driftguard.model import AuditEntry, StatusRecord
from driftguard.vocabulary import (
    LEGACY_STATUSES,
    STATUS_OUTCOME,
    AuditAction,
    Outcome,
    Severity,
    Status,
)
from driftguard_cli.answers import findings_severity


def entry_status(entry: AuditEntry) -> Status | None:
    """The status an entry left the resource in; None for "undeclared" and the unknown."""
    if entry.status in LEGACY_STATUSES:
        return LEGACY_STATUSES[entry.status]
    try:
        return Status(entry.status)
    except ValueError:
        return None


@dataclass(frozen=True)
class Incident:
    arn: str
    started_at: datetime  # the entry where the drift or failure was seen
    ended_at: datetime | None  # the entry that left it in sync; None while open
    duration: timedelta  # to ended_at, or, while open, to the report's time
    outcome: Outcome  # what driftguard did: REMEDIATED, else its last problem's outcome
    actor: str | None  # who made the change that began it (CloudTrail's caller)
    trigger: str | None  # what made driftguard look ("PutKeyPolicy by ...")
    ended_by: str | None  # the trigger of the entry that ended it
    findings: tuple[str, ...]  # every finding of its entries
    severity: Severity  # its worst finding's (answers.findings_severity)
    changes: tuple[str, ...]  # the first diff its entries carry (+ live, - declared)
    before_digest: str | None  # the live policy's digest when it began
    after_digest: str | None  # the live policy's digest after its last entry
    failed_restores: int
    entries: int

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


def _incident(run: Sequence[AuditEntry], end: AuditEntry | None, now: datetime) -> Incident:
    first, last = run[0], end or run[-1]
    restored = end is not None and end.action is AuditAction.RESTORED
    problems = [s for e in run if (s := entry_status(e)) is not None and s.is_problem]
    outcome = Outcome.REMEDIATED if restored or not problems else STATUS_OUTCOME[problems[-1]]
    findings = tuple(sorted({f for e in (*run, *([end] if end else ())) for f in e.findings}))
    return Incident(
        arn=first.arn,
        started_at=first.at,
        ended_at=end.at if end else None,
        duration=(end.at if end else now) - first.at,
        outcome=outcome,
        actor=first.actor,
        trigger=first.trigger,
        ended_by=end.trigger if end else None,
        findings=findings,
        severity=findings_severity(findings),
        changes=next((tuple(readable_changes(e.diff)) for e in run if e.diff), ()),
        before_digest=first.before_digest,
        after_digest=last.after_digest,
        failed_restores=sum(1 for e in run if e.action is AuditAction.RESTORE_FAILED),
        entries=len(run) + (1 if end and end is not run[-1] else 0),
    )


def incidents_of(entries: Iterable[AuditEntry], *, now: datetime) -> tuple[Incident, ...]:
    """A resource's incidents, oldest first; only the last can be open."""
    found: list[Incident] = []
    run: list[AuditEntry] = []
    for entry in sorted(entries, key=lambda e: e.at):
        status = entry_status(entry)
        if status is not None and status.is_problem:
            run.append(entry)
        elif status is Status.IN_SYNC and run:
            found.append(_incident(run, entry, now))
            run = []
        elif entry.action is AuditAction.RESTORED:  # seen and restored in one check
            found.append(_incident([entry], entry, now))
    if run:
        found.append(_incident(run, None, now))
    return tuple(found)


def open_since(
    record: StatusRecord, incidents: Sequence[Incident], *, now: datetime
) -> datetime | None:
    """When the resource's current problem began: the start of its open incident, or
    the record's updated_at when the history does not say; None when it is in sync."""
    if not record.status.is_problem:
        return None
    if incidents and incidents[-1].is_open:
        return incidents[-1].started_at
    return record.updated_at


@dataclass(frozen=True)
class RestoreTimes:
    """Time to restore over the report's window: incidents that ended in a verified
    restore within it, and those still open."""

    restored: int
    median: timedelta | None  # None: nothing was restored in the window
    worst: timedelta | None
    still_open: int
    longest_open: timedelta | None


def restore_times(incidents: Iterable[Incident], *, since: datetime) -> RestoreTimes:
    incidents = list(incidents)
    took = sorted(
        i.duration
        for i in incidents
        if i.outcome is Outcome.REMEDIATED and i.ended_at is not None and i.ended_at >= since
    )
    still_open = [i.duration for i in incidents if i.is_open]
    return RestoreTimes(
        restored=len(took),
        median=timedelta(seconds=statistics.median(t.total_seconds() for t in took))
        if took
        else None,
        worst=took[-1] if took else None,
        still_open=len(still_open),
        longest_open=max(still_open, default=None),
    )


def newest_incidents(
    incidents: Iterable[Incident], *, since: datetime, limit: int
) -> tuple[tuple[Incident, ...], int]:
    """The incidents the window shows (open, or ended within it), newest first, at most
    `limit`; and how many more there were."""
    shown = sorted(
        (i for i in incidents if i.ended_at is None or i.ended_at >= since),
        key=lambda i: (i.started_at, i.arn),
        reverse=True,
    )
    return tuple(shown[:limit]), max(len(shown) - limit, 0)
