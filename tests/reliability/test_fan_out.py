"""A role event whose fan-out meets a busy resource: the free ones are handled and
alerted now, the event is retried for the rest, and no incident is alerted twice."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from driftguard_cli import main as cli
from driftguard.alerts import AlertType
from driftguard_sandbox.story import POD_ROLE_ARN, AlertTail, Story
from driftguard.errors import LeaseBusyError
from driftguard.model import Status
from driftguard.runtime import Runtime, parse_cloudtrail
from driftguard_sandbox import Sandbox

DELETE_ROLE = Path(__file__).resolve().parents[2] / "events/IamEventsFunction/iam-delete-role.json"


def test_busy_resource_is_retried_without_a_second_alert(sandbox: Sandbox) -> None:
    story = Story.create(sandbox)
    for arn in (story.key_arn, story.secret_arn):
        assert cli.main(["adopt", arn], out=io.StringIO()) == cli.EXIT_OK
    alerts = AlertTail(sandbox)
    with sandbox.events_paused():  # the handler is driven by hand below
        story.delete_pod_role()
    runtime = Runtime.from_env()
    detail = parse_cloudtrail(json.loads(DELETE_ROLE.read_text()))
    assert detail.request_parameters == {"roleName": "pod-role"}
    owner = runtime.store.acquire_lease(story.secret_arn, 600)

    with pytest.raises(LeaseBusyError, match="testsecret"):
        runtime.remediator.on_role_deleted(detail)

    key = runtime.store.get_status(story.key_arn)
    assert key is not None and key.status is Status.ORPHANED_PRINCIPAL
    (first,) = alerts.read()
    assert first.type is AlertType.ORPHANED_PRINCIPAL and first.role_arn == POD_ROLE_ARN
    assert [r.arn for r in first.resources] == [story.key_arn]

    runtime.store.release_lease(story.secret_arn, owner)
    runtime.remediator.on_role_deleted(detail)  # the retry

    secret = runtime.store.get_status(story.secret_arn)
    assert secret is not None and secret.status is Status.ORPHANED_PRINCIPAL
    (second,) = alerts.read()
    assert [r.arn for r in second.resources] == [story.secret_arn]  # the key is not repeated
