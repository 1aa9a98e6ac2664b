"""One resource that fails on every call never stops the others: in a sweep and in a
role event's fan-out, every other resource still ends in its right state, and the
failing one ends in a clear status (or is looked at again) instead of taking the
invocation down with it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Status
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import AlertTail, Story
from tests.support.fleet import Fleet, build_fleet, key_ids
from tests.support.state import status_of
from tests.support.waiting import deliveries, wait_for_delivery, wait_until
from tests.support.writes import policy_writes

RECONCILER, IAM_FUNCTION = "ReconcilerFunction", "IamEventsFunction"


@pytest.fixture
def fleet(sandbox: Sandbox, story: Story, alerts: AlertTail) -> Fleet:
    fleet = build_fleet(sandbox, story)
    alerts.read()  # each declaration's own alert: set-up, not what is tested
    return fleet


@pytest.mark.usefixtures("fast")
def test_a_key_nobody_may_read_does_not_stop_the_sweep(
    sandbox: Sandbox,
    fleet: Fleet,
    store: StateStore,
    alerts: AlertTail,
    figures: Callable[[str, object], None],
) -> None:
    with sandbox.events_paused():  # only the sweep sees these changes
        for arn in [*fleet.enforced, *fleet.detected]:
            fleet.widen(arn)
    broken = fleet.enforced[2]  # a key: its policy denies driftguard everything
    (key_id,) = key_ids([broken])
    fault = sandbox.fail("kms", "*", error="AccessDeniedException", resource=key_id)

    sandbox.sweep()
    sandbox.sweep()  # the next hour's sweep: nothing new to say
    sandbox.wait_idle()

    figures("calls refused (sweep)", fault.count)
    assert fault.count >= 2
    healthy = [arn for arn in fleet.enforced if arn != broken]
    assert all(fleet.as_declared(arn) for arn in healthy)
    assert all(status_of(store, arn) is Status.IN_SYNC for arn in healthy)
    assert status_of(store, broken) is Status.ERROR
    assert "AccessDeniedException" in (store.get_status(broken) or pytest.fail()).reason
    assert not any(fleet.as_declared(arn) for arn in fleet.detected)  # seen, never written
    assert all(status_of(store, arn) is Status.DRIFTED for arn in fleet.detected)
    assert policy_writes(sandbox, broken, attempts=True) == []
    failed = [a for a in alerts.read() if a.type is AlertType.CHECK_FAILED]
    assert [[r.arn for r in alert.resources] for alert in failed] == [[broken]]


@pytest.mark.usefixtures("fast")
def test_a_resource_whose_state_is_throttled_does_not_stop_the_fan_out(
    sandbox: Sandbox,
    fleet: Fleet,
    store: StateStore,
    alerts: AlertTail,
    figures: Callable[[str, object], None],
) -> None:
    with sandbox.events_paused():  # the role goes; nobody is told (a missed event)
        fleet.story.delete_pod_role()
    broken = fleet.enforced[3]  # a secret whose state DynamoDB keeps throttling
    fault = sandbox.fail("dynamodb", "*", resource=broken)

    before = len(deliveries(sandbox, IAM_FUNCTION, "CreateRole"))  # the story's own
    fleet.story.recreate_pod_role()
    wait_until(lambda: len(deliveries(sandbox, IAM_FUNCTION, "CreateRole")) > before)
    delivery = deliveries(sandbox, IAM_FUNCTION, "CreateRole")[before]

    assert delivery.ok and delivery.attempts == 1  # the invocation itself did not fail
    outcomes = {r["arn"]: r["outcome"] for r in delivery.result["results"]}
    assert outcomes[broken] == "failed"
    healthy = [arn for arn in fleet.enforced if arn != broken]
    assert all(outcomes[arn] == "remediated" for arn in healthy)
    assert all(fleet.as_declared(arn) for arn in healthy)
    assert not fleet.as_declared(broken)

    figures("calls refused (fan-out)", fault.count)
    sandbox.clear_faults()  # DynamoDB recovers: the scheduled re-check finishes the job
    sandbox.wait_idle()
    assert fleet.as_declared(broken)
    assert all(status_of(store, arn) is Status.IN_SYNC for arn in fleet.enforced)
    assert all(len(policy_writes(sandbox, arn)) == 1 for arn in fleet.enforced)
    assert all(policy_writes(sandbox, arn) == [] for arn in fleet.detected)
    assert all(status_of(store, arn) is Status.ORPHANED_PRINCIPAL for arn in fleet.detected)
    listed = Counter(r.arn for a in alerts.read() for r in a.resources)
    assert listed == Counter(fleet.enforced + fleet.detected)  # each resource alerted once


@pytest.mark.usefixtures("fast")
def test_an_idempotency_record_that_cannot_be_saved_does_not_fail_the_event(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    # The IAM events function keeps Powertools' idempotency records (a fan-out has no
    # one lease to fold them into). Every attempt (botocore's 6 retries too) to mark
    # the event done is throttled.
    saving = sandbox.fail(
        "dynamodb", "UpdateItem", resource="IDEMPOTENCY#driftguard-IamEventsFunction"
    )
    story.delete_pod_role()
    delivery = wait_for_delivery(sandbox, "IamEventsFunction", "DeleteRole")

    assert saving.count >= 1
    assert delivery.ok and delivery.attempts == 1  # no error, no retry, no dead letter
    assert [r["outcome"] for r in delivery.result["results"]] == ["orphaned-principal"] * 2
    assert status_of(store, story.key_arn) is Status.ORPHANED_PRINCIPAL
    assert [a.type for a in alerts.read()] == [AlertType.ORPHANED_PRINCIPAL]
