"""The reconciler sweeps declared access paths too: a path broken while its event was
lost is found by the next sweep, alerted once, and in enforce mode its key put right;
a sweep that finds nothing new says nothing. Access beside the path (a grant on its
key) is said once, with who may now use the key."""

from __future__ import annotations

from driftguard.path_store import PathStore
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Link, Mode
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import AlertTail, Story
from tests.support.paths import PATH_NAME, declare_story_path


def path_alerts(alerts: AlertTail) -> list[tuple[AlertType, str]]:
    return [(a.type, a.summary) for a in alerts.read() if a.path is not None]


def test_a_path_broken_while_its_event_was_lost_is_found_by_the_sweep(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story, alerts: AlertTail
) -> None:
    story = undeclared_story
    declare_story_path(sandbox, store, story, mode=Mode.DETECT)
    planned = sandbox.sweep()
    assert planned["paths"] == 1
    assert path_alerts(alerts) == []  # it works: nothing to say
    with sandbox.events_paused():  # the DisableKey event is lost
        story.kms.disable_key(KeyId=story.key_id)

    sandbox.sweep()
    ((kind, summary),) = path_alerts(alerts)
    assert kind is AlertType.PATH_BROKEN and "found by the sweep" in summary
    status = PathStore(store).status(PATH_NAME)
    assert status is not None and status.broken is Link.KEY_STATE
    assert story.key_state() == "Disabled"  # detect mode: nothing put right

    sandbox.sweep()
    assert path_alerts(alerts) == []  # still broken, already said


def test_in_enforce_mode_the_sweep_puts_a_disabled_key_right(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story, alerts: AlertTail
) -> None:
    story = undeclared_story
    declare_story_path(sandbox, store, story, mode=Mode.ENFORCE)
    with sandbox.events_paused():
        story.kms.schedule_key_deletion(KeyId=story.key_id, PendingWindowInDays=7)

    sandbox.sweep()
    assert [kind for kind, _ in path_alerts(alerts)] == [
        AlertType.PATH_BROKEN,
        AlertType.PATH_HEALED,
    ]
    assert story.key_state() == "Enabled"
    status = PathStore(store).status(PATH_NAME)
    assert status is not None and status.ok


def test_a_grant_on_the_path_s_key_is_alerted_once_with_the_grantee(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story, alerts: AlertTail
) -> None:
    story = undeclared_story
    declare_story_path(sandbox, store, story, mode=Mode.ENFORCE)
    outsider = "arn:aws:iam::444455556666:root"
    grant_id = story.mallory_kms.create_grant(
        KeyId=story.key_arn, GranteePrincipal=outsider, Operations=["Decrypt"]
    )["GrantId"]
    sandbox.wait_idle()

    (alert,) = [a for a in alerts.read() if a.type is AlertType.KEY_GRANT_CREATED]
    reason = alert.resources[0].reason
    assert outsider in reason and "Decrypt" in reason and grant_id in reason
    assert "Developer/mallory" in (alert.actor or "")
    assert story.key_state() == "Enabled"  # a grant breaks no link: nothing else said
    assert path_alerts(alerts) == []
