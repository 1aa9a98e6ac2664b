"""The deployed handlers fuzzed with random and mutated real events: every one ends in
a result or a clean rejection parked on the dead-letter queue with its reason, never
in an exception out of the handler (which Lambda would retry and count as an error)."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from driftguard_sandbox.sandbox import Sandbox
from tests.support.mutations import JSON_VALUES, a_recheck, mutated, real_events

pytestmark = pytest.mark.heavy(8)

EVENT_FUNCTIONS = ("IamEventsFunction", "PolicyEventsFunction")
RECHECKS = "RecheckFunction"
# Each example is a real invocation against moto's server: fewer than the unit fuzzing.
SANDBOX_FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


CREATE_ROLE = next(
    e for e in real_events("IamEventsFunction") if e["detail"]["eventName"] == "CreateRole"
)
PUT_EVENT_SELECTORS = next(
    e for e in real_events("IamEventsFunction") if e["detail"]["eventName"] == "PutEventSelectors"
)
PUT_KEY_POLICY = next(
    e for e in real_events("PolicyEventsFunction") if e["detail"]["eventName"] == "PutKeyPolicy"
)


def with_change(event: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of `event` with the value at `path` replaced: inputs that broke things before."""
    changed = copy.deepcopy(event)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return changed


def parked(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.drain_queue(sandbox.hub.dlq_url)


@SANDBOX_FUZZ
@given(
    event=mutated(real_events("IamEventsFunction", "PolicyEventsFunction", "ignored", "invalid"))
)
@example(event=with_change(CREATE_ROLE, ("detail", "responseElements", "role"), "x"))
@example(  # a 100 KB region made a safeguard alert too long for SNS
    event=with_change(PUT_EVENT_SELECTORS, ("detail", "awsRegion"), "A" * 100_000)
)
@example(event=with_change(PUT_KEY_POLICY, ("detail", "requestParameters", "keyId"), "k" * 100_000))
@example(
    event=with_change(CREATE_ROLE, ("detail", "responseElements", "role", "roleId"), "r" * 100_000)
)
@example(  # a bare key id, and a caller ARN with no partition to build its ARN with
    event=with_change(
        with_change(PUT_KEY_POLICY, ("detail", "resources"), []),
        ("detail", "userIdentity", "arn"),
        "x",
    )
)
def test_event_handlers_answer_a_result_or_park_the_event(sandbox: Sandbox, event: Any) -> None:
    if isinstance(event, dict) and isinstance(event.get("detail"), dict):
        # Fresh each run, shrinking included: a repeated eventID gets its first answer.
        event["detail"]["eventID"] = str(uuid.uuid4())
    for function in EVENT_FUNCTIONS:
        answer = sandbox.invoke(function, event)  # a handler error would raise

        assert answer["status"] in {"ok", "ignored", "rejected"}, answer
        messages = parked(sandbox)
        if answer["status"] == "rejected":
            (message,) = messages  # nothing lost: the event itself, with the reason
            attributes = message["MessageAttributes"]
            assert attributes["reason"]["StringValue"] == answer["reason"][:1000]
            if "truncated" in attributes:  # over what SQS takes: its start, still JSON
                kept = json.loads(message["Body"])
                assert json.dumps(event).startswith(kept["truncatedEvent"])
                assert kept["bytes"] == int(attributes["truncated"]["StringValue"])
            else:
                assert json.loads(message["Body"]) == event
        else:
            assert messages == []


def sqs_event(body: str) -> dict[str, Any]:
    """What Lambda's SQS event source hands the re-check function."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "handle",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764579600000",
                    "SenderId": "AROAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1764579600000",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:333333333333:driftguard-RecheckQueue",
                "awsRegion": "us-east-1",
            }
        ]
    }


@SANDBOX_FUZZ
@given(body=mutated([a_recheck()]) | JSON_VALUES | st.text(max_size=100))
@example(body={**a_recheck(), "arns": ["x"]})  # parses, but names no resource
@example(body={**a_recheck(), "arns": ["arn:aws:s3:::bucket"]})  # no such kind
def test_the_recheck_handler_checks_or_parks_every_message(sandbox: Sandbox, body: Any) -> None:
    text = body if isinstance(body, str) else json.dumps(body)

    answer = sandbox.invoke(RECHECKS, sqs_event(text))

    # A message that is not a re-check is parked, not handed back to the queue to
    # fail five more times; a valid one for a key that does not exist is done.
    assert answer == {"batchItemFailures": []}
    for message in parked(sandbox):
        kept = json.loads(message["Body"])  # always JSON, even cut to what SQS takes
        if "truncated" in message["MessageAttributes"]:
            assert kept["bytes"] > len(text) and kept["truncatedEvent"].startswith("{")
        else:
            assert kept["body"] == text
