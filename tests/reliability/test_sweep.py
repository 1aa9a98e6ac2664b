"""The sweep fanned out (driftguard.sweep): one worker per account and region, through
the sweep queue as in AWS; an in-sync sweep reads each policy once and writes only its
shard leases and the shards' counts of what exists; a worker never goes over
driftguard's share of the quota; a shard that another worker holds is not swept twice
at once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest

from driftguard import kinds
from driftguard.policy import Policy
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType
from driftguard_sandbox.meter import peak_rate
from driftguard_sandbox.sandbox import SWEEP_WORKER, Sandbox
from driftguard_sandbox.story import DATA, SECURITY, AlertTail, Story, key_policy, secret_policy
from tests.support.cli import run_cli
from tests.support.fleet import build_fleet

OTHER_REGION = "eu-west-1"
WRITES = ("Put", "Delete", "Update", "BatchWrite", "TransactWrite")


def adopt(*arns: str) -> None:
    for arn in arns:
        code, output = run_cli("adopt", arn, "--mode", "enforce")
        assert code == 0, output


def more_in_other_region(sandbox: Sandbox, story: Story) -> tuple[str, str]:
    """A key (security account) and a secret (data account) in a second region."""
    with sandbox.events_paused():
        kms = story.security.client("kms", region_name=OTHER_REGION)
        key = str(kms.create_key(Policy=json.dumps(key_policy()))["KeyMetadata"]["Arn"])
        secrets = story.data_admin.client("secretsmanager", region_name=OTHER_REGION)
        secret = str(secrets.create_secret(Name="replica-ish", SecretString="never-read")["ARN"])
        secrets.put_resource_policy(SecretId=secret, ResourcePolicy=json.dumps(secret_policy()))
    return key, secret


def shards_swept(sandbox: Sandbox) -> list[tuple[str, str]]:
    bodies = [
        json.loads(d.event["Records"][0]["body"])
        for d in sandbox.deliveries
        if d.function == SWEEP_WORKER
    ]
    return [(body["account"], body["region"]) for body in bodies]


def test_the_sweep_fans_out_one_worker_per_account_and_region(
    sandbox: Sandbox, story: Story, alerts: AlertTail
) -> None:
    key, secret = more_in_other_region(sandbox, story)
    adopt(key, secret)
    sandbox.wait_idle()
    alerts.read()
    with sandbox.events_paused():  # only the sweep can see these
        story.widen_key_policy()
        widened = secret_policy()
        widened["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::444455556666:root"}
        story.data_admin.client("secretsmanager", region_name=OTHER_REGION).put_resource_policy(
            SecretId=secret, ResourcePolicy=json.dumps(widened)
        )

    planned = sandbox.sweep()

    assert planned == {"status": "ok", "shards": 4, "resources": 4, "paths": 0}
    regions = (sandbox.region, OTHER_REGION)
    assert sorted(shards_swept(sandbox)) == sorted(
        [(account, region) for account in (SECURITY, DATA) for region in regions]
    )
    assert story.restored()
    live = story.data_admin.client("secretsmanager", region_name=OTHER_REGION)
    text = live.get_resource_policy(SecretId=secret)["ResourcePolicy"]
    assert Policy.parse(text).semantically_equal(Policy.parse(json.dumps(secret_policy())))
    assert sorted(a.type.value for a in alerts.read()) == [AlertType.RESTORED.value] * 2


def test_an_in_sync_sweep_reads_each_policy_once_and_writes_only_leases_and_counts(
    sandbox: Sandbox, story: Story, alerts: AlertTail
) -> None:
    fleet = build_fleet(sandbox, story, enforced=6, detected=0, undeclared=0)
    alerts.read()  # each declaration's own: set-up
    sandbox.sweep()  # the workers' containers are warm after this one
    sandbox.meter.reset()

    planned = sandbox.sweep()

    calls = sandbox.meter.count()
    assert planned["resources"] == len(fleet.enforced) == 8
    reads = calls["kms:GetKeyPolicy"] + calls["secretsmanager:GetResourcePolicy"]
    assert reads == 8
    writes = {op: n for op, n in calls.items() if op.split(":")[1].startswith(WRITES)}
    shards = planned["shards"]
    kinds_counted = len(kinds.all_kinds())
    assert writes == {
        "dynamodb:UpdateItem": 2 * shards,  # each shard's lease, taken and let go
        "dynamodb:PutItem": kinds_counted * shards,  # what exists there, a count a kind
    }
    lists = ("kms:ListKeys", "kms:ListAliases", "secretsmanager:ListSecrets")
    assert [calls[op] for op in lists] == [shards] * 3  # one page each, a shard
    assert calls["dynamodb:BatchGetItem"] == shards  # 4 resources a shard: one request
    assert calls["dynamodb:Scan"] == 1 and calls["sqs:SendMessageBatch"] == 1
    # Remembered by the warm containers: no AssumeRole, no second VerifyMac.
    assert calls["sts:AssumeRole"] == 0 and calls["kms:VerifyMac"] == 0
    assert alerts.read() == []


@pytest.mark.usefixtures("story")
def test_a_worker_stays_under_driftguards_share_of_the_quota(
    sandbox: Sandbox, story: Story, figures: Callable[[str, object], None]
) -> None:
    with sandbox.events_paused():
        arns = []
        for n in range(11):
            arn = str(story.secrets.create_secret(Name=f"many-{n}", SecretString="x")["ARN"])
            story.secrets.put_resource_policy(
                SecretId=arn, ResourcePolicy=json.dumps(secret_policy())
            )
            arns.append(arn)
    adopt(*arns)
    sandbox.wait_idle()
    # 5 calls a second of Secrets Manager's 50 for its resource-policy APIs.
    sandbox.configure_functions(QUOTA_SHARE="0.1")
    sandbox.meter.reset()

    sandbox.sweep()

    reads = sandbox.meter.calls(lambda call: call.action == "GetResourcePolicy")
    assert len(reads) == 12  # the story's secret and these
    peak = peak_rate(reads)[(DATA, sandbox.region)]
    took = reads[-1].at - reads[0].at
    figures("peak GetResourcePolicy calls in one second (share: 5)", peak)
    figures("seconds for 12 reads at 5 a second", round(took, 2))
    assert took >= 11 / 5 * 0.95  # sent evenly spaced: 11 intervals of 0.2 s
    # Arrivals jitter (a busy machine delays one send and not the next): a sliding
    # second may hold one or two more than were sent in it.
    assert peak <= 5 + 2


def test_a_shard_another_worker_holds_is_not_swept_again(
    sandbox: Sandbox, story: Story, store: StateStore
) -> None:
    owner = store.take_shard_lease(SECURITY, sandbox.region, 60)
    sandbox.meter.reset()

    sandbox.sweep()

    reads = Counter(call.action for call in sandbox.meter.calls())
    assert reads["GetKeyPolicy"] == 0  # the key's shard is held: left to its holder
    assert reads["GetResourcePolicy"] == 1  # the secret's shard is swept
    store.release_shard_lease(SECURITY, sandbox.region, owner)
    sandbox.meter.reset()
    sandbox.sweep()
    assert Counter(call.action for call in sandbox.meter.calls())["GetKeyPolicy"] == 1
