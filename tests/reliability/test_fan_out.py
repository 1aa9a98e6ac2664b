"""A role event whose fan-out meets a busy resource: the free ones are handled and
alerted now, the busy one is re-checked on its own (no error out of the handler), and
no incident is alerted twice."""

from __future__ import annotations

import pytest

from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Status
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, AlertTail, Story
from tests.support.state import status_of
from tests.support.waiting import wait_for_delivery

IAM_FUNCTION = "IamEventsFunction"


@pytest.mark.usefixtures("fast")
def test_a_busy_resource_is_re_checked_without_a_second_alert(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    owner = store.take_lease(story.secret_arn, 600)  # another invocation has the secret
    story.delete_pod_role()
    delivery = wait_for_delivery(sandbox, IAM_FUNCTION, "DeleteRole")

    assert delivery.ok and delivery.attempts == 1  # no error: contention is not a failure
    outcomes = {r["arn"]: r["outcome"] for r in delivery.result["results"]}
    assert outcomes == {story.key_arn: "orphaned-principal", story.secret_arn: "deferred"}
    (first,) = alerts.read()
    assert first.type is AlertType.ORPHANED_PRINCIPAL and first.role_arn == POD_ROLE_ARN
    assert [r.arn for r in first.resources] == [story.key_arn]

    store.release_lease(story.secret_arn, owner)
    sandbox.wait_idle()  # the secret's re-check

    assert status_of(store, story.secret_arn) is Status.ORPHANED_PRINCIPAL
    (second,) = alerts.read()
    assert [r.arn for r in second.resources] == [story.secret_arn]  # the key is not repeated
    assert second.event_name == "DeleteRole"  # still what started it
