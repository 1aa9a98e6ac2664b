"""Time, and the one retry loop: used by the lease, the put and the verification.

Nothing in driftguard reads the clock or sleeps except through a `Clock`, so tests
give it a fake one and never wait for real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (deadlines)."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


def retry(
    attempt: Callable[[], T],
    *,
    retry_on: type[Exception] | tuple[type[Exception], ...],
    clock: Clock,
    budget_seconds: float,
    first_delay: float,
    max_delay: float,
) -> T:
    """`attempt()`, again after `retry_on` errors, with doubling delays, while the next
    try would still start within `budget_seconds`; then the last error is raised.
    (A zero budget means one try.)"""
    deadline = clock.monotonic() + budget_seconds
    delay = first_delay
    while True:
        try:
            return attempt()
        except retry_on:
            if clock.monotonic() + delay > deadline:
                raise
        clock.sleep(delay)
        delay = min(delay * 2, max_delay)
