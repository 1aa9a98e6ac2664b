"""Anyone who can write the state table could declare `kms:*` for a foreign account, and
driftguard applied it everywhere as a routine restore: the integrity check was a plain
SHA-256 anyone can recompute. Declarations are now signed with a KMS HMAC key only the
declarer role may use; whatever else is written is refused and alerted."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest

from driftguard.signing import MAC_ALGORITHM, signed_message
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Severity, Status
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import AlertTail, Story
from tests.support.state import set_declared, status_of
from tests.support.writes import policy_writes

OUTSIDER = "arn:aws:iam::444455556666:root"


def backdoored(store: StateStore, arn: str) -> str:
    """The declared policy plus kms:* for a foreign account."""
    declared = store.get_declared(arn)
    assert declared is not None
    policy = json.loads(declared.policy)
    policy["Statement"].append(
        {
            "Sid": "Backdoor",
            "Effect": "Allow",
            "Principal": {"AWS": OUTSIDER},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    return json.dumps(policy)


def declared_item(sandbox: Sandbox, arn: str) -> dict[str, Any]:
    key = {"pk": {"S": f"RES#{arn}"}, "sk": {"S": "DECLARED"}}
    table = sandbox.hub.table_name
    item: dict[str, Any] = sandbox.hub_client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    return item


def refused_once(sandbox: Sandbox, store: StateStore, alerts: AlertTail, arn: str) -> None:
    """Status error, one critical alert naming the item, and nothing applied: not by the
    check the write itself caused, not by the sweep, not by a later event."""
    sandbox.wait_idle()
    assert status_of(store, arn) is Status.ERROR
    record = store.get_status(arn)
    assert record is not None and "sign" in record.reason  # not signed, or not verified
    (alert,) = alerts.read()
    assert alert.type is AlertType.DECLARATION_REFUSED and alert.severity is Severity.CRITICAL
    assert [r.arn for r in alert.resources] == [arn]
    sandbox.sweep()
    assert alerts.read() == []  # one incident, one alert
    assert policy_writes(sandbox, arn) == []


TAMPERINGS: dict[str, Any] = {
    "policy": lambda store, arn: {"policy": backdoored(store, arn)},
    "mode": lambda store, arn: {"mode": "detect"},  # stop enforcing, quietly
    "signer": lambda store, arn: {"declared_by": "arn:aws:iam::333333333333:role/security-lead"},
    "unsigned": lambda store, arn: {"signature": ""},
}


@pytest.mark.parametrize("field", sorted(TAMPERINGS))
def test_a_declaration_written_straight_into_the_table_is_refused_and_alerted(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail, field: str
) -> None:
    live_before = story.live_key_policy()
    set_declared(sandbox, story.key_arn, **TAMPERINGS[field](store, story.key_arn))

    refused_once(sandbox, store, alerts, story.key_arn)
    story.widen_key_policy(account="444455556666")  # and a real drift is not restored to it
    sandbox.wait_idle()
    assert policy_writes(sandbox, story.key_arn) == []
    assert story.live_key_policy() != live_before  # left as the outsider made it: refused


def test_a_signed_declaration_copied_to_another_resource_is_refused(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    """The MAC covers the ARN: a declaration signed for one key does not move to another."""
    item = declared_item(sandbox, story.key_arn)
    other = story.platform.client("kms").create_key()["KeyMetadata"]["Arn"]
    sandbox.wait_idle()
    sandbox.hub_client("dynamodb").put_item(
        TableName=sandbox.hub.table_name, Item=item | {"pk": {"S": f"RES#{other}"}}
    )
    sandbox.wait_idle()
    assert status_of(store, other) is Status.ERROR
    (alert,) = alerts.read()
    assert alert.type is AlertType.DECLARATION_REFUSED and alert.resources[0].arn == other
    assert policy_writes(sandbox, other) == []


def test_a_declaration_signed_with_another_key_is_refused(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    """Someone's own HMAC key, however valid its MAC: driftguard verifies with its key."""
    kms = sandbox.hub_client("kms")
    theirs = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    declared = store.get_declared(story.key_arn)
    assert declared is not None
    forged = dataclasses.replace(declared, policy=backdoored(store, story.key_arn))
    mac = kms.generate_mac(
        KeyId=theirs["Arn"], MacAlgorithm=MAC_ALGORITHM, Message=signed_message(forged)
    )["Mac"]
    signature = base64.b64encode(mac).decode()
    set_declared(sandbox, story.key_arn, policy=forged.policy, signature=signature)

    refused_once(sandbox, store, alerts, story.key_arn)


def test_every_declaration_change_is_alerted_and_a_widening_is_critical(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    """Even one signed by the declarer role and written without the CLI."""
    set_declared(sandbox, story.key_arn, sign=True, policy=backdoored(store, story.key_arn))
    sandbox.wait_idle()

    by_type = {a.type: a for a in alerts.read()}
    alert = by_type.pop(AlertType.DECLARATION_CHANGED)
    assert alert.severity is Severity.CRITICAL and alert.resources[0].findings == ["widened"]
    assert any(OUTSIDER in line for line in alert.resources[0].diff["summary"])
    # ...and checked at once: the signed declaration is what driftguard now enforces.
    assert list(by_type) == [AlertType.RESTORED]
    assert status_of(store, story.key_arn) is Status.IN_SYNC
    assert OUTSIDER in (story.live_key_policy() or "")


def test_status_and_audit_writes_are_not_declaration_changes(
    sandbox: Sandbox, story: Story, alerts: AlertTail
) -> None:
    story.widen_key_policy()
    sandbox.wait_idle()
    assert story.restored()
    assert [a.type for a in alerts.read()] == [AlertType.RESTORED]
