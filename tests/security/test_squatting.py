"""Role-name squatting: once pod-role is deleted, anyone in the workload account who may
create roles could create a `pod-role` trusted by anything, and driftguard re-granted it
the declared cross-account Decrypt and GetSecretValue within seconds. A name is not an
identity: a recreated role regains declared access only with the trust policy recorded
when it was declared, or once the team approves it."""

from __future__ import annotations

import json

from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Severity, Status
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, AlertTail, Story, irsa_trust_policy
from tests.support.cli import run_cli
from tests.support.state import status_of
from tests.support.writes import policy_writes

SQUATTER = "arn:aws:iam::444455556666:root"


def squat(story: Story) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": SQUATTER}, "Action": "sts:AssumeRole"}
        ],
    }
    story.iam.create_role(RoleName="pod-role", AssumeRolePolicyDocument=json.dumps(trust))


def test_a_role_recreated_with_another_trust_policy_is_held_until_approved(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    story.delete_pod_role()
    sandbox.wait_idle()
    assert [a.type for a in alerts.read()] == [AlertType.ORPHANED_PRINCIPAL]

    squat(story)
    sandbox.wait_idle()
    sandbox.sweep()  # nor does the sweep give it access

    for arn in (story.key_arn, story.secret_arn):
        assert status_of(store, arn) is Status.ORPHANED_PRINCIPAL
        assert policy_writes(sandbox, arn) == []
    (held,) = alerts.read()  # one alert for both resources, showing the difference
    assert held.type is AlertType.ORPHANED_PRINCIPAL and held.severity is Severity.HIGH
    reason = held.resources[0].reason
    assert "differs from the approved one" in reason and SQUATTER in reason
    assert f"driftguard approve-principal {POD_ROLE_ARN}" in reason
    assert {r.arn for r in held.resources} == {story.key_arn, story.secret_arn}

    code, output = run_cli("approve-principal", POD_ROLE_ARN)  # the team decides it is theirs
    assert code == 0, output
    trust = store.get_trust(POD_ROLE_ARN)
    assert trust is not None and SQUATTER in trust.policy and trust.recorded_by
    sandbox.sweep()
    assert story.restored()


def test_a_role_recreated_with_its_recorded_trust_policy_is_restored(
    sandbox: Sandbox, story: Story, store: StateStore
) -> None:
    story.delete_pod_role()
    sandbox.wait_idle()
    story.recreate_pod_role()  # as the platform team would: the same IRSA trust
    sandbox.wait_idle()
    assert story.restored()
    recorded = store.get_trust(POD_ROLE_ARN)
    assert recorded is not None
    assert json.loads(recorded.policy) == irsa_trust_policy()  # what declare recorded
