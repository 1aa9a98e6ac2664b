"""Twenty invocations handling the same change to one key at the same moment (Lambda
runs one container per concurrent event): one write, no exception out of any
handler, and every event ends in a recorded outcome; the ones that found the key busy
are re-checked and find it restored."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from driftguard.runtime import Runtime
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, AuditAction, Status
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import AlertTail, Story
from tests.support.events import captured, copy_of, named
from tests.support.state import status_of
from tests.support.waiting import deliveries
from tests.support.writes import policy_writes

POLICY_FUNCTION, RECHECKS = "PolicyEventsFunction", "RecheckFunction"
CONCURRENT = 20


@pytest.mark.usefixtures("fast")
def test_twenty_concurrent_events_for_one_key_make_one_write_and_raise_nothing(
    sandbox: Sandbox,
    story: Story,
    store: StateStore,
    alerts: AlertTail,
    figures: Callable[[str, object], None],
) -> None:
    change = named(captured(sandbox, story.widen_key_policy), "PutKeyPolicy")
    environment = sandbox.specs[POLICY_FUNCTION].environment
    containers = [Runtime.from_env(environ=environment) for _ in range(CONCURRENT)]
    events = [copy_of(change) for _ in range(CONCURRENT)]
    start = threading.Barrier(CONCURRENT)

    def invocation(n: int) -> dict[str, Any]:
        start.wait()
        return containers[n].handle_event(events[n])

    with ThreadPoolExecutor(CONCURRENT) as pool:
        futures = [pool.submit(invocation, n) for n in range(CONCURRENT)]
    errors = [f.exception() for f in futures if f.exception() is not None]
    answers = [f.result() for f in futures if f.exception() is None]
    outcomes = Counter(r["outcome"] for answer in answers for r in answer["results"])
    sandbox.wait_idle()  # the re-checks of the invocations that found the key busy

    writes = policy_writes(sandbox, story.key_arn)
    rechecks = deliveries(sandbox, RECHECKS)
    figures("concurrent events", CONCURRENT)
    figures("writes", len(writes))
    figures("exceptions", len(errors))
    figures("outcomes", dict(outcomes))
    assert errors == []
    assert len(writes) == 1
    assert sum(outcomes.values()) == CONCURRENT  # each event ends in an outcome
    assert outcomes["remediated"] == 1
    assert set(outcomes) <= {"remediated", "in-sync", "deferred"}
    assert len(rechecks) >= outcomes["deferred"]
    assert all(d.ok for d in rechecks)
    assert status_of(store, story.key_arn) is Status.IN_SYNC
    assert story.restored()
    history = [entry.action for entry in store.history(story.key_arn)]
    assert history.count(AuditAction.RESTORED) == 1
    (alert,) = alerts.read()
    assert alert.type is AlertType.RESTORED
