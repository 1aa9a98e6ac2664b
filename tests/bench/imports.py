"""Figure 1: cold start, each handler's import next to `import boto3` alone.

tests/support/coldstart.py does the measuring: fresh interpreters, the targets in
turns round after round, medians. This module only puts its rows in the table.
"""

from __future__ import annotations

from tests.bench.report import Row, Section
from tests.support import coldstart


def run(runs: int) -> tuple[Section, list[Row]]:
    measured = coldstart.measure(runs)
    section = Section(
        "1. Cold start: handler import vs import boto3 (ms)",
        ("import", "median ms", "min ms", "max ms", "x boto3", "runs"),
        notes=[
            "Each import in a fresh interpreter (start-up left out), the targets taking "
            "turns round after round (tests/support/coldstart.py).",
        ],
    )
    for target in measured:
        section.lines.append(
            (
                target["name"],
                f"{target['median_ms']:.1f}",
                f"{target['min_ms']:.1f}",
                f"{target['max_ms']:.1f}",
                f"{target['ratio']:.2f}",
                str(target["runs"]),
            )
        )
    handlers = [t for t in measured if t["name"] != coldstart.BASELINE]
    slowest = max(handlers, key=lambda t: t["ratio"])
    fastest = min(handlers, key=lambda t: t["ratio"])
    baseline = measured[0]
    row = Row(
        "1. Cold start: handler import / import boto3",
        f"{fastest['ratio']:.2f}x ({fastest['name']}) to {slowest['ratio']:.2f}x "
        f"({slowest['name']}); boto3 {baseline['median_ms']:.0f} ms",
        "- (none set)",
        None,
    )
    return section, [row]
