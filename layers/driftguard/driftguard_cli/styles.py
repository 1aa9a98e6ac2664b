"""The terminal's palette and the small pieces every view is made of.

Every value that comes from AWS or the state table goes into a `Text` object,
never into console markup, so a `[` in an actor name or a reason is shown as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final

from rich import box
from rich.table import Table
from rich.text import Text

from driftguard.vocabulary import AuditAction, Severity, Status

# Every member of each enum has a style (tests/unit/test_vocabulary.py, through views).
STATUS_STYLES: Final[Mapping[Status, str]] = {
    Status.IN_SYNC: "green",
    Status.DRIFTED: "yellow",
    Status.PENDING_PRINCIPAL: "magenta",
    Status.ORPHANED_PRINCIPAL: "bold red",
    Status.ERROR: "red",
    Status.QUARANTINED: "bold white on red",
}

SEVERITY_STYLES: Final[Mapping[Severity, str]] = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.INFO: "cyan",
    Severity.NONE: "green",
}

# Audit actions by what they mean on a timeline.
ACTION_STYLES: Final[Mapping[AuditAction, str]] = {
    AuditAction.DECLARED: "blue",
    AuditAction.UNDECLARED: "bold red",  # protection switched off
    AuditAction.OBSERVED_UNDECLARED: "dim",
    AuditAction.DRIFTED: STATUS_STYLES[Status.DRIFTED],
    AuditAction.PENDING_PRINCIPAL: STATUS_STYLES[Status.PENDING_PRINCIPAL],
    AuditAction.ORPHANED_PRINCIPAL: STATUS_STYLES[Status.ORPHANED_PRINCIPAL],
    AuditAction.QUARANTINED: STATUS_STYLES[Status.QUARANTINED],
    AuditAction.RESTORED: "green",
    AuditAction.RESOLVED: "green",
    AuditAction.RESTORE_FAILED: "bold red",
    AuditAction.ERROR: "red",
}

RESULT_STYLES: Final[Mapping[str, str]] = {
    "replayed": "green",
    "listed": "cyan",
    "invalid": "yellow",
    "failed": "bold red",
}

ADDED_STYLE: Final = "red"  # only in live: access nobody declared
REMOVED_STYLE: Final = "yellow"  # only in declared: access that is gone


def status_text(status: str) -> Text:
    """A status value coloured (anything else, e.g. "unknown", plain)."""
    known = status in Status.__members__.values()
    return Text(status, style=STATUS_STYLES[Status(status)] if known else "")


def severity_style(severity: str) -> str:
    return SEVERITY_STYLES[Severity(severity)]


def severity_text(severity: str) -> Text:
    return Text(severity, style=severity_style(severity))


def plain_table(*headers: str) -> Table:
    """Columns that never wrap, no borders: one line per row."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header in headers:
        table.add_column(header, no_wrap=True)
    return table


def table_width(headers: Sequence[str], rows: Sequence[Sequence[Text]]) -> int:
    """The width `plain_table` needs to show every cell whole: each column as wide as
    its widest cell, a space of padding either side and a space between columns."""
    widths = [
        max([len(header), *(row[i].cell_len for row in rows)]) for i, header in enumerate(headers)
    ]
    return sum(widths) + 3 * (len(widths) - 1)


def when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def change_lines(lines: Iterable[str], indent: str = "  ") -> list[Text]:
    """PolicyDiff summary lines, "+" (only live) and "-" (only declared) coloured."""
    out = []
    for line in lines:
        style = ADDED_STYLE if line.startswith("+") else REMOVED_STYLE if line[:1] == "-" else ""
        out.append(Text(indent + line, style=style))
    return out
