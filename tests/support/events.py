"""Real CloudTrail events for the reliability tests: made by real calls on the sandbox,
captured before any function sees them, then delivered as often, as late and in
whatever order a test needs (each copy with its own eventID, as CloudTrail gives)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from driftguard_sandbox.router import Event
from driftguard_sandbox.sandbox import Sandbox


def captured(sandbox: Sandbox, calls: Callable[[], Any]) -> list[Event]:
    """The events `calls` produce, kept from every function (nothing handles them)."""
    sandbox.wait_idle()
    real, before = sandbox.invoker, len(sandbox.events)
    sandbox.invoker = lambda spec, event: {"status": "not delivered"}
    try:
        calls()
        sandbox.wait_idle()
    finally:
        sandbox.invoker = real
    return [copy.deepcopy(event) for event in sandbox.events[before:]]


def named(events: list[Event], event_name: str) -> Event:
    (found,) = [e for e in events if e["detail"]["eventName"] == event_name]
    return found


def copy_of(event: Event) -> Event:
    """Another delivery of the same call: the same record under a new eventID (what a
    replay or a second trail gives), so no cached answer hides it."""
    again = copy.deepcopy(event)
    again["id"] = str(uuid.uuid4())
    again["detail"]["eventID"] = str(uuid.uuid4())
    return again
