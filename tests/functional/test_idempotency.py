"""A CloudTrail event delivered twice (same eventID) is handled once: a policy event by
the lease of its resource, an IAM event by Powertools' idempotency records."""

from __future__ import annotations

import io

from driftguard_cli import main as cli
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import Story


def test_a_redelivered_event_gets_the_first_answer(sandbox: Sandbox) -> None:
    story = Story.create(sandbox)
    assert cli.main(["adopt", story.key_arn], out=io.StringIO()) == cli.EXIT_OK
    story.widen_key_policy()
    sandbox.wait_idle()
    assert story.restored()
    (widening,) = [
        d
        for d in sandbox.deliveries
        if d.event.get("detail", {}).get("eventName") == "PutKeyPolicy"
    ]

    # Widened again without a new event, then the old event arrives a second time.
    with sandbox.events_paused():
        story.widen_key_policy()
    sandbox.emit(widening.event)
    sandbox.wait_idle()

    redelivered = sandbox.deliveries[-1]
    assert redelivered.event["detail"]["eventID"] == widening.event["detail"]["eventID"]
    # The key's lease remembers the event it handled: no second run.
    assert redelivered.result == {
        "status": "ok",
        "results": [
            {
                "arn": story.key_arn,
                "outcome": "ignored",
                "status": None,
                "reason": f"event {widening.event['detail']['eventID']} handled already "
                "(redelivered)",
            }
        ],
    }
    assert not story.restored()  # only the sweep may act on the second, silent change
    sandbox.sweep()
    assert story.restored()
