"""Role trust policies as a declared resource kind (role-trust), on the sandbox: adopted
like a key policy, restored on UpdateAssumeRolePolicy in enforce mode and by the sweep,
alerted in detect mode; driftguard's own door is never declared."""

from __future__ import annotations

import json

from driftguard.policy import Policy
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Finding, Status
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, WORKLOAD, AlertTail, Story, irsa_trust_policy
from tests.support.cli import run_cli, run_cli_full


def live_trust(story: Story) -> Policy:
    role = story.iam.get_role(RoleName="pod-role")["Role"]
    return Policy.parse(json.dumps(role["AssumeRolePolicyDocument"]))


def declared_trust() -> Policy:
    return Policy.parse(json.dumps(irsa_trust_policy()))


def adopt(mode: str) -> None:
    code, output = run_cli("adopt", POD_ROLE_ARN, "--mode", mode)
    assert code == 0, output


def test_a_widened_trust_policy_is_restored_in_enforce_mode(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story, alerts: AlertTail
) -> None:
    story = undeclared_story
    adopt("enforce")
    sandbox.wait_idle()
    alerts.read()
    story.widen_trust()
    sandbox.wait_idle()

    assert live_trust(story).semantically_equal(declared_trust())
    restored = [a for a in alerts.read() if a.type is AlertType.RESTORED]
    assert [a.resources[0].arn for a in restored] == [POD_ROLE_ARN]
    assert Finding.WIDENED.value in restored[0].resources[0].findings
    status = store.get_status(POD_ROLE_ARN)
    assert status is not None and status.status is Status.IN_SYNC
    assert (status.kind, status.account, status.region) == ("role-trust", WORKLOAD, "us-east-1")


def test_in_detect_mode_the_widening_is_alerted_and_left(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story, alerts: AlertTail
) -> None:
    story = undeclared_story
    adopt("detect")
    sandbox.wait_idle()
    alerts.read()
    story.widen_trust()
    sandbox.wait_idle()

    assert not live_trust(story).semantically_equal(declared_trust())
    drifted = [a for a in alerts.read() if a.type is AlertType.DRIFT_DETECTED]
    assert [a.resources[0].arn for a in drifted] == [POD_ROLE_ARN]
    status = store.get_status(POD_ROLE_ARN)
    assert status is not None and status.status is Status.DRIFTED


def test_the_sweep_restores_a_trust_policy_whose_event_was_lost(
    sandbox: Sandbox, undeclared_story: Story
) -> None:
    story = undeclared_story
    adopt("enforce")
    sandbox.wait_idle()
    with sandbox.events_paused():
        story.widen_trust()
    assert not live_trust(story).semantically_equal(declared_trust())

    sandbox.sweep()
    assert live_trust(story).semantically_equal(declared_trust())


def test_driftguard_s_own_role_is_never_declared(sandbox: Sandbox) -> None:
    own = f"arn:aws:iam::{WORKLOAD}:role/driftguard-remediation"
    code, _, err = run_cli_full("adopt", own, "--mode", "enforce")
    assert code == 2
    assert "driftguard's remediation role" in err
