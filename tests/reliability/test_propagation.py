"""IAM is eventually consistent. A recreated role that GetRole (and KMS) cannot see for
5, 30 or 90 seconds is restored within 15 seconds of becoming visible, by scheduled
re-checks and not by the hourly sweep. A role that never comes back is an orphan:
one alert however many sweeps look at it, and never a write."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Status
from driftguard_sandbox.router import Delivery
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import AlertTail, Story
from tests.support.state import status_of
from tests.support.waiting import deliveries, wait_until
from tests.support.writes import policy_writes

RECONCILER = "ReconcilerFunction"
RESTORE_WITHIN = 15.0  # AWS seconds after the role becomes visible
SWEEPS = 10


def in_aws_seconds(sandbox: Sandbox, start: float, end: float, busy: list[Delivery]) -> float:
    """How long [start, end] (real, monotonic) lasts on AWS: waiting runs at the
    sandbox's pace, the functions' own work (deliveries in progress) at real speed."""
    working = sum(
        max(0.0, min(end, d.finished) - max(start, d.started)) for d in busy if d.finished
    )
    return (end - start - working) / sandbox.time.scale + working


@pytest.mark.usefixtures("fast")
@pytest.mark.parametrize("invisible_for", [5, 30, 90])
def test_a_recreated_role_is_restored_soon_after_it_becomes_visible(
    sandbox: Sandbox,
    story: Story,
    store: StateStore,
    alerts: AlertTail,
    figures: Callable[[str, object], None],
    invisible_for: int,
) -> None:
    story.delete_pod_role()
    sandbox.wait_idle()
    assert [a.type for a in alerts.read()] == [AlertType.ORPHANED_PRINCIPAL]
    sandbox.getrole_delay = invisible_for  # GetRole answers NoSuchEntity
    sandbox.propagation_delay = invisible_for  # and KMS refuses the role as a principal

    story.recreate_pod_role()
    visible_at = time.monotonic() + sandbox.time.real(invisible_for)
    wait_until(story.restored, timeout=60)
    restored_at = time.monotonic()
    sandbox.wait_idle()

    after_visible = in_aws_seconds(sandbox, visible_at, restored_at, sandbox.deliveries)
    figures(f"restored after visible ({invisible_for} s invisible), AWS s", round(after_visible, 1))
    assert after_visible <= RESTORE_WITHIN
    assert deliveries(sandbox, RECONCILER) == []  # not the sweep
    for arn in (story.key_arn, story.secret_arn):
        assert status_of(store, arn) is Status.IN_SYNC
        assert len(policy_writes(sandbox, arn)) == 1
    # Waiting for propagation is no incident of its own; each resource's restore is
    # alerted once (together, unless AWS let one through earlier than the other).
    sent = alerts.read()
    assert {alert.type for alert in sent} == {AlertType.RESTORED}
    restored = sorted(r.arn for alert in sent for r in alert.resources)
    assert restored == sorted([story.key_arn, story.secret_arn])


@pytest.mark.usefixtures("fast")
@pytest.mark.parametrize("rewrite_after", [0, 30])
def test_a_role_never_recreated_is_one_orphan_alert_and_no_write(
    sandbox: Sandbox,
    story: Story,
    store: StateStore,
    alerts: AlertTail,
    figures: Callable[[str, object], None],
    rewrite_after: int,
) -> None:
    # With a delay, the DeleteRole event is handled while the policies still show
    # the role's ARN: the role is looked up, not taken on the policies' word.
    sandbox.rewrite_delay = rewrite_after

    story.delete_pod_role()
    sandbox.wait_idle()
    for _ in range(SWEEPS):
        sandbox.sweep()
        time.sleep(sandbox.time.real(rewrite_after / SWEEPS))  # the rewrite comes midway
    sandbox.wait_idle()

    sent = alerts.read()
    attempts = policy_writes(sandbox, attempts=True)
    figures(f"alerts over {SWEEPS} sweeps (rewrite after {rewrite_after} s)", len(sent))
    figures(f"put attempts (rewrite after {rewrite_after} s)", len(attempts))
    assert [a.type for a in sent] == [AlertType.ORPHANED_PRINCIPAL]
    assert {r.arn for r in sent[0].resources} == {story.key_arn, story.secret_arn}
    assert attempts == []
    for arn in (story.key_arn, story.secret_arn):
        assert status_of(store, arn) is Status.ORPHANED_PRINCIPAL
