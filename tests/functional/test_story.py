"""The story end to end: handlers driven by the sandbox's CloudTrail events, checked
against the live policies in the sandbox accounts and the records in DynamoDB."""

from __future__ import annotations

import json
from pathlib import Path

from driftguard.policy import Policy
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, AuditAction, Severity, Status
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, AlertTail, Story, key_policy, secret_policy
from tests.support.cli import run_cli
from tests.support.state import status_of

RECONCILER = "ReconcilerFunction"


def test_adopt_records_in_sync_and_links_the_role(story: Story, store: StateStore) -> None:
    assert status_of(store, story.key_arn) is Status.IN_SYNC
    assert status_of(store, story.secret_arn) is Status.IN_SYNC
    assert sorted(store.resources_naming(POD_ROLE_ARN)) == sorted([story.key_arn, story.secret_arn])
    assert store.principal_for_unique_id(story.pod_role_id) == POD_ROLE_ARN


def test_delete_role_orphans_both_policies_with_one_alert(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    old_id = story.pod_role_id
    story.delete_pod_role()
    sandbox.wait_idle()

    assert old_id in Policy.parse(story.live_key_policy()).unique_id_principals()
    assert status_of(store, story.key_arn) is Status.ORPHANED_PRINCIPAL
    assert status_of(store, story.secret_arn) is Status.ORPHANED_PRINCIPAL
    (alert,) = alerts.read()
    assert alert.type is AlertType.ORPHANED_PRINCIPAL
    assert alert.role_arn == POD_ROLE_ARN
    assert alert.unique_ids == {old_id: POD_ROLE_ARN}
    assert sorted(r.arn for r in alert.resources) == sorted([story.key_arn, story.secret_arn])
    assert all(r.orphaned_ids == [old_id] for r in alert.resources)

    # The same incident, seen again by the sweep, is not alerted twice.
    sandbox.sweep()
    assert alerts.read() == []
    assert status_of(store, story.key_arn) is Status.ORPHANED_PRINCIPAL


def test_recreated_role_is_restored_everywhere_and_verified(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    story.delete_pod_role()
    sandbox.wait_idle()
    alerts.read()
    new_id = story.recreate_pod_role()
    sandbox.wait_idle()

    assert story.restored()
    # A restore is history, not a status: the resources are in sync again.
    for arn in (story.key_arn, story.secret_arn):
        record = store.get_status(arn)
        assert record is not None and record.status is Status.IN_SYNC
        assert record.remediated_at is not None and record.orphaned_ids == ()
    assert store.principal_for_unique_id(new_id) == POD_ROLE_ARN
    (alert,) = alerts.read()
    assert alert.type is AlertType.RESTORED
    assert len(alert.resources) == 2
    actions = [entry.action for entry in store.history(story.key_arn)]
    # CreateKey happened before the key was declared: seen, recorded, not acted on.
    assert actions == [
        AuditAction.OBSERVED_UNDECLARED,
        AuditAction.DECLARED,
        AuditAction.ORPHANED_PRINCIPAL,
        AuditAction.RESTORED,
    ]


def test_restore_retries_while_the_new_role_propagates(
    sandbox: Sandbox, story: Story, store: StateStore
) -> None:
    story.delete_pod_role()
    sandbox.wait_idle()
    sandbox.propagation_delay = 1.0  # the first put is refused, the one after 1 s backoff not
    story.recreate_pod_role()
    sandbox.wait_idle(timeout=60)

    assert story.restored()
    rejected = [
        e
        for e in sandbox.events
        if e["detail"]["eventName"] == "PutKeyPolicy"
        and e["detail"].get("errorCode") == "MalformedPolicyDocumentException"
    ]
    assert rejected, "the first restore attempts should have been refused by KMS"
    assert status_of(store, story.key_arn) is Status.IN_SYNC


def test_hand_widened_key_policy_is_reverted_and_names_who(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    story.widen_key_policy("444455556666")
    sandbox.wait_idle()

    assert story.restored()
    assert status_of(store, story.key_arn) is Status.IN_SYNC
    (alert,) = alerts.read()
    assert alert.type is AlertType.RESTORED
    assert alert.severity is Severity.CRITICAL  # someone widened it
    assert alert.actor is not None and "mallory" in alert.actor
    (resource,) = alert.resources
    assert "widened" in resource.findings
    assert "arn:aws:iam::444455556666:root" in resource.diff["added_principals"]
    last = store.history(story.key_arn)[-1]
    assert last.action is AuditAction.RESTORED and "mallory" in (last.actor or "")


def test_driftguard_ignores_its_own_restores(sandbox: Sandbox, story: Story) -> None:
    story.widen_key_policy()
    sandbox.wait_idle()
    own = [
        e
        for e in sandbox.events
        if e["detail"]["eventName"] == "PutKeyPolicy"
        and "driftguard-remediation" in json.dumps(e["detail"]["userIdentity"])
    ]
    assert own, "the restore should have produced its own CloudTrail event"
    assert all(sandbox.matching_functions(e) == [] for e in own)
    delivered = [
        d.event["detail"]["userIdentity"]["arn"]
        for d in sandbox.deliveries
        if d.event.get("detail", {}).get("eventName") == "PutKeyPolicy"
    ]
    assert delivered == ["arn:aws:sts::333333333333:assumed-role/Developer/mallory"]


def test_detect_mode_records_and_alerts_without_restoring(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    code, _ = run_cli("adopt", story.key_arn, "--mode", "detect")
    assert code == 0
    story.widen_key_policy()
    sandbox.wait_idle()

    assert not story.restored()
    assert status_of(store, story.key_arn) is Status.DRIFTED
    by_type = {a.type: a for a in alerts.read()}
    assert set(by_type) == {AlertType.DECLARATION_CHANGED, AlertType.DRIFT_DETECTED}
    alert = by_type[AlertType.DRIFT_DETECTED]  # and one saying the mode changed
    assert alert.severity is Severity.CRITICAL  # widened access


def test_sweep_restores_a_change_whose_event_was_lost(
    sandbox: Sandbox, story: Story, store: StateStore
) -> None:
    with sandbox.events_paused():
        story.widen_key_policy()
    sandbox.wait_idle()
    assert not story.restored()

    planned = sandbox.sweep()

    assert (planned["shards"], planned["resources"]) == (2, 2)  # a key and a secret, 2 accounts
    assert story.restored()
    assert status_of(store, story.key_arn) is Status.IN_SYNC
    assert store.history(story.key_arn)[-1].trigger == "reconciler"


def test_sweeps_over_a_restored_resource_are_silent(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    """A restore is news once; the sweeps after it find the resource in sync and
    neither post nor write history (the hourly sweep used to re-send "Restored")."""
    story.widen_key_policy()
    sandbox.wait_idle()
    history = store.history(story.key_arn)
    status = store.get_status(story.key_arn)

    for _ in range(3):
        sandbox.sweep()

    assert [alert.type for alert in alerts.read()] == [AlertType.RESTORED]
    assert store.history(story.key_arn) == history
    assert store.get_status(story.key_arn) == status


def test_someone_who_keeps_narrowing_it_gets_quarantined(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    """A fight that grants no one more than declared may stop (a widening never does:
    tests/security/test_quarantine.py)."""
    narrowed = key_policy()
    narrowed["Statement"] = narrowed["Statement"][:-1]  # pod-role loses Decrypt
    for _ in range(3):  # QUARANTINE_THRESHOLD in template.yaml
        story.mallory_kms.put_key_policy(
            KeyId=story.key_arn, PolicyName="default", Policy=json.dumps(narrowed)
        )
        sandbox.wait_idle()
        assert story.restored()
    story.mallory_kms.put_key_policy(
        KeyId=story.key_arn, PolicyName="default", Policy=json.dumps(narrowed)
    )
    sandbox.wait_idle()

    assert not story.restored()  # driftguard stopped fighting over a narrowing
    assert status_of(store, story.key_arn) is Status.QUARANTINED
    types = [a.type for a in alerts.read()]
    assert types == [AlertType.RESTORED] * 3 + [AlertType.QUARANTINED]


def test_declared_principal_missing_is_pending_until_it_exists(
    sandbox: Sandbox,
    story: Story,
    store: StateStore,
    alerts: AlertTail,
    tmp_path: Path,
) -> None:
    wanted = secret_policy()
    wanted["Statement"].append(
        {
            "Sid": "Auditor",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/auditor"},
            "Action": "secretsmanager:DescribeSecret",
            "Resource": "*",
        }
    )
    policy_file = tmp_path / "secret.json"
    policy_file.write_text(json.dumps(wanted))
    code, output = run_cli("declare", story.secret_arn, "--policy-file", str(policy_file))
    assert code == 0, output
    assert "drifted" in output

    sandbox.sweep()
    record = store.get_status(story.secret_arn)
    assert record is not None and record.status is Status.PENDING_PRINCIPAL
    assert "arn:aws:iam::111111111111:role/auditor" in record.reason
    types = sorted(a.type for a in alerts.read())
    assert types == sorted([AlertType.DECLARATION_CHANGED, AlertType.PENDING_PRINCIPAL])

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    story.platform.client("iam").create_role(
        RoleName="auditor", AssumeRolePolicyDocument=json.dumps(trust)
    )
    sandbox.wait_idle()
    # Whoever created a role of that name is not yet an identity the team approved.
    record = store.get_status(story.secret_arn)
    assert record is not None and record.status is Status.PENDING_PRINCIPAL
    assert "has no approved identity on record" in record.reason
    (held,) = alerts.read()
    assert held.type is AlertType.PENDING_PRINCIPAL

    auditor = "arn:aws:iam::111111111111:role/auditor"
    assert run_cli("approve-principal", auditor)[0] == 0
    sandbox.sweep()
    assert status_of(store, story.secret_arn) is Status.IN_SYNC
    live = story.live_secret_policy()
    assert live is not None and Policy.parse(live).semantically_equal(Policy.parse(wanted))
