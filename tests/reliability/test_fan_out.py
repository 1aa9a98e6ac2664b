"""A role event whose fan-out meets a busy resource: the free ones are handled and
alerted now, the event is retried for the rest, and no incident is alerted twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from driftguard.errors import LeaseBusyError
from driftguard.events import parse_cloudtrail
from driftguard.runtime import Runtime
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Status
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, AlertTail, Story
from tests.support.fakes import FakeClock
from tests.support.state import status_of

DELETE_ROLE = Path(__file__).resolve().parents[2] / "events/IamEventsFunction/iam-delete-role.json"


def test_busy_resource_is_retried_without_a_second_alert(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    with sandbox.events_paused():  # the handler is driven by hand below
        story.delete_pod_role()
    runtime = Runtime.from_env(clock=FakeClock(datetime.now(UTC)))  # lease waits take no time
    detail = parse_cloudtrail(json.loads(DELETE_ROLE.read_text()))
    assert detail.request_parameters == {"roleName": "pod-role"}
    owner = store.take_lease(story.secret_arn, 600)

    with pytest.raises(LeaseBusyError, match="testsecret"):
        runtime.remediator.on_role_deleted(detail)

    assert status_of(store, story.key_arn) is Status.ORPHANED_PRINCIPAL
    (first,) = alerts.read()
    assert first.type is AlertType.ORPHANED_PRINCIPAL and first.role_arn == POD_ROLE_ARN
    assert [r.arn for r in first.resources] == [story.key_arn]

    store.release_lease(story.secret_arn, owner)
    runtime.remediator.on_role_deleted(detail)  # the retry

    assert status_of(store, story.secret_arn) is Status.ORPHANED_PRINCIPAL
    (second,) = alerts.read()
    assert [r.arn for r in second.resources] == [story.secret_arn]  # the key is not repeated
