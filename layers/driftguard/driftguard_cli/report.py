"""`driftguard report --html FILE`: one self-contained HTML page about the state table.

`build_report` turns status records and audit histories into a `Report` (pure);
`collect` is the one function that reads the table. `render_html` turns a `Report`
into the page through templates/report.html.j2 (jinja2, autoescaped, undefined names
are errors): every value from AWS or the table is escaped by the template, nothing is
marked safe. The page loads nothing (inline CSS, JS and SVG), and its
Content-Security-Policy allows exactly its one <style> and one <script>, by their
sha256 hashes, so injected markup could neither run script nor style the page. It
reads fine without JavaScript (the script only adds the filter and its count).
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, ClassVar, Final

import jinja2

from driftguard import kinds
from driftguard.arns import Arn
from driftguard.errors import DriftguardError
from driftguard.model import AuditEntry, StatusRecord
from driftguard.state import StateStore
from driftguard.vocabulary import AUDIT_CATEGORY, AuditAction, Status, TimelineCategory

# Entries that mean the live policy was seen different from, or put back to, the declaration.
CHANGE_CATEGORIES: Final = frozenset(
    {TimelineCategory.DRIFT, TimelineCategory.REMEDIATION, TimelineCategory.FAILURE}
)

# Every Status and every TimelineCategory has one (tests/unit/test_render_report.py).
STATUS_COLOURS: Final[Mapping[Status, str]] = {
    Status.IN_SYNC: "#1a7f37",
    Status.DRIFTED: "#bf8700",
    Status.PENDING_PRINCIPAL: "#8250df",
    Status.ORPHANED_PRINCIPAL: "#cf222e",
    Status.ERROR: "#d1242f",
    Status.QUARANTINED: "#82071e",
}
CATEGORY_COLOURS: Final[Mapping[TimelineCategory, str]] = {
    TimelineCategory.DECLARED: "#57606a",
    TimelineCategory.DRIFT: "#cf222e",
    TimelineCategory.REMEDIATION: "#1a7f37",
    TimelineCategory.FAILURE: "#82071e",
    TimelineCategory.OBSERVED: "#afb8c1",
}


@dataclass(frozen=True)
class ResourceRow:
    arn: str
    name: str  # the resource part of the ARN, for labels
    kind: str
    account: str
    region: str
    status: Status
    mode: str
    updated_at: datetime
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
    since: datetime  # start of the window the timeline and change counts cover
    resources: tuple[ResourceRow, ...]  # by account, kind, ARN
    status_counts: tuple[tuple[Status, int], ...]  # every status, in Status order
    timeline: tuple[TimelinePoint, ...]  # oldest first
    orphans: tuple[OrphanedPrincipal, ...]
    most_changed: tuple[ChangedResource, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status_counts"] = {status.value: n for status, n in self.status_counts}
        return data


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


def build_report(
    records: Iterable[StatusRecord],
    histories: Mapping[str, Sequence[AuditEntry]],
    owners: Mapping[str, str | None],
    *,
    generated_at: datetime,
    table_name: str,
    since: datetime,
    top: int = 10,
) -> Report:
    """`histories` maps an ARN to its audit entries (any order; those before `since`
    are left out); `owners` maps orphaned unique IDs to the role each was."""
    records = sorted(records, key=lambda r: (r.account, r.kind, r.arn))
    rows = tuple(
        ResourceRow(
            arn=r.arn,
            name=short_name(r.arn),
            kind=r.kind,
            account=r.account,
            region=r.region,
            status=r.status,
            mode=r.mode.value,
            updated_at=r.updated_at,
            reason=r.reason,
            findings=r.findings,
            orphaned_ids=r.orphaned_ids,
            console_url=console_url(r.kind, r.arn),
        )
        for r in records
    )
    counts = Counter(r.status for r in records)
    points = sorted(
        (
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
        ),
        key=lambda p: (p.at, p.arn),
    )
    return Report(
        generated_at=generated_at,
        table_name=table_name,
        since=since,
        resources=rows,
        status_counts=tuple((s, counts[s]) for s in Status),
        timeline=tuple(points),
        orphans=_orphans(records, owners),
        most_changed=_most_changed(records, points, top),
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


def collect(store: StateStore, *, table_name: str, generated_at: datetime, days: int) -> Report:
    """Read everything the report shows from the state table."""
    records = list(store.iter_statuses())
    histories = {r.arn: store.history(r.arn) for r in records}
    owners = {
        uid: store.principal_for_unique_id(uid)
        for uid in sorted({uid for r in records for uid in r.orphaned_ids})
    }
    return build_report(
        records,
        histories,
        owners,
        generated_at=generated_at,
        table_name=table_name,
        since=generated_at - timedelta(days=days),
    )


# --------------------------------------------------------------------------- timeline chart
# The SVG's geometry is computed here, its markup is in the template.


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    anchor: str  # SVG text-anchor: the first and last labels stay inside the chart


@dataclass(frozen=True)
class Mark:
    """One audit entry: a dot (`tip` is its tooltip), and a band in the status it left
    the resource in, up to the next entry."""

    x: float
    width: float
    status: str
    category: TimelineCategory
    action: AuditAction
    tip: str


@dataclass(frozen=True)
class Lane:
    arn: str
    label: str
    y: float
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class Chart:
    # SVG units: lane labels end at LEFT, the plot runs from LEFT to RIGHT.
    WIDTH: ClassVar[int] = 1180
    LEFT: ClassVar[int] = 250
    RIGHT: ClassVar[int] = 1160
    TOP: ClassVar[int] = 34
    LANE: ClassVar[int] = 30

    height: int
    ticks: tuple[Tick, ...]
    lanes: tuple[Lane, ...]  # none when the window has no audit entries


def when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _axis(start: datetime, end: datetime) -> tuple[Callable[[datetime], float], tuple[Tick, ...]]:
    """Where a moment falls on the plot (padded a little each side), and five ticks."""
    span = (end - start).total_seconds()
    pad = max(span * 0.03, 1.0)
    t0, total = start - timedelta(seconds=pad), span + 2 * pad

    def x(moment: datetime) -> float:
        offset = (moment - t0).total_seconds() / total
        return round(Chart.LEFT + (Chart.RIGHT - Chart.LEFT) * offset, 1)

    fmt = "%H:%M:%S" if total < 86400 else "%m-%d %H:%M" if total < 7 * 86400 else "%Y-%m-%d"
    ticks = []
    for i in range(5):
        moment = t0 + timedelta(seconds=total * i / 4)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        ticks.append(Tick(x(moment), f"{moment:{fmt}}", anchor))
    return x, tuple(ticks)


def _tip(p: TimelinePoint) -> str:
    by = f" by {p.actor}" if p.actor else ""
    note = f" - {p.message}" if p.message else ""
    return f"{when(p.at)}: {p.action} ({p.status}){by}{note}"


def _lane(
    arn: str, y: float, points: Sequence[TimelinePoint], x: Callable[[datetime], float]
) -> Lane:
    starts = [x(p.at) for p in points]
    ends = [*starts[1:], Chart.RIGHT]
    marks = tuple(
        Mark(x1, round(max(x2 - x1, 0.5), 1), p.status, p.category, p.action, _tip(p))
        for p, x1, x2 in zip(points, starts, ends, strict=True)
    )
    label = short_name(arn)
    return Lane(arn, label if len(label) <= 34 else label[:33] + "…", y, marks)


def timeline_chart(resources: Sequence[ResourceRow], points: Sequence[TimelinePoint]) -> Chart:
    """One lane per resource, a band per status period, a dot per audit entry."""
    arns = sorted({p.arn for p in points} | {r.arn for r in resources})
    height = Chart.TOP + Chart.LANE * max(len(arns), 1) + 10
    if not points:
        return Chart(height, (), ())
    x, ticks = _axis(points[0].at, points[-1].at)
    by_lane: dict[str, list[TimelinePoint]] = defaultdict(list)
    for p in points:
        by_lane[p.arn].append(p)
    lanes = tuple(
        _lane(arn, Chart.TOP + Chart.LANE * (i + 0.5), by_lane[arn], x)
        for i, arn in enumerate(arns)
    )
    return Chart(height, ticks, lanes)


# --------------------------------------------------------------------------- HTML


def csp_hash(content: str) -> str:
    """The CSP source allowing one inline <style> or <script> whose text is `content`."""
    digest = hashlib.sha256(content.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("driftguard_cli", "templates"),
        autoescape=True,  # every template here is HTML
        undefined=jinja2.StrictUndefined,  # a misspelt name fails instead of vanishing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = when
    env.filters["csp_hash"] = csp_hash
    return env


def render_html(report: Report) -> str:
    """The whole page (templates/report.html.j2)."""
    counts = Counter(p.category for p in report.timeline)
    template = environment().get_template("report.html.j2")
    return template.render(
        report=report,
        chart=timeline_chart(report.resources, report.timeline),
        legend=[(c, counts[c]) for c in TimelineCategory if counts[c]],
        status_colours=STATUS_COLOURS,
        category_colours=CATEGORY_COLOURS,
    )
