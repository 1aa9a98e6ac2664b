"""A fight over a widening (someone keeps granting access driftguard keeps taking back)
never ends with the widening in place: quarantine used to stop restoring after three
restores within the window, so a fourth widening stayed for good."""

from __future__ import annotations

from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Severity, Status
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import AlertTail, Story
from tests.support.state import status_of

WIDENINGS = 5  # the threshold (template.yaml: QUARANTINE_THRESHOLD) is 3


def test_every_widening_in_a_fight_is_undone_and_the_fight_is_named(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    assert int(sandbox.specs["PolicyEventsFunction"].environment["QUARANTINE_THRESHOLD"]) < 5
    for n in range(WIDENINGS):
        story.widen_key_policy(account=f"44445555{n:04d}")
        sandbox.wait_idle()
        assert story.restored(), f"widening {n + 1} was left in place"

    assert status_of(store, story.key_arn) is Status.IN_SYNC
    sent = alerts.read()
    assert [a.type for a in sent] == [AlertType.RESTORED] * WIDENINGS
    assert all(a.severity is Severity.CRITICAL for a in sent)
    assert "someone keeps widening it: restored 5 times" in sent[-1].resources[0].reason
