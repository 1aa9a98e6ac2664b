"""The report's data: `build_report` turns status records, audit histories,
declarations and the sweep's inventory into a `Report` (pure; frozen dataclasses).

driftguard_cli.report reads the table (`collect`) and renders the page.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from driftguard import kinds
from driftguard.arns import Arn
from driftguard.errors import DriftguardError
from driftguard.model import AuditEntry, Declared, Inventory, StatusRecord
from driftguard.vocabulary import AUDIT_CATEGORY, AuditAction, Severity, Status, TimelineCategory
from driftguard_cli.answers import findings_severity
from driftguard_cli.report_access import AccessChain, AccountCoverage, access_chains, coverage
from driftguard_cli.report_incidents import (
    Incident,
    RestoreTimes,
    incidents_of,
    newest_incidents,
    open_since,
    restore_times,
)
from driftguard_cli.report_paths import PathRow

# Entries that mean the live policy was seen different from, or put back to, the declaration.
CHANGE_CATEGORIES: Final = frozenset(
    {TimelineCategory.DRIFT, TimelineCategory.REMEDIATION, TimelineCategory.FAILURE}
)
INCIDENT_LIMIT: Final = 50  # the incident list shows the newest this many


@dataclass(frozen=True)
class ResourceRow:
    arn: str
    name: str  # the resource part of the ARN, for labels
    kind: str
    account: str
    region: str
    status: Status
    severity: Severity  # of its worst finding
    mode: str
    updated_at: datetime
    open_since: datetime | None  # when its current problem began; None when in sync
    reason: str
    findings: tuple[str, ...]
    orphaned_ids: tuple[str, ...]
    console_url: str

    @property
    def why(self) -> str:
        """The reason, naming the deleted principals while they are still a problem."""
        if self.orphaned_ids and self.status.is_problem:
            return f"{self.reason} (unique ids: {', '.join(self.orphaned_ids)})".strip()
        return self.reason


@dataclass(frozen=True)
class TimelinePoint:
    at: datetime
    arn: str
    action: AuditAction
    status: str  # a Status value, or "undeclared"
    category: TimelineCategory
    actor: str | None
    message: str


@dataclass(frozen=True)
class OrphanedPrincipal:
    """A unique ID of a deleted role found in live policies that are still orphaned."""

    unique_id: str
    role_arn: str | None  # None: driftguard never saw the role
    resources: tuple[str, ...]
    since: datetime


@dataclass(frozen=True)
class ChangedResource:
    arn: str
    kind: str
    account: str
    changes: int  # drift, restore and failure entries in the window
    restores: int
    last_at: datetime
    last_actor: str | None


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    table_name: str
    since: datetime  # start of the window the timeline, incidents and counts cover
    resources: tuple[ResourceRow, ...]  # by account, kind, ARN
    status_counts: tuple[tuple[Status, int], ...]  # every status, in Status order
    timeline: tuple[TimelinePoint, ...]  # oldest first
    orphans: tuple[OrphanedPrincipal, ...]
    most_changed: tuple[ChangedResource, ...]
    incidents: tuple[Incident, ...]  # open or ended in the window, newest first
    incidents_omitted: int  # older ones beyond the list's limit
    restore_times: RestoreTimes
    coverage: tuple[AccountCoverage, ...]
    chains: tuple[AccessChain, ...]
    paths: tuple[PathRow, ...] = ()  # declared access paths, as last verified

    @property
    def problems(self) -> tuple[ResourceRow, ...]:
        """Resources not in sync: the worst severity first, then the longest open."""
        rows = [r for r in self.resources if r.status.is_problem]
        return tuple(
            sorted(rows, key=lambda r: (-r.severity.rank, r.open_since or r.updated_at, r.arn))
        )

    def to_json(self) -> dict[str, Any]:
        data = _seconds(asdict(self))
        data["status_counts"] = {status.value: n for status, n in self.status_counts}
        return dict(data)


def _seconds(value: Any) -> Any:
    """asdict's output with every duration in seconds (JSON has no durations)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {k: _seconds(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_seconds(v) for v in value)
    return value


def when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def short_name(arn: str) -> str:
    try:
        return Arn.parse(arn).resource
    except DriftguardError:
        return arn


def console_url(kind: str, arn: str) -> str:
    try:
        url = kinds.get(kind).console_url(Arn.parse(arn))
    except DriftguardError:
        return ""
    # The page links it; only ever to the console, never to a javascript: or data: URL.
    return url if url.startswith("https://") else ""


def _row(r: StatusRecord, incidents: Sequence[Incident], now: datetime) -> ResourceRow:
    return ResourceRow(
        arn=r.arn,
        name=short_name(r.arn),
        kind=r.kind,
        account=r.account,
        region=r.region,
        status=r.status,
        severity=findings_severity(r.findings),
        mode=r.mode.value,
        updated_at=r.updated_at,
        open_since=open_since(r, incidents, now=now),
        reason=r.reason,
        findings=r.findings,
        orphaned_ids=r.orphaned_ids,
        console_url=console_url(r.kind, r.arn),
    )


def _timeline(
    histories: Mapping[str, Sequence[AuditEntry]], since: datetime
) -> tuple[TimelinePoint, ...]:
    points = (
        TimelinePoint(
            at=e.at,
            arn=arn,
            action=e.action,
            status=e.status,
            category=AUDIT_CATEGORY[e.action],
            actor=e.actor,
            message=e.message,
        )
        for arn, entries in histories.items()
        for e in entries
        if e.at >= since
    )
    return tuple(sorted(points, key=lambda p: (p.at, p.arn)))


def build_report(
    records: Iterable[StatusRecord],
    histories: Mapping[str, Sequence[AuditEntry]],
    owners: Mapping[str, str | None],
    *,
    generated_at: datetime,
    table_name: str,
    since: datetime,
    top: int = 10,
    declarations: Iterable[Declared] = (),
    inventory: Iterable[Inventory] = (),
    incident_limit: int = INCIDENT_LIMIT,
    paths: Sequence[PathRow] = (),
) -> Report:
    """`histories` maps an ARN to its whole audit history (any order; the timeline
    leaves out what is before `since`, the incidents need what came before); `owners`
    maps orphaned unique IDs to the role each was; `inventory` is what the sweep
    counted (empty: nothing counted yet)."""
    records = sorted(records, key=lambda r: (r.account, r.kind, r.arn))
    incidents = {r.arn: incidents_of(histories.get(r.arn, ()), now=generated_at) for r in records}
    every_incident = [i for found in incidents.values() for i in found]
    shown, omitted = newest_incidents(every_incident, since=since, limit=incident_limit)
    counts = Counter(r.status for r in records)
    points = _timeline(histories, since)
    return Report(
        generated_at=generated_at,
        table_name=table_name,
        since=since,
        resources=tuple(_row(r, incidents[r.arn], generated_at) for r in records),
        status_counts=tuple((s, counts[s]) for s in Status),
        timeline=points,
        orphans=_orphans(records, owners),
        most_changed=_most_changed(records, points, top),
        incidents=shown,
        incidents_omitted=omitted,
        restore_times=restore_times(every_incident, since=since),
        coverage=coverage(records, inventory),
        chains=access_chains(declarations, {r.arn: r.status for r in records}),
        paths=tuple(paths),
    )


def _orphans(
    records: Sequence[StatusRecord], owners: Mapping[str, str | None]
) -> tuple[OrphanedPrincipal, ...]:
    by_id: dict[str, list[StatusRecord]] = defaultdict(list)
    for r in records:
        if r.status.is_problem:
            for uid in r.orphaned_ids:
                by_id[uid].append(r)
    return tuple(
        sorted(
            (
                OrphanedPrincipal(
                    unique_id=uid,
                    role_arn=owners.get(uid),
                    resources=tuple(sorted(r.arn for r in rs)),
                    since=min(r.updated_at for r in rs),
                )
                for uid, rs in by_id.items()
            ),
            key=lambda o: (o.role_arn or "~", o.unique_id),
        )
    )


def _most_changed(
    records: Sequence[StatusRecord], points: Sequence[TimelinePoint], top: int
) -> tuple[ChangedResource, ...]:
    kind_of = {r.arn: (r.kind, r.account) for r in records}
    changes: dict[str, list[TimelinePoint]] = defaultdict(list)
    for p in points:
        if p.category in CHANGE_CATEGORIES and p.arn in kind_of:
            changes[p.arn].append(p)
    ranked = sorted(
        (
            ChangedResource(
                arn=arn,
                kind=kind_of[arn][0],
                account=kind_of[arn][1],
                changes=len(ps),
                restores=sum(1 for p in ps if p.action is AuditAction.RESTORED),
                last_at=ps[-1].at,
                last_actor=ps[-1].actor,
            )
            for arn, ps in changes.items()
        ),
        key=lambda c: (-c.changes, -c.restores, c.arn),
    )
    return tuple(ranked[:top])
