"""What happens when things go wrong: a crashing handler, a busy resource, a
declared state that was tampered with or can never be applied. Nothing is lost,
nothing is overwritten with bad data, and nobody is alerted twice."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from driftguard import kinds
from driftguard.decision import Decision
from driftguard.errors import LeaseBusyError
from driftguard.model import Trigger
from driftguard.policy import Policy
from driftguard.runtime import Runtime
from driftguard.service import LEASE_WAIT_SECONDS
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Outcome, Status, TriggerKind
from driftguard_cli.main import EXIT_USAGE
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, WORKLOAD, AlertTail, Story, key_policy
from driftguard_sandbox.template import FunctionSpec
from tests.support.cli import run_cli
from tests.support.fakes import FakeClock
from tests.support.state import set_declared

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
POLICY_FUNCTION, RECONCILER = "PolicyEventsFunction", "ReconcilerFunction"
ASYNC_ATTEMPTS = 3  # EventBridge -> Lambda asynchronous invocation: 1 try + 2 retries
ORPHAN_ID = "AROAZZZZZZZZZZZZZZZZZ"  # the unique ID of a role that no longer exists


def load(path: Path) -> dict[str, Any]:
    event = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(event, dict)
    return event


# --------------------------------------------------------------------------- delivery


@pytest.mark.parametrize(
    "event_file",
    [
        "kms-put-key-policy.json",  # hub account: the hub's default bus
        "secretsmanager-put-resource-policy.json",  # member account: the hub bus
    ],
)
def test_a_crashing_handler_is_retried_then_dead_lettered(
    sandbox: Sandbox, event_file: str
) -> None:
    real = sandbox.invoker
    attempts: list[str] = []

    def crashing(spec: FunctionSpec, event: dict[str, Any]) -> Any:
        if spec.logical_id == POLICY_FUNCTION:
            attempts.append(event["id"])
            raise RuntimeError("handler crashed: out of memory")
        return real(spec, event)

    sandbox.invoker = crashing
    event = load(EVENTS / POLICY_FUNCTION / event_file)

    assert sandbox.emit(event) == [POLICY_FUNCTION]
    sandbox.wait_idle()

    assert attempts == [event["id"]] * ASYNC_ATTEMPTS
    (delivery,) = sandbox.deliveries
    assert (delivery.attempts, delivery.dead_lettered, delivery.ok) == (ASYNC_ATTEMPTS, True, False)
    # Nothing lost: the event itself waits on the function's dead-letter queue, with
    # the attributes Lambda gives a failed asynchronous invocation.
    (message,) = sandbox.drain_queue(sandbox.hub.dlq_url)
    assert json.loads(message["Body"]) == event
    attributes = {name: a["StringValue"] for name, a in message["MessageAttributes"].items()}
    assert attributes["ErrorMessage"] == "RuntimeError: handler crashed: out of memory"
    assert attributes["RequestID"]


# --------------------------------------------------------------------------- lease


def test_a_held_lease_makes_check_give_up_without_acting(
    sandbox: Sandbox, story: Story, store: StateStore
) -> None:
    with sandbox.events_paused():
        story.widen_key_policy()
    widened = story.live_key_policy()
    holder = store.take_lease(story.key_arn, 600)
    clock = FakeClock(datetime.now(UTC))
    remediator = Runtime.from_env(clock=clock).remediator
    trigger = Trigger(kind=TriggerKind.SWEEP)
    target = kinds.target(story.key_arn)

    with pytest.raises(LeaseBusyError):
        remediator.check(target, trigger, remediator.lookup())
    # It waited a little for the holder (on the injected clock), not for the lease to expire.
    assert 0 < sum(clock.sleeps) <= LEASE_WAIT_SECONDS

    assert story.live_key_policy() == widened  # untouched
    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.IN_SYNC  # nothing recorded
    lease = (
        sandbox.hub_session()
        .client("dynamodb")
        .get_item(
            TableName=sandbox.hub.table_name,
            Key={"pk": {"S": f"RES#{story.key_arn}"}, "sk": {"S": "LEASE"}},
            ConsistentRead=True,
        )["Item"]
    )
    assert lease["owner"]["S"] == holder  # the holder's lease was not released by the loser

    # Only the lease stood in the way: once released, the same check restores it.
    store.release_lease(story.key_arn, holder)
    decision = remediator.check(target, trigger, remediator.lookup())
    assert isinstance(decision, Decision) and decision.outcome is Outcome.REMEDIATED
    assert story.restored()


# --------------------------------------------------------------------------- declared state


def test_a_tampered_declaration_is_an_error_and_never_applied(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    tampered = key_policy()
    tampered["Statement"].append(
        {
            "Sid": "Backdoor",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{WORKLOAD}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    tampered_text = json.dumps(tampered)
    set_declared(sandbox, story.key_arn, policy=tampered_text)  # digest left as it was
    live_before = story.live_key_policy()

    result = sandbox.run_schedule(RECONCILER)

    assert result["outcomes"] == {"failed": 1, "in-sync": 1}
    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.ERROR
    assert "digest" in record.reason and "declare it again" in record.reason
    live = story.live_key_policy()
    assert live == live_before
    assert not Policy.parse(live).semantically_equal(Policy.parse(tampered_text))
    (alert,) = alerts.read()
    assert alert.type is AlertType.INVALID_DECLARATION


def test_a_declared_orphaned_unique_id_is_an_error_alerted_once(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail, tmp_path: Path
) -> None:
    orphaned = json.loads(json.dumps(key_policy()).replace(POD_ROLE_ARN, ORPHAN_ID))
    orphaned_text = json.dumps(orphaned)
    assert ORPHAN_ID in Policy.parse(orphaned_text).unique_id_principals()
    policy_file = tmp_path / "orphaned.json"
    policy_file.write_text(orphaned_text)
    code, _ = run_cli("declare", story.key_arn, "--policy-file", str(policy_file))
    assert code == EXIT_USAGE, "the CLI must refuse a policy naming a unique ID"
    # So it is put straight into the table, with a digest that matches.
    digest = hashlib.sha256(orphaned_text.encode("utf-8")).hexdigest()
    set_declared(sandbox, story.key_arn, policy=orphaned_text, digest=digest)
    live_before = story.live_key_policy()

    first = sandbox.run_schedule(RECONCILER)

    assert first["outcomes"] == {"failed": 1, "in-sync": 1}
    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.ERROR
    assert ORPHAN_ID in record.reason
    (alert,) = alerts.read()
    assert alert.type is AlertType.INVALID_DECLARATION
    (resource,) = alert.resources
    assert ORPHAN_ID in resource.reason

    second = sandbox.run_schedule(RECONCILER)

    assert second["outcomes"] == {"failed": 1, "in-sync": 1}
    assert alerts.read() == []  # the same incident is not alerted twice
    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.ERROR
    assert story.live_key_policy() == live_before
