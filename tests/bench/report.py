"""What every figure hands back, the statistics they share, and the two ways the
results are shown: plain text on stdout, markdown for docs/performance.md."""

from __future__ import annotations

import datetime
import math
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

# The sandbox's functions print to stdout while they run (their CloudWatch Logs), and
# Lambda's runtime swaps sys.stdout for that: the benchmark writes to the real one.
OUT: TextIO = sys.__stdout__ or sys.stdout


def say(text: str = "") -> None:
    print(text, file=OUT, flush=True)


@dataclass(frozen=True)
class Row:
    """One line of the closing table."""

    figure: str
    measured: str
    target: str
    met: bool | None  # None: informational, no target


@dataclass
class Section:
    """A figure's detail: a title, a table and notes (how it was measured, what stands out)."""

    title: str
    header: Sequence[str]
    lines: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        notes = [textwrap.fill(note, 88) for note in self.notes]
        return "\n".join([f"== {self.title}", _columns(self.header, self.lines), *notes])

    def markdown(self) -> str:
        return "\n".join(
            [
                f"### {self.title}",
                "",
                _markdown(self.header, self.lines),
                "",
                *[f"- {note}" for note in self.notes],
            ]
        )


@dataclass
class Results:
    sections: list[Section] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def add(self, section: Section, rows: Iterable[Row]) -> None:
        self.sections.append(section)
        self.rows.extend(rows)
        say(section.text())
        say()

    def summary(self) -> str:
        return _columns(("figure", "measured", "target", "met?"), self._summary_lines())

    def _summary_lines(self) -> list[Sequence[str]]:
        return [(r.figure, r.measured, r.target, _met(r.met)) for r in self.rows]

    def markdown(self, machine: dict[str, str], seconds: float) -> str:
        about = ", ".join(f"{name}: {value}" for name, value in machine.items())
        parts = [
            "# Performance",
            "",
            'Written by `make bench BENCH_ARGS="--write docs/performance.md"` (tests/bench);',
            f"the whole run took {seconds / 60:.1f} minutes. Machine: {about}.",
            "",
            "## Summary",
            "",
            _markdown(("figure", "measured", "target", "met?"), self._summary_lines()),
            "",
            "## Figures",
            "",
        ]
        parts += [section.markdown() + "\n" for section in self.sections]
        return "\n".join(parts)


def _met(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def machine() -> dict[str, str]:
    return {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "Python": platform.python_version(),
        "date": datetime.date.today().isoformat(),
        "commit": _commit(),
    }


def _commit() -> str:
    """The commit measured, and whether the work tree differed from it."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty=+uncommitted changes"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# -- statistics ---------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100): a value that was measured."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: Sequence[float], unit: str = "s", digits: int = 2) -> str:
    """median (min-max) over the runs, or the one value."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f} {unit} (1 run)"
    return (
        f"{median(values):.{digits}f} {unit} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f}, {len(values)} runs)"
    )


# -- tables -------------------------------------------------------------------------


def _columns(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=False)
    ]
    rows = [header, ["-" * w for w in widths], *lines]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in rows
    )


def _markdown(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    rows = [header, ["---"] * len(header), *lines]
    return "\n".join(
        "| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows
    )
