"""Waiting in functional tests for what the sandbox does in the background."""

from __future__ import annotations

import time
from collections.abc import Callable

from driftguard_sandbox.router import Delivery
from driftguard_sandbox.sandbox import Sandbox


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Until `condition()` holds; fails the test after `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not true after {timeout}s"
        time.sleep(0.02)


def deliveries(sandbox: Sandbox, function: str, event_name: str | None = None) -> list[Delivery]:
    """What `function` was given so far, only the CloudTrail `event_name` if one is named."""
    return [
        d
        for d in sandbox.deliveries
        if d.function == function
        and (event_name is None or (d.event.get("detail") or {}).get("eventName") == event_name)
    ]


def wait_for_delivery(
    sandbox: Sandbox, function: str, event_name: str | None = None, timeout: float = 30.0
) -> Delivery:
    """The first delivery of that kind, once it has finished."""
    wait_until(lambda: bool(deliveries(sandbox, function, event_name)), timeout)
    return deliveries(sandbox, function, event_name)[0]
