"""The coverage inventory on the sandbox: the state table keeps one count per account,
region and kind, read back in one Query; a sweep records what exists in each shard it
swept, declared or not, AWS managed keys left out; a denied list call costs only its
own count, never the shard's results."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from driftguard.model import Inventory
from driftguard.state import StateStore
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import DATA, SECURITY, WORKLOAD, Story, secret_policy

REMEDIATION_ROLE = "driftguard-remediation"
MOMENT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def counts(store: StateStore) -> dict[tuple[str, str, str], int]:
    return {(i.account, i.region, i.kind): i.existing for i in store.inventory()}


def test_the_store_keeps_one_count_per_account_region_and_kind_and_reads_them_in_one_query(
    sandbox: Sandbox, store: StateStore
) -> None:
    written = [
        Inventory(WORKLOAD, "us-east-1", "secret", 4, MOMENT),
        Inventory(DATA, "eu-west-1", "kms-key", 1, MOMENT),
        Inventory(DATA, "us-east-1", "secret", 7, MOMENT),
        Inventory(DATA, "us-east-1", "kms-key", 2, MOMENT),
    ]
    for item in written:
        store.put_inventory(item)
    later = Inventory(DATA, "us-east-1", "kms-key", 3, MOMENT + timedelta(hours=1))
    store.put_inventory(later)  # the next sweep's count replaces the last
    sandbox.meter.reset()

    found = store.inventory()

    assert found == [written[0], written[1], later, written[2]]  # account, region, kind
    reads = sandbox.meter.count(lambda call: call.service == "dynamodb")
    assert reads == {"dynamodb:Query": 1}  # one partition: never a scan of the table
    key = {"pk": "INVENTORY", "sk": f"{DATA}#us-east-1#kms-key"}  # as docs/queries.md says
    item = sandbox.hub_client("dynamodb").get_item(
        TableName=sandbox.hub.table_name, Key={name: {"S": value} for name, value in key.items()}
    )["Item"]
    assert item["existing"] == {"N": "3"}
    assert set(item) == {"pk", "sk", "account", "region", "kind", "existing", "counted_at"}


def test_a_sweep_counts_what_exists_in_each_shard_declared_or_not(
    sandbox: Sandbox, story: Story, store: StateStore
) -> None:
    with sandbox.events_paused():  # nothing declared about these
        kms = story.data_admin.client("kms")
        for n in range(2):
            kms.create_key(Description=f"undeclared {n}")  # the default key policy
        # An AWS managed key: moto makes it when its alias/aws/ alias is first used.
        aws_managed = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"]
        story.secrets.create_secret(Name="undeclared", SecretString="never-read")
    listed = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    assert aws_managed in listed and len(listed) == 3

    sandbox.sweep()

    found = counts(store)
    # A shard is an account and region holding something declared: the workload
    # account holds nothing declared, so it has no shard and no count.
    assert {account for account, _, _ in found} == {SECURITY, DATA}
    assert found[(DATA, sandbox.region, "kms-key")] == 2  # not the AWS managed one
    assert found[(DATA, sandbox.region, "secret")] == 2  # the story's and this one
    security_keys = story.security.client("kms").list_keys()["Keys"]
    assert found[(SECURITY, sandbox.region, "kms-key")] == len(security_keys)  # none AWS's
    assert found[(SECURITY, sandbox.region, "secret")] >= 0


def test_a_denied_list_call_leaves_the_shards_results_and_the_other_kind_counted(
    sandbox: Sandbox, story: Story, store: StateStore
) -> None:
    """As with a spoke stack older than the grant: AccessDenied on ListSecrets."""
    denied = sandbox.fail(
        "secretsmanager",
        "ListSecrets",
        error="AccessDeniedException",
        principal=REMEDIATION_ROLE,
    )
    with sandbox.events_paused():  # only the sweep can see these
        story.widen_key_policy()
        widened = secret_policy()
        widened["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::444455556666:root"}
        story.secrets.put_resource_policy(
            SecretId=story.secret_arn, ResourcePolicy=json.dumps(widened)
        )

    planned = sandbox.sweep()

    assert planned["shards"] == 2
    assert story.restored()  # both shards did their work
    assert denied.count == 2  # one attempt a shard: a denial is not retried
    # Every kind but the denied one; the shards are in us-east-1, where IAM's roles
    # (role-trust) are counted.
    assert set(counts(store)) == {
        (SECURITY, sandbox.region, "kms-key"),
        (DATA, sandbox.region, "kms-key"),
        (SECURITY, sandbox.region, "role-trust"),
        (DATA, sandbox.region, "role-trust"),
    }
