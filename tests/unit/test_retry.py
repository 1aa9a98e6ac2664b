"""The one retry loop, on a fake clock."""

from __future__ import annotations

import pytest

from driftguard.retry import retry
from tests.support.fakes import FakeClock


class NotYet(Exception):
    pass


def flaky(failures: int) -> tuple[list[int], object]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise NotYet
        return "done"

    return calls, attempt


def test_retries_with_doubling_capped_delays_until_it_works() -> None:
    clock = FakeClock()
    calls, attempt = flaky(4)
    result: str = retry(
        attempt,  # type: ignore[arg-type]
        retry_on=NotYet,
        clock=clock,
        budget_seconds=60,
        first_delay=1,
        max_delay=4,
    )
    assert result == "done" and len(calls) == 5
    assert clock.sleeps == [1, 2, 4, 4]


def test_gives_up_when_the_next_try_would_start_past_the_budget() -> None:
    clock = FakeClock()
    calls, attempt = flaky(100)
    with pytest.raises(NotYet):
        retry(
            attempt,  # type: ignore[arg-type]
            retry_on=NotYet,
            clock=clock,
            budget_seconds=10,
            first_delay=1,
            max_delay=16,
        )
    assert clock.sleeps == [1, 2, 4] and len(calls) == 4  # a fifth try would start at 15 s


def test_a_zero_budget_is_one_try_and_other_errors_are_not_retried() -> None:
    clock = FakeClock()
    calls, attempt = flaky(1)
    with pytest.raises(NotYet):
        retry(attempt, retry_on=NotYet, clock=clock, budget_seconds=0, first_delay=1, max_delay=1)  # type: ignore[arg-type]
    assert len(calls) == 1

    def broken() -> None:
        raise ValueError("not retried")

    with pytest.raises(ValueError):
        retry(broken, retry_on=NotYet, clock=clock, budget_seconds=60, first_delay=1, max_delay=1)
    assert clock.sleeps == []
