"""The report's timeline chart: its geometry, computed here; its markup is in
templates/report.html.j2.

Nothing on the chart is said only by colour or only by a tooltip: each dot carries
its number in the page's list of timeline entries (which spells out the tooltip),
each band wide enough says its status in words, and the axes are labelled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from driftguard.vocabulary import AuditAction, TimelineCategory
from driftguard_cli.report_model import ResourceRow, TimelinePoint, short_name, when

# Width of a character of the 9px monospace band labels, in SVG units (generous).
_LABEL_CHAR = 5.6


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    anchor: str  # SVG text-anchor: the first and last labels stay inside the chart


@dataclass(frozen=True)
class Mark:
    """One audit entry: a dot with its number (`tip` is its tooltip, also written out
    in the entries list), and a band in the status it left the resource in, up to the
    next entry; the band names that status when it is wide enough to."""

    number: int  # 1-based, oldest first, as in the list of timeline entries
    x: float
    width: float
    status: str
    category: TimelineCategory
    action: AuditAction
    tip: str
    labelled: bool  # the band is wide enough to write its status on


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
    TOP: ClassVar[int] = 40
    LANE: ClassVar[int] = 36
    BOTTOM: ClassVar[int] = 36  # room for the time axis's label

    height: int
    ticks: tuple[Tick, ...]
    lanes: tuple[Lane, ...]  # none when the window has no audit entries

    @property
    def plot_bottom(self) -> int:
        return self.height - self.BOTTOM + 6

    @property
    def middle(self) -> float:
        return (self.LEFT + self.RIGHT) / 2


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


def tip(p: TimelinePoint) -> str:
    by = f" by {p.actor}" if p.actor else ""
    note = f" - {p.message}" if p.message else ""
    return f"{when(p.at)}: {p.action} ({p.status}){by}{note}"


def _lane(
    arn: str,
    y: float,
    points: Sequence[tuple[int, TimelinePoint]],
    x: Callable[[datetime], float],
) -> Lane:
    starts = [x(p.at) for _, p in points]
    ends = [*starts[1:], float(Chart.RIGHT)]
    marks = []
    for (number, p), x1, x2 in zip(points, starts, ends, strict=True):
        width = round(max(x2 - x1, 0.5), 1)
        labelled = width >= _LABEL_CHAR * len(p.status) + 8
        marks.append(Mark(number, x1, width, p.status, p.category, p.action, tip(p), labelled))
    label = short_name(arn)
    return Lane(arn, label if len(label) <= 34 else label[:33] + "…", y, tuple(marks))


def timeline_chart(resources: Sequence[ResourceRow], points: Sequence[TimelinePoint]) -> Chart:
    """One lane per resource, a band per status period, a numbered dot per audit entry
    (`points` oldest first: entry n is points[n - 1])."""
    arns = sorted({p.arn for p in points} | {r.arn for r in resources})
    height = Chart.TOP + Chart.LANE * max(len(arns), 1) + Chart.BOTTOM
    if not points:
        return Chart(height, (), ())
    x, ticks = _axis(points[0].at, points[-1].at)
    by_lane: dict[str, list[tuple[int, TimelinePoint]]] = defaultdict(list)
    for number, p in enumerate(points, start=1):
        by_lane[p.arn].append((number, p))
    lanes = tuple(
        _lane(arn, Chart.TOP + Chart.LANE * (i + 0.5), by_lane[arn], x)
        for i, arn in enumerate(arns)
    )
    return Chart(height, ticks, lanes)
