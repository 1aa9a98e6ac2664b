"""The calls that break or heal the story's access path, made by people on the sandbox:
the path is re-verified within seconds of each, alerted once when it breaks and once
when it heals, and in enforce mode a key scheduled for deletion or disabled is enabled
again (driftguard.path_watch, through PathEventsFunction as EventBridge delivers it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftguard.alerts import Alert
from driftguard.path_events import FIX_ACTIONS, GATHER_ACTIONS
from driftguard.path_model import PathDeclaration
from driftguard.path_store import PathStore
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Link, Mode
from driftguard_sandbox.router import Delivery
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, AlertTail, Story, key_policy
from tests.support.paths import (
    CLUSTER,
    NAMESPACE,
    PATH_NAME,
    PROVIDER_ARN,
    SERVICE_ACCOUNT,
    check_story_path,
    declare_story_path,
    use_pod_identity,
)

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
PATH_FUNCTION = "PathEventsFunction"
REMEDIATION_ROLE = "driftguard-remediation"
# A re-verify after the call (the whole invocation: gather every link's facts in three
# accounts, record, alert, and in enforce mode the fix and its verification). The issue
# asks for "within seconds"; the sandbox's calls are faster than AWS's (20-50 ms each).
REVERIFY_SECONDS = 5.0


def key_id(story: Story) -> str:
    """moto's ScheduleKeyDeletion, DisableKey and EnableKey take a key id only (KMS takes
    the ARN too)."""
    return story.key_arn.rsplit("/", 1)[-1]


def schedule_key_deletion(story: Story) -> None:
    """Mallory schedules the key for deletion (Story.schedule_key_deletion, by key id)."""
    story.mallory_kms.schedule_key_deletion(KeyId=key_id(story), PendingWindowInDays=7)


def verifies(sandbox: Sandbox, declaration: PathDeclaration) -> bool:
    """The one check, as verify-path runs it: every link holds."""
    return check_story_path(sandbox, declaration).broken is None


@pytest.fixture
def path_in(
    sandbox: Sandbox, store: StateStore, story: Story, alerts: AlertTail
) -> Callable[[Mode], PathDeclaration]:
    def declared(mode: Mode) -> PathDeclaration:
        declaration = declare_story_path(sandbox, store, story, mode=mode)
        sandbox.wait_idle()
        alerts.read()  # what declaring said is not the incident
        sandbox.deliveries.clear()
        return declaration

    return declared


def path_alerts(alerts: AlertTail) -> list[Alert]:
    return [a for a in alerts.read() if a.type in (AlertType.PATH_BROKEN, AlertType.PATH_HEALED)]


def path_deliveries(sandbox: Sandbox) -> list[Delivery]:
    return [d for d in sandbox.deliveries if d.function == PATH_FUNCTION]


def reverify_seconds(sandbox: Sandbox, figures: Callable[[str, object], None], name: str) -> float:
    (delivery,) = path_deliveries(sandbox)
    assert delivery.ok, delivery.error
    took = delivery.finished - delivery.started
    figures(f"path re-verify after {name} (s)", round(took, 3))
    return took


def test_enforce_a_key_scheduled_for_deletion_is_enabled_again_alerted_broken_then_healed(
    sandbox: Sandbox,
    story: Story,
    alerts: AlertTail,
    store: StateStore,
    path_in: Callable[[Mode], PathDeclaration],
    figures: Callable[[str, object], None],
) -> None:
    declaration = path_in(Mode.ENFORCE)
    sandbox.meter.reset()

    schedule_key_deletion(story)
    sandbox.wait_idle()

    assert story.key_state() == "Enabled"
    # What the spoke's remediation role grants for paths is what the watch called.
    called = sandbox.meter.count(lambda call: f":assumed-role/{REMEDIATION_ROLE}/" in call.who)
    assert set(called) <= GATHER_ACTIONS | FIX_ACTIONS, set(called) - GATHER_ACTIONS
    assert called["kms:CancelKeyDeletion"] == called["kms:EnableKey"] == 1
    broken, healed = path_alerts(alerts)
    assert (broken.type, healed.type) == (AlertType.PATH_BROKEN, AlertType.PATH_HEALED)
    assert broken.path is not None and broken.path.broken is Link.KEY_STATE
    assert broken.event_name == healed.event_name == "ScheduleKeyDeletion"
    assert broken.actor is not None and "mallory" in broken.actor
    assert healed.path is not None
    assert healed.path.driftguard_calls == ["CancelKeyDeletion", "EnableKey"]
    status = PathStore(store).status(PATH_NAME)
    assert status is not None and status.ok
    assert verifies(sandbox, declaration)
    assert reverify_seconds(sandbox, figures, "ScheduleKeyDeletion (fixed)") < REVERIFY_SECONDS
    # driftguard's own CancelKeyDeletion and EnableKey reach no function.
    assert [d.function for d in sandbox.deliveries] == [PATH_FUNCTION]


def test_detect_one_broken_alert_nothing_fixed_and_a_replay_adds_nothing(
    sandbox: Sandbox,
    story: Story,
    alerts: AlertTail,
    path_in: Callable[[Mode], PathDeclaration],
    figures: Callable[[str, object], None],
) -> None:
    declaration = path_in(Mode.DETECT)

    schedule_key_deletion(story)
    sandbox.wait_idle()

    assert story.key_state() == "PendingDeletion"
    (broken,) = path_alerts(alerts)
    assert broken.type is AlertType.PATH_BROKEN and broken.path is not None
    assert (broken.path.broken, broken.path.driftguard_calls) == (Link.KEY_STATE, [])
    assert not verifies(sandbox, declaration)
    reverify_seconds(sandbox, figures, "ScheduleKeyDeletion (detect)")

    (delivery,) = path_deliveries(sandbox)
    assert sandbox.emit(delivery.event) == [PATH_FUNCTION]  # EventBridge delivers it again
    sandbox.wait_idle()
    sandbox.invoke(PATH_FUNCTION, delivery.event)  # and Lambda retries it
    assert path_alerts(alerts) == []
    assert story.key_state() == "PendingDeletion"


def test_disabled_then_enabled_by_people_alerts_broken_then_healed_once_each(
    sandbox: Sandbox,
    story: Story,
    alerts: AlertTail,
    path_in: Callable[[Mode], PathDeclaration],
) -> None:
    path_in(Mode.DETECT)

    story.kms.disable_key(KeyId=key_id(story))
    sandbox.wait_idle()
    story.kms.disable_key(KeyId=key_id(story))  # again: the same broken link
    sandbox.wait_idle()
    assert [a.type for a in path_alerts(alerts)] == [AlertType.PATH_BROKEN]

    story.kms.enable_key(KeyId=key_id(story))
    sandbox.wait_idle()
    (healed,) = path_alerts(alerts)
    assert healed.type is AlertType.PATH_HEALED and healed.event_name == "EnableKey"
    assert healed.path is not None and healed.path.driftguard_calls == []


def test_enforce_a_disabled_key_is_enabled_again(
    sandbox: Sandbox, story: Story, alerts: AlertTail, path_in: Callable[[Mode], PathDeclaration]
) -> None:
    path_in(Mode.ENFORCE)

    story.mallory_kms.disable_key(KeyId=key_id(story))
    sandbox.wait_idle()

    assert story.key_state() == "Enabled"
    assert [a.type for a in path_alerts(alerts)] == [AlertType.PATH_BROKEN, AlertType.PATH_HEALED]


@pytest.mark.parametrize("how", ["DeleteRolePolicy", "DetachRolePolicy"])
def test_the_roles_identity_policy_removed_breaks_the_path_at_identity_policy(
    sandbox: Sandbox,
    story: Story,
    alerts: AlertTail,
    path_in: Callable[[Mode], PathDeclaration],
    how: str,
) -> None:
    if how == "DetachRolePolicy":  # the same grant as a managed policy, then detached
        document = story.iam.get_role_policy(RoleName="pod-role", PolicyName="read-testsecret")
        with sandbox.events_paused():
            policy = story.iam.create_policy(
                PolicyName="read-testsecret",
                PolicyDocument=_text(document["PolicyDocument"]),
            )["Policy"]["Arn"]
            story.iam.attach_role_policy(RoleName="pod-role", PolicyArn=policy)
            story.iam.delete_role_policy(RoleName="pod-role", PolicyName="read-testsecret")
    path_in(Mode.ENFORCE)

    if how == "DetachRolePolicy":
        story.iam.detach_role_policy(RoleName="pod-role", PolicyArn=policy)
    else:
        story.iam.delete_role_policy(RoleName="pod-role", PolicyName="read-testsecret")
    sandbox.wait_idle()

    (broken,) = path_alerts(alerts)
    assert broken.type is AlertType.PATH_BROKEN and broken.event_name == how
    assert broken.path is not None and broken.path.broken is Link.IDENTITY_POLICY
    assert broken.path.driftguard_calls == []  # no safe fix for a role's policy


def test_the_oidc_provider_deleted_breaks_the_path_at_binding(
    sandbox: Sandbox, story: Story, alerts: AlertTail, path_in: Callable[[Mode], PathDeclaration]
) -> None:
    path_in(Mode.ENFORCE)

    story.iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=PROVIDER_ARN)
    sandbox.wait_idle()

    (broken,) = path_alerts(alerts)
    assert broken.type is AlertType.PATH_BROKEN
    assert broken.event_name == "DeleteOpenIDConnectProvider"
    assert broken.path is not None and broken.path.broken is Link.BINDING


def test_each_sample_event_is_handled_by_the_path_function(sandbox: Sandbox) -> None:
    """events/PathEventsFunction/*: accepted, nothing parked (no path declared)."""
    samples = sorted((ROOT / "events" / PATH_FUNCTION).glob("*.json"))
    assert samples
    for path in samples:
        result = sandbox.invoke(PATH_FUNCTION, json.loads(path.read_text(encoding="utf-8")))
        assert result == {"status": "ok", "paths": []}, (path.name, result)
    assert sandbox.drain_queue(sandbox.hub.dlq_url) == []


def _text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def narrowed_key_policy() -> str:
    """The story's key policy without the pod role's statement."""
    policy = key_policy()
    policy["Statement"] = [
        s for s in policy["Statement"] if s["Sid"] != "PodRoleDecryptsTestsecret"
    ]
    return json.dumps(policy)


def test_a_key_policy_call_is_followed_by_the_path_watch_after_its_restore(
    sandbox: Sandbox,
    story: Story,
    alerts: AlertTail,
    store: StateStore,
    path_in: Callable[[Mode], PathDeclaration],
) -> None:
    """PolicyEventsFunction restores the declared key policy, then re-verifies the
    paths in the same invocation: the path works, so no path alert, only the restore's."""
    path_in(Mode.ENFORCE)

    story.mallory_kms.put_key_policy(
        KeyId=story.key_arn, PolicyName="default", Policy=narrowed_key_policy()
    )
    sandbox.wait_idle()

    assert story.restored()
    assert [a.type for a in alerts.read()] == [AlertType.RESTORED]
    (delivery,) = sandbox.deliveries
    assert delivery.function == "PolicyEventsFunction"
    assert delivery.result["paths"] == [
        {"path": PATH_NAME, "broken": None, "alerts": [], "fixed": []}
    ]
    status = PathStore(store).status(PATH_NAME)
    assert status is not None and status.ok


def test_an_undeclared_key_narrowed_breaks_the_path_at_key_policy(
    sandbox: Sandbox,
    undeclared_story: Story,
    alerts: AlertTail,
    store: StateStore,
) -> None:
    declare_story_path(sandbox, store, undeclared_story, mode=Mode.ENFORCE)
    sandbox.wait_idle()
    alerts.read()

    undeclared_story.mallory_kms.put_key_policy(
        KeyId=undeclared_story.key_arn, PolicyName="default", Policy=narrowed_key_policy()
    )
    sandbox.wait_idle()

    (broken,) = path_alerts(alerts)
    assert broken.event_name == "PutKeyPolicy"
    assert broken.path is not None and broken.path.broken is Link.KEY_POLICY
    assert broken.path.driftguard_calls == []  # a policy is the kinds' to restore


def test_pod_identity_association_deleted_breaks_at_binding_and_created_heals(
    sandbox: Sandbox, story: Story, alerts: AlertTail, store: StateStore
) -> None:
    association = use_pod_identity(story)
    declare_story_path(sandbox, store, story, mode=Mode.ENFORCE, via="pod-identity")
    sandbox.wait_idle()
    alerts.read()
    eks = story.platform.client("eks")

    eks.delete_pod_identity_association(clusterName=CLUSTER, associationId=association)
    sandbox.wait_idle()
    (broken,) = path_alerts(alerts)
    assert broken.event_name == "DeletePodIdentityAssociation"
    assert broken.path is not None and broken.path.broken is Link.BINDING

    eks.create_pod_identity_association(
        clusterName=CLUSTER,
        namespace=NAMESPACE,
        serviceAccount=SERVICE_ACCOUNT,
        roleArn=POD_ROLE_ARN,
    )
    sandbox.wait_idle()
    (healed,) = path_alerts(alerts)
    assert (healed.type, healed.event_name) == (
        AlertType.PATH_HEALED,
        "CreatePodIdentityAssociation",
    )
