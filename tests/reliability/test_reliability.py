"""What happens when things go wrong: a crashing handler, a busy resource, a
declared state that was tampered with or can never be applied. Nothing is lost,
nothing is overwritten with bad data, and nobody is alerted twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftguard.policy import Policy
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Severity, Status
from driftguard_cli.main import EXIT_USAGE
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, WORKLOAD, AlertTail, Story, key_policy
from driftguard_sandbox.template import FunctionSpec
from tests.support.cli import run_cli
from tests.support.state import set_declared
from tests.support.waiting import deliveries, wait_for_delivery

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
POLICY_FUNCTION, RECONCILER = "PolicyEventsFunction", "ReconcilerFunction"
RECHECKS = "RecheckFunction"
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


@pytest.mark.usefixtures("fast")
def test_an_event_for_a_resource_another_invocation_holds_is_re_checked_not_raised(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    holder = store.take_lease(story.key_arn, 600)  # another invocation, busy with the key
    story.widen_key_policy()
    delivery = wait_for_delivery(sandbox, POLICY_FUNCTION, "PutKeyPolicy")

    assert delivery.ok and delivery.attempts == 1  # no error out of the handler
    assert delivery.result["results"][0]["outcome"] == "deferred"
    assert not story.restored()  # the holder's lease was respected

    store.release_lease(story.key_arn, holder)
    sandbox.wait_idle()  # the scheduled re-check

    assert story.restored()
    # The declarations' own checks came first, when the story declared them.
    # A re-check that still found the lease held (released after it was scheduled, on
    # a busy machine) is deferred once more: each is handled, none raises.
    rechecks = [d for d in deliveries(sandbox, RECHECKS) if "PutKeyPolicy" in json.dumps(d.event)]
    assert rechecks and all(recheck.ok for recheck in rechecks)
    (alert,) = alerts.read()
    assert alert.type is AlertType.RESTORED and "mallory" in (alert.actor or "")


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
    set_declared(sandbox, story.key_arn, policy=tampered_text)  # not signed again
    sandbox.wait_idle()  # the declarations watcher has it checked at once
    live_before = story.live_key_policy()

    sandbox.sweep()

    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.ERROR
    assert "signature" in record.reason and "does not verify" in record.reason
    live = story.live_key_policy()
    assert live == live_before
    assert not Policy.parse(live).semantically_equal(Policy.parse(tampered_text))
    (alert,) = alerts.read()  # one alert, though both the re-check and the sweep refused it
    assert alert.type is AlertType.DECLARATION_REFUSED and alert.severity is Severity.CRITICAL


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
    # So it is put straight into the table and signed, as the declarer role could with
    # a tool of its own: the signature is no judge of what is declared, the check is.
    set_declared(sandbox, story.key_arn, sign=True, policy=orphaned_text)
    sandbox.wait_idle()  # the watcher alerts the change and has it checked at once
    live_before = story.live_key_policy()

    sandbox.sweep()

    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.ERROR
    assert ORPHAN_ID in record.reason
    changed, alert = sorted(alerts.read(), key=lambda a: a.type.rank, reverse=True)
    assert changed.type is AlertType.DECLARATION_CHANGED
    assert alert.type is AlertType.INVALID_DECLARATION
    (resource,) = alert.resources
    assert ORPHAN_ID in resource.reason

    sandbox.sweep()

    assert alerts.read() == []  # the same incident is not alerted twice
    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.ERROR
    assert story.live_key_policy() == live_before
