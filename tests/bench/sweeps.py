"""Figures 4 and 5: the sweep at growing sizes, then with AWS's latency.

One sandbox, ten member accounts, half keys and half secrets, grown size after size
(tests/bench/population.py). Each timed sweep is `sandbox.sweep()` (the planner on
its schedule, the sweep queue, one worker invocation per shard, one at a time) on
cold containers, as an hourly schedule finds them. Memory is measured apart, with
tracemalloc (it slows what it traces): one cold worker sweeping one shard.

moto answers in this process, so on the sandbox the sweep shares the CPU with the
AWS it calls; with `meter.latency` every call also waits what a call to AWS takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from driftguard import kinds
from driftguard.quotas import RateLimiter
from driftguard.retry import SYSTEM_CLOCK
from driftguard.sweep import Shard, SweepQueue
from driftguard_sandbox.meter import peak_rate
from driftguard_sandbox.sandbox import SWEEP_WORKER, Sandbox
from tests.bench import lab, minimums
from tests.bench.calls import compare
from tests.bench.population import Population
from tests.bench.report import Row, Section, median, say, spread
from tests.support.coldstart import FUNCTIONS, LAYER

MEMORY_TARGET_MB = 256
FLOOR_TARGET = 1.2  # wall time within 1.2x of the quota floor
SECRET_POLICY_APIS = {
    "GetResourcePolicy",
    "PutResourcePolicy",
    "DeleteResourcePolicy",
    "ValidateResourcePolicy",
}


@dataclass
class Size:
    """Everything measured at one size."""

    resources: int
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)  # this process's, moto's included
    calls: Counter[str] = field(default_factory=Counter)
    minimum: Counter[str] = field(default_factory=Counter)
    peak_mb: float = 0.0
    latency_wall: float = 0.0
    floor: float = 0.0
    secrets_peak: int = 0


def run(sandbox: Sandbox, sizes: list[int], reps: int) -> list[tuple[Section, list[Row]]]:
    sandbox.reset()
    population = Population(sandbox, lab.MEMBERS)
    measured = []
    for size in sizes:
        started = time.monotonic()
        population.grow(size)
        grown = time.monotonic() - started
        measured.append(_measure(sandbox, population, reps))
        _progress(size, grown, measured[-1])
    return [_sweep_report(measured, _import_rss_mb()), _latency_report(measured)]


def _progress(size: int, grown: float, at: Size) -> None:
    say(
        f"  sweep of {size}: declared in {grown:.0f} s; sweep {median(at.walls):.1f} s, "
        f"with latency {at.latency_wall:.1f} s (floor {at.floor:.1f} s)"
    )


def _measure(sandbox: Sandbox, population: Population, reps: int) -> Size:
    at = Size(population.size, minimum=minimums.sweep(population.per_shard()))
    for _ in range(reps):
        wall, cpu, at.calls = _timed_sweep(sandbox)
        at.walls.append(wall)
        at.cpus.append(cpu)
    at.peak_mb = _worker_peak_mb(sandbox, population)
    sandbox.meter.latency = lab.LATENCY
    try:
        at.latency_wall, _, _ = _timed_sweep(sandbox)
    finally:
        sandbox.meter.latency = 0.0
    mine = lab.by_driftguard(sandbox)
    secrets = [
        c
        for c in sandbox.meter.calls(mine)
        if c.service == "secretsmanager" and c.action in SECRET_POLICY_APIS
    ]
    at.secrets_peak = max(peak_rate(secrets).values(), default=0)
    at.floor = quota_floor(population.per_shard(), lab.LATENCY)
    return at


def _timed_sweep(sandbox: Sandbox) -> tuple[float, float, Counter[str]]:
    """Wall time, this process's CPU time, driftguard's calls."""
    lab.cold_start(sandbox)
    sandbox.meter.reset()
    started, cpu = time.monotonic(), time.process_time()
    planned = sandbox.sweep(timeout=3600)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    if planned.get("status") != "ok":
        raise RuntimeError(f"the sweep's planner answered {planned}")
    return wall, cpu, lab.counted(sandbox, lab.by_driftguard(sandbox))


def _worker_peak_mb(sandbox: Sandbox, population: Population) -> float:
    """One cold worker sweeping one shard (all shards are the same size), queued as the
    planner queues it, under tracemalloc: it slows what it traces, so apart from the
    timed sweeps."""
    account, per_kind = next(iter(population.per_shard().items()))
    queue = SweepQueue(lambda: sandbox.hub_client("sqs"), sandbox.hub.physical_ids["SweepQueue"])
    lab.cold_start(sandbox)
    with _traced_worker(sandbox) as peaks:
        queue.send([Shard(account, sandbox.region, sum(per_kind.values()))])
        sandbox.wait_idle(timeout=3600)
    return max(peaks) / 2**20


@contextmanager
def _traced_worker(sandbox: Sandbox) -> Iterator[list[int]]:
    """tracemalloc's peak over each sweep worker invocation (all of this process's
    threads: moto's server answering the worker is in it too, so an upper bound)."""
    real, peaks = sandbox.invoker, [0]

    def invoke(spec: Any, event: Any) -> Any:
        if spec.logical_id != SWEEP_WORKER:
            return real(spec, event)
        tracemalloc.start()
        try:
            return real(spec, event)
        finally:
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()

    sandbox.invoker = invoke
    try:
        yield peaks
    finally:
        sandbox.invoker = real


def _import_rss_mb() -> float:
    """What a fresh sweep worker holds before its first event: the peak RSS (VmHWM)
    of an interpreter that imported its handler, as tests/support/coldstart.py
    imports it. (Not ru_maxrss: it keeps the forking parent's peak across exec.)"""
    code = (
        "import app, re; print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(LAYER), "AWS_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=FUNCTIONS / "sweep_worker",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip()) / 1024  # kB


def quota_floor(shards: dict[str, dict[str, int]], latency: float) -> float:
    """The least time the sweep can take when the sandbox runs one worker at a time:
    per shard, the slowest of its secrets under driftguard's share of Secrets Manager's
    quota, its keys under KMS's, and one call per resource at `latency` on the
    worker's threads."""
    limiter = _limiter()
    secrets_rate = limiter.rate("secretsmanager", "GetResourcePolicy") or float("inf")
    keys_rate = limiter.rate("kms", "GetKeyPolicy") or float("inf")
    threads = int(os.environ["SWEEP_THREADS"])
    return sum(
        max(
            per_kind.get("secret", 0) / secrets_rate,
            per_kind.get("kms-key", 0) / keys_rate,
            sum(per_kind.values()) * latency / threads,
        )
        for per_kind in shards.values()
    )


def _limiter() -> RateLimiter:
    """driftguard's own limiter with the functions' share (template.yaml QuotaShare, in
    the environment the sandbox gives this process)."""
    return RateLimiter(kinds.quotas(), share=float(os.environ["QUOTA_SHARE"]), clock=SYSTEM_CLOCK)


def secrets_rate() -> float:
    return _limiter().rate("secretsmanager", "GetResourcePolicy") or 0.0


# -- the tables ---------------------------------------------------------------------


def _sweep_report(measured: list[Size], import_mb: float) -> tuple[Section, list[Row]]:
    section = Section(
        "4. Sweep: 10 member accounts, half keys, half secrets (cold containers)",
        (
            "resources",
            "wall",
            "process CPU",
            "calls",
            "min calls",
            "above minimum",
            "worker peak MB",
        ),
        notes=[
            "wall: sandbox.sweep() (planner, queue, a worker invocation per shard, one at a "
            "time), median (min-max). process CPU: this process's CPU time during the sweep, "
            "moto's included: it answers in this process, on the same cores.",
            "worker peak: tracemalloc's peak over a cold worker sweeping one shard (this "
            "process's threads, moto's included: an upper bound); a fresh worker holds "
            f"{import_mb:.0f} MB (peak RSS after importing its handler) before that.",
        ],
    )
    for at in measured:
        above = [f"{op} +{n}" for op, _, _, n in compare(at.calls, at.minimum) if n]
        section.lines.append(
            (
                str(at.resources),
                spread(at.walls),
                f"{median(at.cpus):.1f} s",
                str(sum(at.calls.values())),
                str(sum(at.minimum.values())),
                ", ".join(above) or "-",
                f"{at.peak_mb:.1f}",
            )
        )
    return section, _sweep_rows(measured, import_mb)


def _sweep_rows(measured: list[Size], import_mb: float) -> list[Row]:
    rows = [
        Row(
            f"4. Sweep {at.resources}: wall, calls",
            f"{spread(at.walls, digits=1)}; {sum(at.calls.values())} calls "
            f"(minimum {sum(at.minimum.values())})",
            "- (none set)",
            None,
        )
        for at in measured
    ]
    worst = max(at.peak_mb for at in measured)
    rows.append(
        Row(
            "4. Sweep worker memory (largest shard)",
            f"{import_mb:.0f} MB after import + {worst:.1f} MB traced peak",
            f"< {MEMORY_TARGET_MB} MB per worker",
            import_mb + worst < MEMORY_TARGET_MB,
        )
    )
    if len(measured) >= 2:
        big, mid = measured[-1], measured[-2]
        linear = big.resources / mid.resources
        ratio = median(big.walls) / median(mid.walls)
        rows.append(
            Row(
                f"4. T({big.resources})/T({mid.resources})",
                f"{ratio:.2f}",
                f"linear: {linear:.0f} (<= {linear * 1.2:.1f})",
                ratio <= linear * 1.2,
            )
        )
    return rows


def _latency_report(measured: list[Size]) -> tuple[Section, list[Row]]:
    share = secrets_rate()
    section = Section(
        f"5. Sweep with {lab.LATENCY * 1000:.0f} ms per call: wall vs the quota floor",
        ("resources", "wall", "floor", "wall / floor", "peak secrets policy calls/s"),
        notes=[
            "floor: per shard, max(secrets / Secrets Manager share, keys / KMS share, "
            "resources x latency / SWEEP_THREADS), summed over the shards (one worker at a "
            "time).",
            "peak: the most secret policy calls any account-region saw in one second, as the "
            f"server timed their arrival (driftguard's share: {share:.0f}/s).",
        ],
    )
    rows = []
    for at in measured:
        ratio = at.latency_wall / at.floor
        section.lines.append(
            (
                str(at.resources),
                f"{at.latency_wall:.1f} s",
                f"{at.floor:.1f} s",
                f"{ratio:.2f}",
                str(at.secrets_peak),
            )
        )
        rows.append(
            Row(
                f"5. Sweep {at.resources} at {lab.LATENCY * 1000:.0f} ms/call vs floor",
                f"{at.latency_wall:.1f} s / {at.floor:.1f} s = {ratio:.2f}x",
                f"<= {FLOOR_TARGET}x",
                ratio <= FLOOR_TARGET,
            )
        )
    peak = max(at.secrets_peak for at in measured)
    rows.append(
        Row(
            "5. Peak secrets policy calls/s per account-region",
            str(peak),
            f"<= {share:.0f} (driftguard's share)",
            peak <= share,
        )
    )
    return section, rows
