"""Forged events (threat model: anyone who can put events on the hub bus, or a member
forwarding what is not its own). driftguard re-reads live state, so a forged event
cannot choose what is written; these tests hold that it cannot make driftguard act
anywhere either: it is rejected to the dead-letter queue before any call into an account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from driftguard_sandbox.sandbox import Sandbox
from tests.support.events import copy_of

EVENTS = Path(__file__).resolve().parents[2] / "events"
PUT_KEY_POLICY = EVENTS / "PolicyEventsFunction" / "kms-put-key-policy.json"


def forged(**envelope: str) -> dict[str, Any]:
    event = copy_of(json.loads(PUT_KEY_POLICY.read_text(encoding="utf-8")))
    event.update(envelope)
    return event


def test_a_record_forwarded_by_another_account_is_rejected_before_any_call(
    sandbox: Sandbox,
) -> None:
    assumed = sandbox.fail("sts", "AssumeRole", error="AccessDenied")  # counts every attempt
    event = forged(account="111111111111")  # the record says 333333333333 received it

    result = sandbox.invoke("PolicyEventsFunction", event)

    assert result["status"] == "rejected"
    assert "sent by account 111111111111" in result["reason"]
    assert assumed.count == 0  # never went into any account
    (parked,) = sandbox.drain_queue(sandbox.hub.dlq_url)
    assert parked["MessageAttributes"]["reason"]["StringValue"] == result["reason"]


def test_an_event_from_an_account_driftguard_does_not_guard_is_rejected_before_any_call(
    sandbox: Sandbox,
) -> None:
    assert (
        "444455556666"
        not in sandbox.specs["PolicyEventsFunction"].environment["MEMBER_ACCOUNT_IDS"]
    )
    assumed = sandbox.fail("sts", "AssumeRole", error="AccessDenied")
    event = forged(account="444455556666")
    event["detail"]["recipientAccountId"] = "444455556666"
    event["detail"]["resources"] = [
        {
            **event["detail"]["resources"][0],
            "ARN": event["detail"]["resources"][0]["ARN"].replace("333333333333", "444455556666"),
        }
    ]

    result = sandbox.invoke("PolicyEventsFunction", event)

    assert result["status"] == "rejected"
    assert "not one driftguard guards" in result["reason"]
    assert assumed.count == 0
