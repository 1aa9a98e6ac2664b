"""The lists (status, scan, the sweep) and the timeline at the width they are shown
at: every field at 80 columns, ARNs never broken, the table when it fits; and the
worst first."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console, RenderableType

from driftguard.model import AuditEntry, StatusRecord
from driftguard.vocabulary import AuditAction, Mode, Severity, Status
from driftguard_cli import views
from driftguard_cli.answers import (
    ScanRow,
    SweepRow,
    findings_severity,
    sorted_records,
    sorted_scan,
    status_json,
)

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
KEY = "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:testsecret-AbCdEf"
# 93 characters: no 80-column line holds it.
LONG = (
    "arn:aws:secretsmanager:us-east-1:222222222222:secret:prod/payments/database-credentials-AbCdEf"
)
# 69 characters: "by" and it fit 80 columns only when the timeline indents them less.
MALLORY = "arn:aws:sts::333333333333:assumed-role/SecAuditor/mallory@example.com"


def render(renderable: RenderableType, width: int) -> list[str]:
    """As the CLI prints it at a terminal this wide (uncropped: `Context.show`)."""
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(renderable, crop=False)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return [line.rstrip() for line in str(text).splitlines()]


def record(arn: str, status: Status, **kw: Any) -> StatusRecord:
    fields: dict[str, Any] = {
        "arn": arn,
        "kind": "kms-key" if ":kms:" in arn else "secret",
        "account": arn.split(":")[4],
        "region": arn.split(":")[3],
        "mode": Mode.ENFORCE,
        "status": status,
        "updated_at": T0,
    }
    return StatusRecord(**(fields | kw))


RECORDS = [
    record(KEY, Status.IN_SYNC),
    record(
        SECRET,
        Status.ORPHANED_PRINCIPAL,
        mode=Mode.DETECT,
        findings=("orphaned-principal", "widened"),
        reason="detect mode: not restored",
        orphaned_ids=("AROAOLDOLDOLDOLDOLDOL",),
    ),
]
SCAN = [
    ScanRow(KEY, "333333333333", "kms-key", "drifted", ("widened",), "critical",
            region="us-east-1", mode="enforce"),
    ScanRow(SECRET, "222222222222", "secret", "error", error="AccessDenied: no",
            region="eu-west-1"),
]  # fmt: skip
SWEEP = [
    SweepRow(KEY, "remediated", "in-sync", "kms-key", "333333333333", "us-east-1", "enforce"),
    SweepRow(
        SECRET,
        "detected",
        "orphaned-principal",
        "secret",
        "222222222222",
        "eu-west-1",
        "detect",
        ("orphaned-principal", "widened"),
        "critical",
        "detect mode: not restored",
    ),
]

# Each list, and what each resource must show, whatever the width.
LISTS: list[tuple[str, RenderableType, list[tuple[str, ...]]]] = [
    (
        "status",
        views.status_view(RECORDS, width=80),
        [
            ("in-sync", "none", "kms-key", "333333333333", "us-east-1", "enforce", KEY),
            ("orphaned-principal", "critical", "secret", "222222222222", "eu-west-1", "detect",
             SECRET, "orphaned-principal, widened", "detect mode: not restored",
             "AROAOLDOLDOLDOLDOLDOL"),
        ],
    ),
    (
        "scan",
        views.scan_view(SCAN, width=80),
        [
            ("drifted", "critical", "kms-key", "333333333333", "us-east-1", "enforce", "widened",
             KEY),
            ("error", "none", "secret", "222222222222", "eu-west-1", SECRET, "AccessDenied: no"),
        ],
    ),
    (
        "sweep",
        views.sweep_view(SWEEP, width=80),
        [
            ("remediated", "in-sync", "kms-key", "333333333333", "us-east-1", "enforce", KEY),
            ("detected", "orphaned-principal", "critical", "secret", "222222222222", "eu-west-1",
             "detect", SECRET, "orphaned-principal, widened", "detect mode: not restored"),
        ],
    ),
]  # fmt: skip


def blocks(lines: list[str], arns: list[str]) -> list[str]:
    """Each resource's stacked lines: from its first line to the next one's."""
    starts = [i for i, line in enumerate(lines) if line and not line.startswith(" ")]
    found = ["\n".join(lines[a:b]) for a, b in zip(starts, [*starts[1:], len(lines)], strict=True)]
    return [next(block for block in found if f"  {arn}\n" in block + "\n") for arn in arns]


@pytest.mark.parametrize(("name", "view", "fields"), LISTS, ids=[n for n, _, _ in LISTS])
def test_at_80_columns_each_resource_is_stacked_with_every_field(
    name: str, view: RenderableType, fields: list[tuple[str, ...]]
) -> None:
    lines = render(view, 80)
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    arns = [KEY, SECRET]
    assert [line.strip() for line in lines if line.strip() in arns] == arns  # whole, own line
    for block, wanted in zip(blocks(lines, arns), fields, strict=True):
        for field in wanted:
            assert field in block, (name, field, block)


@pytest.mark.parametrize(
    ("view", "header"),
    [
        (lambda w: views.status_view(RECORDS, width=w), "STATUS"),
        (lambda w: views.scan_view(SCAN, width=w), "RESULT"),
        (lambda w: views.sweep_view(SWEEP, width=w), "OUTCOME"),
    ],
)
def test_wide_enough_it_is_a_table_of_one_line_per_resource(view: Any, header: str) -> None:
    for width in (200, 10_000, None):  # None: as wide as needed
        lines = render(view(width), width or 10_000)
        assert lines[0].startswith(header)
        (key_row,) = [line for line in lines if line.endswith(KEY)]
        assert "kms-key" in key_row and "333333333333" in key_row
        (secret_row,) = [line for line in lines if line.endswith(SECRET)]
        assert "222222222222" in secret_row and "secret" in secret_row


def test_the_table_is_used_exactly_when_every_cell_fits() -> None:
    table_lines = render(views.status_view(RECORDS), 10_000)
    needed = max(len(line) for line in table_lines if KEY in line or SECRET in line)
    assert render(views.status_view(RECORDS, width=needed), needed)[0].startswith("STATUS")
    stacked = render(views.status_view(RECORDS, width=needed - 1), needed - 1)
    assert not stacked[0].startswith("STATUS")  # not a table cut short
    assert all(len(line) <= needed - 1 for line in stacked)


def test_the_table_says_why_after_it_and_stacked_rows_under_each() -> None:
    why = f"{SECRET}: detect mode: not restored (AROAOLDOLDOLDOLDOLDOL)"
    assert f"  {why}" in render(views.status_view(RECORDS, width=200), 200)
    stacked = "\n".join(render(views.status_view(RECORDS, width=80), 80))
    assert why not in stacked and "detect mode: not restored (AROAOLDOLDOLDOLDOLDOL)" in stacked
    assert f"  {SECRET}: AccessDenied: no" in render(views.scan_view(SCAN, width=200), 200)


def test_an_arn_longer_than_the_width_is_never_broken() -> None:
    lines = render(views.status_view([record(LONG, Status.IN_SYNC)], width=80), 80)
    assert LONG in lines  # alone on its line, for the terminal to wrap
    assert all(len(line) <= 80 for line in lines if line != LONG)
    timeline = render(views.history_view(LONG, [], width=80), 80)
    assert timeline[0] == LONG


def test_the_timeline_at_80_columns() -> None:
    entries = [
        AuditEntry(KEY, T0, AuditAction.DECLARED, Status.IN_SYNC, actor="alice", trigger="cli"),
        AuditEntry(
            KEY,
            T0 + timedelta(minutes=3, seconds=7),
            AuditAction.RESTORED,
            Status.IN_SYNC,
            actor=MALLORY,
            trigger=f"PutKeyPolicy by {MALLORY}",
            message="restored the declared policy (version 2) after a change that widened "
            "access beyond what was declared",
            diff={"summary": ["+ principal arn:aws:iam::444455556666:root"]},
        ),
    ]
    wide = render(views.history_view(KEY, entries), 10_000)
    narrow = render(views.history_view(KEY, entries, width=80), 80)
    assert max(len(line) for line in narrow) <= 80, "\n".join(narrow)
    assert max(len(line) for line in wide) > 80  # the same timeline, too wide for 80
    assert narrow[0] == KEY
    assert any(f"by {MALLORY}" in line for line in narrow)  # the actor's ARN not broken
    shown = " ".join(line.strip() for line in narrow)
    for field in (
        "2026-05-01 (UTC)",
        "10:03:07",
        "+3m07s",
        "● restored",
        f"by {MALLORY} (PutKeyPolicy)",
        "after a change that widened access beyond what was declared",
        "+ principal arn:aws:iam::444455556666:root",
    ):
        assert field in shown, field


# --------------------------------------------------------------------------- the worst


@pytest.mark.parametrize(
    ("findings", "severity"),
    [
        ((), Severity.NONE),
        (("narrowed",), Severity.MEDIUM),
        (("orphaned-principal",), Severity.HIGH),
        (("missing",), Severity.HIGH),
        (("orphaned-principal", "widened"), Severity.CRITICAL),
        (("narrowed", "orphaned-principal"), Severity.HIGH),
        (("no-such-finding",), Severity.NONE),  # written by a later version: ignored
    ],
)
def test_a_status_takes_the_severity_of_its_worst_finding(
    findings: tuple[str, ...], severity: Severity
) -> None:
    assert findings_severity(findings) is severity
    assert status_json(record(KEY, Status.DRIFTED, findings=findings))["severity"] == severity


def test_records_are_listed_worst_severity_first_then_worst_status_then_newest() -> None:
    def at(minutes: int, status: Status, *findings: str) -> StatusRecord:
        arn = f"{KEY}-{minutes}"
        return record(arn, status, findings=findings, updated_at=T0 + timedelta(minutes=minutes))

    ordered = [
        at(1, Status.ORPHANED_PRINCIPAL, "orphaned-principal", "widened"),  # critical
        at(5, Status.DRIFTED, "orphaned-principal"),  # high, newer
        at(2, Status.DRIFTED, "orphaned-principal"),  # high
        at(3, Status.DRIFTED, "narrowed"),  # medium
        at(4, Status.QUARANTINED),  # nothing found: the worst status first
        at(6, Status.ERROR),
        at(9, Status.IN_SYNC),
        at(8, Status.IN_SYNC),
    ]
    assert sorted_records(reversed(ordered)) == ordered
    assert sorted_records(ordered[::2] + ordered[1::2]) == ordered


def test_scan_rows_are_listed_worst_first() -> None:
    in_sync = ScanRow(KEY + "a", "1", "kms-key", "in-sync")
    error = ScanRow(KEY + "b", "1", "kms-key", "error", error="x")
    high = ScanRow(KEY + "c", "1", "kms-key", "orphaned-principal", ("orphaned-principal",), "high")
    critical = ScanRow(KEY + "d", "1", "kms-key", "drifted", ("widened",), "critical")
    assert sorted_scan([in_sync, error, high, critical]) == [critical, high, error, in_sync]


def test_the_summaries_count_by_severity() -> None:
    records = [*RECORDS, record(KEY + "2", Status.DRIFTED, findings=("narrowed",))]
    summary = " ".join(render(views.status_view(records, width=200), 200))
    assert "3 resources · 1 in-sync · 1 drifted · 1 orphaned-principal" in summary
    assert "; severity: 1 critical, 1 medium" in summary
    assert "; severity:" not in " ".join(render(views.status_view(RECORDS[:1], width=200), 200))
    scan = " ".join(render(views.scan_view(SCAN, width=200), 200))
    assert "2 resources scanned, 2 not in sync; severity: 1 critical" in scan
    sweep = " ".join(render(views.sweep_view(SWEEP, width=200), 200))
    assert "2 resources swept: 1 detected, 1 remediated; severity: 1 critical" in sweep
