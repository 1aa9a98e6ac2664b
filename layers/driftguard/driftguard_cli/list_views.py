"""Lists of resources (`status`, `scan`, `scan --remediate`) and one resource's
timeline (`history`), at the width they are shown at: pure functions from data and a
width to rich renderables.

Wide enough, a resource is a table row: one line, which is what a pipeline greps (the
CLI's console is 10,000 columns wide when the output is not a terminal). Narrower, each
resource is stacked: a line of its short fields (status, severity, kind, account,
region, mode), its full ARN, then what was found and why, so no field is dropped or
cut. An ARN is never broken: one longer than the width stands alone on its line for the
terminal to wrap (`Context.show` does not crop), so it still copies as one line.
`width` None: as wide as needed (the table).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from driftguard.alerts import readable_changes
from driftguard.model import AuditEntry, StatusRecord
from driftguard.vocabulary import Severity, Status
from driftguard_cli.answers import ScanRow, SweepRow, record_severity
from driftguard_cli.styles import (
    ACTION_STYLES,
    SEVERITY_STYLES,
    STATUS_STYLES,
    change_lines,
    plain_table,
    severity_text,
    status_text,
    table_width,
    when,
)

INDENT: Final = 2  # a stacked resource's lines after the first
# Below this width the timeline's detail lines are indented less, leaving room for ARNs.
HISTORY_NARROW: Final = 100

# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Entry:
    """One resource of a list, both ways: its table row, or stacked lines."""

    cells: tuple[Text, ...]  # the table row, its ARN last
    head: tuple[Text, ...]  # stacked: the first line's short fields
    arn: str
    details: tuple[Text, ...] = ()  # stacked: after the ARN (findings, why)


def fits(headers: Sequence[str], entries: Sequence[Entry], width: int | None) -> bool:
    """The table shows every cell whole at this width."""
    return width is None or table_width(headers, [e.cells for e in entries]) <= width


def listing(headers: Sequence[str], entries: Sequence[Entry], width: int | None) -> RenderableType:
    if fits(headers, entries, width):
        table = plain_table(*headers)
        for entry in entries:
            table.add_row(*entry.cells)
        return table
    assert width is not None
    columns = [max(e.head[i].cell_len for e in entries) for i in range(len(entries[0].head))]
    aligned = sum(columns) + 2 * (len(columns) - 1) <= width
    parts: list[RenderableType] = []
    for entry in entries:
        parts.extend(_stacked(entry, columns if aligned else None, width))
    return Group(*parts)


def _stacked(entry: Entry, columns: list[int] | None, width: int) -> list[RenderableType]:
    head = Text()
    for i, cell in enumerate(entry.head):
        if i:
            head.append("  ")
        head.append_text(cell)
        if columns is not None and i < len(entry.head) - 1:
            head.append(" " * (columns[i] - cell.cell_len))
    details = [Padding(line, (0, 0, 0, INDENT), expand=False) for line in entry.details]
    return [head, arn_line(entry.arn, width, INDENT), *details]


def arn_line(arn: str, width: int | None, indent: int = 0, style: str = "") -> Text:
    """An ARN on a line of its own, indented when it fits, never broken."""
    fitting = width is None or indent + len(arn) <= width
    text = Text(" " * indent + arn if fitting else arn, style=style)
    text.no_wrap, text.overflow = True, "ignore"
    return text


def _joined(values: Iterable[str]) -> Text:
    return Text(", ".join(values) or "-")


def _severity_counts(severities: Iterable[str]) -> Text:
    """ "; severity: 1 critical, 2 high" (nothing when nothing was found)."""
    counts = Counter(severities)
    found = [s for s in reversed(Severity) if s is not Severity.NONE and counts[s.value]]
    text = Text()
    for i, severity in enumerate(found):
        text.append("; severity: " if i == 0 else ", ")
        text.append(f"{counts[severity.value]} {severity.value}", style=SEVERITY_STYLES[severity])
    return text


# --------------------------------------------------------------------------- status

STATUS_HEADERS: Final = (
    "STATUS",
    "SEVERITY",
    "FINDINGS",
    "KIND",
    "ACCOUNT",
    "MODE",
    "UPDATED (UTC)",
    "RESOURCE",
)


def status_view(records: Sequence[StatusRecord], width: int | None = None) -> RenderableType:
    """`driftguard status`: a row per resource coloured by status, in the order given;
    then, for the problems, why (in the table, after it; stacked, under each)."""
    if not records:
        return Text("no declared resources match")
    entries = [_status_entry(r) for r in records]
    parts: list[RenderableType] = [listing(STATUS_HEADERS, entries, width)]
    parts.append(status_summary(records))
    if fits(STATUS_HEADERS, entries, width):
        for r in records:
            if why := _why(r):
                parts.append(Text("  ").append(r.arn).append(": ").append_text(why))
    return Group(*parts)


def _status_entry(r: StatusRecord) -> Entry:
    severity = record_severity(r).value
    status, findings, updated = status_text(r.status.value), _joined(r.findings), when(r.updated_at)
    details = [
        Text(f"{', '.join(r.findings)} · " if r.findings else "").append(f"updated {updated}")
    ]
    if why := _why(r):
        details.append(why)
    return Entry(
        cells=(
            status,
            severity_text(severity),
            findings,
            Text(r.kind),
            Text(r.account),
            Text(r.mode.value),
            Text(updated),
            Text(r.arn),
        ),
        head=(
            status,
            severity_text(severity),
            Text(r.kind),
            Text(r.account),
            Text(r.region),
            Text(r.mode.value),
        ),
        arn=r.arn,
        details=tuple(details),
    )


def _why(r: StatusRecord) -> Text | None:
    if not (r.status.is_problem and (r.reason or r.orphaned_ids)):
        return None
    line = Text(r.reason or "unique ids in policy", style=STATUS_STYLES[r.status])
    if r.orphaned_ids:
        line.append(f" ({', '.join(r.orphaned_ids)})")
    return line


def status_summary(records: Iterable[StatusRecord]) -> Text:
    records = list(records)
    counts = Counter(r.status.value for r in records)
    total = sum(counts.values())
    text = Text(f"{total} resource{'s' if total != 1 else ''}")
    for status in Status:
        if counts[status.value]:
            text.append(" · ")
            text.append(f"{counts[status.value]} {status.value}", style=STATUS_STYLES[status])
    return text.append_text(_severity_counts(record_severity(r).value for r in records))


# --------------------------------------------------------------------------- scan

SCAN_HEADERS: Final = ("RESULT", "SEVERITY", "FINDINGS", "KIND", "ACCOUNT", "MODE", "RESOURCE")


def scan_view(rows: Sequence[ScanRow], width: int | None = None) -> RenderableType:
    """`driftguard scan`: a row per resource, what it could not read after the table."""
    if not rows:
        return Text("no declared resources")
    entries = [_scan_entry(row) for row in rows]
    parts: list[RenderableType] = [listing(SCAN_HEADERS, entries, width)]
    drifted = sum(1 for r in rows if r.drifted)
    summary = Text(f"{len(rows)} resource{'s' if len(rows) != 1 else ''} scanned, ")
    summary.append(f"{drifted} not in sync", style="bold red" if drifted else "green")
    parts.append(summary.append_text(_severity_counts(r.severity for r in rows)))
    if fits(SCAN_HEADERS, entries, width):
        for row in rows:
            if row.error:
                parts.append(Text(f"  {row.arn}: ").append(row.error, style="red"))
    return Group(*parts)


def _scan_entry(row: ScanRow) -> Entry:
    status, severity, mode = status_text(row.status), severity_text(row.severity), row.mode or "-"
    details = [Text(", ".join(row.findings))] if row.findings else []
    if row.error:
        details.append(Text(row.error, style="red"))
    return Entry(
        cells=(
            status,
            severity,
            _joined(row.findings),
            Text(row.kind),
            Text(row.account),
            Text(mode),
            Text(row.arn),
        ),
        head=(status, severity, Text(row.kind), Text(row.account), Text(row.region), Text(mode)),
        arn=row.arn,
        details=tuple(details),
    )


# --------------------------------------------------------------------------- sweep

SWEEP_HEADERS: Final = (
    "OUTCOME",
    "STATUS",
    "SEVERITY",
    "FINDINGS",
    "KIND",
    "ACCOUNT",
    "MODE",
    "RESOURCE",
)


def sweep_view(rows: Sequence[SweepRow], width: int | None = None) -> RenderableType:
    """`scan --remediate`: what the sweep did to each resource, and where it rests."""
    if not rows:
        return Text("no declared resources")
    entries = [_sweep_entry(row) for row in rows]
    outcomes = Counter(row.outcome for row in rows)
    summary = Text(f"{len(rows)} resource{'s' if len(rows) != 1 else ''} swept: ")
    summary.append(", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())))
    summary.append_text(_severity_counts(row.severity for row in rows))
    return Group(listing(SWEEP_HEADERS, entries, width), summary)


def _sweep_entry(row: SweepRow) -> Entry:
    outcome, status = Text(row.outcome), status_text(row.status or "-")
    severity, mode = severity_text(row.severity), Text(row.mode or "-")
    details = [Text("now ").append_text(status)]
    if row.findings:
        details[0].append(f" · {', '.join(row.findings)}")
    if row.reason:
        details.append(Text(row.reason))
    return Entry(
        cells=(
            outcome,
            status,
            severity,
            _joined(row.findings),
            Text(row.kind),
            Text(row.account),
            mode,
            Text(row.arn),
        ),
        head=(outcome, severity, Text(row.kind), Text(row.account), Text(row.region), mode),
        arn=row.arn,
        details=tuple(details),
    )


# --------------------------------------------------------------------------- history


def _gap(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"+{delta.total_seconds():.1f}s"
    if seconds < 3600:
        return f"+{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"+{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"+{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def _who(entry: AuditEntry) -> str:
    """ "by <actor> (<event>)", without repeating the actor the trigger names too."""
    trigger = entry.trigger or ""
    if entry.actor and trigger.endswith(f" by {entry.actor}"):
        trigger = trigger.removesuffix(f" by {entry.actor}")
    words = [f"by {entry.actor}"] if entry.actor else []
    if trigger and trigger not in (entry.actor, "cli"):
        words.append(f"({trigger})")
    return " ".join(words)


def history_view(
    arn: str, entries: Sequence[AuditEntry], width: int | None = None
) -> RenderableType:
    """`driftguard history`: one block per day; per entry the time, the gap since the
    one before, what happened (coloured), who and why, and what changed. Narrow, the
    who, why and what lines are indented less, and wrap under their indent."""
    indent = 14 if width is None or width >= HISTORY_NARROW else 4
    parts: list[RenderableType] = [arn_line(arn, width, style="bold")]
    day = None
    previous: AuditEntry | None = None
    for entry in entries:
        if entry.at.date() != day:
            day = entry.at.date()
            parts.append(Text(f"{day:%Y-%m-%d} (UTC)", style="bold underline"))
        line = Text(f"  {entry.at:%H:%M:%S} ")
        gap = _gap(entry.at - previous.at) if previous else ""
        line.append(f"{gap:>9} ", style="dim")
        line.append(f"● {entry.action:<20}", style=ACTION_STYLES[entry.action])
        line.append(" ")
        line.append_text(status_text(entry.status))
        parts.append(line)
        details: list[Text] = []
        if who := _who(entry):
            details.append(Text(who, style="dim"))
        if entry.message:
            details.append(Text(entry.message))
        details.extend(change_lines(readable_changes(entry.diff), indent="  "))
        parts.extend(Padding(d, (0, 0, 0, indent), expand=False) for d in details)
        previous = entry
    return Group(*parts)
