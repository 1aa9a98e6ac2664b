"""At least once, late, in no particular order (CloudTrail and EventBridge promise no
better): a change delivered three times in random order, and a role's DeleteRole
arriving after its CreateRole, each end in the right state with one effect."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, AuditAction, Status
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import AlertTail, Story
from tests.support.events import captured, named
from tests.support.state import status_of
from tests.support.waiting import deliveries
from tests.support.writes import policy_writes


@pytest.mark.usefixtures("fast")
def test_a_change_delivered_three_times_out_of_order_is_restored_once(
    sandbox: Sandbox,
    story: Story,
    store: StateStore,
    alerts: AlertTail,
    figures: Callable[[str, object], None],
) -> None:
    sandbox.unreliable_delivery(duplicates=2, max_delay=30, seed=8)

    story.widen_key_policy()
    sandbox.wait_idle()

    copies = deliveries(sandbox, "PolicyEventsFunction", "PutKeyPolicy")
    writes = policy_writes(sandbox, story.key_arn)
    figures("deliveries of one change", len(copies))
    figures("writes", len(writes))
    assert len(copies) == 3 and all(d.ok for d in copies)
    assert len(writes) == 1
    assert story.restored()
    history = [entry.action for entry in store.history(story.key_arn)]
    assert history.count(AuditAction.RESTORED) == 1
    (alert,) = alerts.read()
    assert alert.type is AlertType.RESTORED and "mallory" in (alert.actor or "")


@pytest.mark.usefixtures("fast")
def test_a_delete_role_arriving_after_its_create_role_ends_restored_with_one_alert(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    def delete_and_recreate() -> None:
        story.delete_pod_role()
        story.recreate_pod_role()

    events = captured(sandbox, delete_and_recreate)
    delete_role, create_role = named(events, "DeleteRole"), named(events, "CreateRole")

    sandbox.emit(create_role)  # the later call's event comes first
    sandbox.wait_idle()
    sandbox.emit(delete_role)
    sandbox.wait_idle()

    assert story.restored()
    for arn in (story.key_arn, story.secret_arn):
        assert status_of(store, arn) is Status.IN_SYNC
        assert len(policy_writes(sandbox, arn)) == 1
    (alert,) = alerts.read()  # the late DeleteRole finds everything in order: quiet
    assert alert.type is AlertType.RESTORED
    assert {r.arn for r in alert.resources} == {story.key_arn, story.secret_arn}


@pytest.mark.usefixtures("fast")
def test_a_role_recreation_delivered_twice_in_random_order_ends_restored(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    sandbox.unreliable_delivery(duplicates=1, max_delay=20, seed=3)

    story.delete_pod_role()
    story.recreate_pod_role()
    sandbox.wait_idle()

    assert story.restored()
    for arn in (story.key_arn, story.secret_arn):
        assert status_of(store, arn) is Status.IN_SYNC
        assert len(policy_writes(sandbox, arn)) == 1
    kinds = [alert.type for alert in alerts.read()]
    assert AlertType.RESTORED in kinds
    assert len(kinds) == len(set(kinds))  # no incident alerted twice
