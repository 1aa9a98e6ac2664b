"""`python -m tests.bench [--quick] [--write docs/performance.md] [--c7n PATH]`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from driftguard_sandbox.sandbox import Sandbox
from tests.bench import calls, cpu, detection, imports, lab, sweeps
from tests.bench.report import Results, Row, Section, machine, say

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Sizes:
    """How much of everything: the full run, or --quick while developing."""

    import_runs: int
    events: int
    sweep_sizes: list[int]
    sweep_reps: int
    detection_sizes: list[int]
    detection_reps: int


FULL = Sizes(15, 300, [100, 1000, 5000], 3, [200, 1000], 3)
QUICK = Sizes(3, 50, [20, 60], 1, [20, 60], 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--write", type=Path, metavar="FILE", help="also write markdown here")
    parser.add_argument(
        "--c7n",
        type=Path,
        default=ROOT / ".venv-c7n" / "bin" / "custodian",
        help="Cloud Custodian's `custodian` (make .venv-c7n/.installed-stamp)",
    )
    parser.add_argument("--only", type=lambda s: set(s.split(",")), help="figures to run, e.g. 3,6")
    args = parser.parse_args(argv)
    wanted = args.only or {"1", "2", "3", "4", "5", "6"}
    if wanted & {"6"} and not args.c7n.is_file():
        parser.error(f"no Cloud Custodian at {args.c7n}: run `make .venv-c7n/.installed-stamp`")
    about = machine()  # now: the commit measured is the one the run started on
    started = time.monotonic()
    results = measure(QUICK if args.quick else FULL, wanted, args.c7n)
    seconds = time.monotonic() - started
    results.sections.sort(key=lambda s: s.title)
    results.rows.sort(key=lambda r: r.figure[:2])
    say(results.summary())
    say(f"\n({seconds / 60:.1f} minutes; {'quick' if args.quick else 'full'} run)")
    if args.write:
        args.write.write_text(results.markdown(about, seconds), encoding="utf-8")
        say(f"written to {args.write}")
    return 0


def measure(sizes: Sizes, wanted: set[str], custodian: Path) -> Results:
    results = Results()
    # Before the sandbox: its server threads would share the CPU (and process_time).
    if "1" in wanted:
        results.add(*imports.run(sizes.import_runs))
    if "2" in wanted:
        results.add(*cpu.run(sizes.events))
    figures: list[Callable[[Sandbox], list[tuple[Section, list[Row]]]]] = []
    if "3" in wanted:
        figures.append(lambda sandbox: [calls.run(sandbox)])
    if "6" in wanted:
        figures.append(
            lambda sandbox: [
                detection.run(sandbox, sizes.detection_sizes, sizes.detection_reps, custodian)
            ]
        )
    if wanted & {"4", "5"}:
        figures.append(lambda sandbox: sweeps.run(sandbox, sizes.sweep_sizes, sizes.sweep_reps))
    if figures:
        sandbox = lab.start()
        try:
            for figure in figures:
                for section, rows in figure(sandbox):
                    results.add(section, rows)
        finally:
            sandbox.stop()
    return results


if __name__ == "__main__":
    sys.exit(main())
