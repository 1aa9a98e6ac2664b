"""How long each Lambda handler module takes to import, next to `import boto3` alone
(issue 10, "Cold start"; `make bench`).

`python -m tests.support.coldstart [--runs N]` prints one row per handler and one for
boto3: the median, fastest and slowest import in ms, and the median over boto3's.

Each run is a fresh interpreter that times only the import (interpreter start-up is
the same for every target, so it is left out). The targets take turns, round after
round, so that whatever else the machine is doing slows them all alike; medians, so
that one slow run does not count. A handler is imported as Lambda imports it: `app`
from its function's folder, with the layer's `driftguard` on the path and no AWS
settings but a region.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "driftguard"
FUNCTIONS = ROOT / "functions"
BASELINE = "boto3"
# The child prints how long its import took, in ms.
TIMED = (
    "import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1e3)"
)


def handlers() -> list[Path]:
    """Every function folder with an `app.py`."""
    return sorted(path.parent for path in FUNCTIONS.glob("*/app.py"))


def _import_ms(module: str, cwd: Path) -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(LAYER),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-c", TIMED.format(module=module)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def measure(runs: int = 15) -> list[dict[str, Any]]:
    """Per target (boto3 first, then each handler by its folder's name): `name`,
    `median_ms`, `min_ms`, `max_ms`, `runs`, and `ratio` (median over boto3's)."""
    targets = [(BASELINE, BASELINE, ROOT)] + [(f.name, "app", f) for f in handlers()]
    for _, module, cwd in targets:  # once untimed: compiles what has no .pyc yet
        _import_ms(module, cwd)
    times: dict[str, list[float]] = {name: [] for name, _, _ in targets}
    for _ in range(runs):
        for name, module, cwd in targets:
            times[name].append(_import_ms(module, cwd))
    baseline = statistics.median(times[BASELINE])
    return [
        {
            "name": name,
            "median_ms": round(statistics.median(samples), 1),
            "min_ms": round(min(samples), 1),
            "max_ms": round(max(samples), 1),
            "runs": len(samples),
            "ratio": round(statistics.median(samples) / baseline, 2),
        }
        for name, samples in times.items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per target")
    args = parser.parse_args(argv)
    rows = measure(args.runs)
    print(f"{'import':<16}{'median ms':>11}{'min':>9}{'max':>9}{'x boto3':>9}")
    for row in rows:
        print(
            f"{row['name']:<16}{row['median_ms']:>11.1f}{row['min_ms']:>9.1f}"
            f"{row['max_ms']:>9.1f}{row['ratio']:>9.2f}"
        )
    print(f"({rows[0]['runs']} interleaved runs each, in fresh interpreters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
