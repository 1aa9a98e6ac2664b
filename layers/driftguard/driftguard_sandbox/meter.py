"""What AWS would bill and how long it would take: every API call the sandbox answers,
counted, and (when asked) slowed down to what a call to AWS costs.

`latency` is real seconds added to every call (AWS answers a policy read in some 20
to 50 ms from Lambda; moto in well under one), so concurrency shows as it would on
AWS. `calls` are recorded with who made them and when, so a test or the benchmark
can count a scenario's calls by service and operation, and see the highest rate any
account and region saw in one second (the quota driftguard must stay under).
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Call:
    at: float  # time.monotonic()
    account: str  # the caller's
    region: str
    service: str
    action: str
    who: str  # the caller's ARN, as CloudTrail would name it


class Meter:
    def __init__(self) -> None:
        self.latency = 0.0
        self._calls: list[Call] = []
        self._lock = threading.Lock()

    def record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def wait(self) -> None:
        """What the call costs on AWS (outside any lock: calls overlap as on AWS)."""
        if self.latency > 0:
            time.sleep(self.latency)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def calls(self, where: Callable[[Call], bool] | None = None) -> list[Call]:
        with self._lock:
            calls = list(self._calls)
        return [c for c in calls if where is None or where(c)]

    def count(self, where: Callable[[Call], bool] | None = None) -> Counter[str]:
        """Calls by "service:Action"."""
        return Counter(f"{c.service}:{c.action}" for c in self.calls(where))


def peak_rate(calls: Iterable[Call], window: float = 1.0) -> dict[tuple[str, str], int]:
    """The most calls any account and region saw within `window` seconds."""
    times: dict[tuple[str, str], list[float]] = {}
    for call in calls:
        times.setdefault((call.account, call.region), []).append(call.at)
    peaks = {}
    for key, moments in times.items():
        moments.sort()
        peaks[key] = max(
            bisect_right(moments, start + window - 1e-9) - i for i, start in enumerate(moments)
        )
    return peaks
