"""The files in events/ driven through the real handlers on the sandbox.

tests/contract/test_event_routing.py checks where each file is routed; here each
file is given to the function it reaches (or, for files no rule routes, to the
function it is about) and what the handler does with it is checked against the
state table and the dead-letter queue.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from driftguard.state import StateStore
from driftguard_sandbox.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
IAM_FUNCTION, POLICY_FUNCTION, RECONCILER = (
    "IamEventsFunction",
    "PolicyEventsFunction",
    "ReconcilerFunction",
)
# What is wrong with each events/invalid/ file, as the rejection reason must name it.
BAD_FIELDS: dict[str, tuple[str, ...]] = {
    "kms-put-key-policy-malformed.json": ("detail.recipientAccountId", "detail.eventID"),
    # A member forwards only its own trail: a record about another account is forged.
    "kms-put-key-policy-forwarded-from-another-account.json": (
        "sent by account 111111111111",
        "received by 333333333333",
    ),
}

INVALID_FILES = sorted((EVENTS / "invalid").glob("*.json"))
IGNORED_FILES = sorted((EVENTS / "ignored").glob("*.json"))
HANDLED_FILES = sorted(
    [*(EVENTS / IAM_FUNCTION).glob("*.json"), *(EVENTS / POLICY_FUNCTION).glob("*.json")]
)


def file_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def load(path: Path) -> dict[str, Any]:
    event = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(event, dict)
    return event


def store_of(sandbox: Sandbox) -> StateStore:
    return StateStore.for_table(sandbox.hub_session(), sandbox.hub.table_name)


def event_arn(event: dict[str, Any]) -> str:
    (resource,) = event["detail"]["resources"]
    return str(resource["ARN"])


# --------------------------------------------------------------------------- invalid


def test_every_invalid_file_says_what_is_wrong_with_it() -> None:
    assert INVALID_FILES
    assert {path.name for path in INVALID_FILES} == set(BAD_FIELDS)


@pytest.mark.parametrize("path", INVALID_FILES, ids=file_id)
def test_invalid_event_is_rejected_and_parked_on_the_dead_letter_queue(
    sandbox: Sandbox, path: Path
) -> None:
    event = load(path)
    (function,) = sandbox.matching_functions(event)

    result = sandbox.invoke(function, event)

    assert result["status"] == "rejected", result
    for field in BAD_FIELDS[path.name]:
        assert field in result["reason"], f"{field} not named in {result['reason']!r}"
    assert_parked(sandbox, event, result["reason"])


def assert_parked(sandbox: Sandbox, event: dict[str, Any], reason: str) -> None:
    """The raw event waits on the dead-letter queue, with why."""
    messages = sandbox.drain_queue(sandbox.hub.dlq_url)
    assert len(messages) == 1, f"expected the event on the dead-letter queue, found {messages}"
    (message,) = messages
    assert json.loads(message["Body"]) == event
    attributes = message["MessageAttributes"]
    assert attributes["reason"]["StringValue"] == reason
    assert attributes["error"]["StringValue"] == "InvalidEventError"


def test_an_iam_event_that_names_no_role_is_rejected_cleanly(sandbox: Sandbox) -> None:
    event = copy.deepcopy(load(EVENTS / IAM_FUNCTION / "iam-delete-role.json"))
    event["detail"]["requestParameters"] = {}

    result = sandbox.invoke(IAM_FUNCTION, event)

    assert result["status"] == "rejected", result
    assert "roleName" in result["reason"]
    assert_parked(sandbox, event, result["reason"])


def test_a_policy_event_that_names_no_resource_is_rejected_cleanly(sandbox: Sandbox) -> None:
    event = copy.deepcopy(load(EVENTS / POLICY_FUNCTION / "kms-put-key-policy.json"))
    del event["detail"]["resources"]
    del event["detail"]["requestParameters"]["keyId"]
    assert sandbox.matching_functions(event) == [POLICY_FUNCTION]

    result = sandbox.invoke(POLICY_FUNCTION, event)

    assert result["status"] == "rejected", result
    assert "names no kms-key resource" in result["reason"]
    assert_parked(sandbox, event, result["reason"])


# --------------------------------------------------------------------------- ignored


def function_about(event: dict[str, Any]) -> str:
    """The function an ignored event would reach if its rules did not exclude it."""
    return (
        IAM_FUNCTION if event["detail"]["eventSource"] == "iam.amazonaws.com" else POLICY_FUNCTION
    )


@pytest.mark.parametrize("path", IGNORED_FILES, ids=file_id)
def test_ignored_event_invoked_directly_is_still_ignored(sandbox: Sandbox, path: Path) -> None:
    """Defence in depth: the handler ignores what the patterns already keep out."""
    event = load(path)
    assert sandbox.matching_functions(event) == []

    result = sandbox.invoke(function_about(event), event)

    assert result["status"] == "ok", result
    assert result["results"], result
    assert {r["outcome"] for r in result["results"]} == {"ignored"}, result
    error_code = event["detail"].get("errorCode")
    if error_code:
        assert all(error_code in r["reason"] for r in result["results"]), result
    for resource in event["detail"].get("resources") or []:
        assert store_of(sandbox).history(resource["ARN"]) == []
    assert sandbox.drain_queue(sandbox.hub.dlq_url) == []


def test_driftguards_own_put_key_policy_is_ignored_as_its_own(sandbox: Sandbox) -> None:
    event = load(EVENTS / "ignored" / "kms-put-key-policy-by-driftguard.json")
    result = sandbox.invoke(POLICY_FUNCTION, event)
    (outcome,) = result["results"]
    assert outcome["outcome"] == "ignored"
    assert outcome["reason"] == "driftguard's own change"


# --------------------------------------------------------------------------- handled


@pytest.mark.parametrize("path", HANDLED_FILES, ids=file_id)
def test_every_function_event_is_accepted_by_its_handler(sandbox: Sandbox, path: Path) -> None:
    event = load(path)
    result = sandbox.invoke(path.parent.name, event)
    assert result["status"] == "ok", result
    assert all(r["outcome"] != "failed" for r in result["results"]), result
    assert sandbox.drain_queue(sandbox.hub.dlq_url) == []


def test_put_key_policy_for_an_undeclared_key_is_observed_not_acted_on(
    sandbox: Sandbox,
) -> None:
    event = load(EVENTS / POLICY_FUNCTION / "kms-put-key-policy.json")
    arn = event_arn(event)

    assert sandbox.emit(event) == [POLICY_FUNCTION]
    sandbox.wait_idle()

    (delivery,) = sandbox.deliveries
    assert delivery.ok, delivery.error
    (result,) = delivery.result["results"]
    assert (result["outcome"], result["arn"]) == ("undeclared", arn)
    store = store_of(sandbox)
    assert store.get_status(arn) is None
    (entry,) = store.history(arn)
    assert entry.action == "observed-undeclared"
    assert entry.event_id == event["detail"]["eventID"]
    assert entry.actor == event["detail"]["userIdentity"]["arn"]


def test_scheduled_sweep_file_on_an_empty_table_checks_nothing(sandbox: Sandbox) -> None:
    event = load(EVENTS / RECONCILER / "scheduled-sweep.json")
    result = sandbox.invoke(RECONCILER, event)
    assert result == {"status": "ok", "shards": 0, "resources": 0, "paths": 0}
