"""The sweep's plan and messages, the quota limiter (pure, with a fake clock), and one
AssumeRole per account however many threads ask."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftguard import kinds
from driftguard.aws import AwsClients
from driftguard.errors import InvalidEventError
from driftguard.quotas import Quota, RateLimiter
from driftguard.sweep import (
    PATHS_PER_BATCH,
    PathBatch,
    Shard,
    parse_shard,
    parse_sweep_message,
    path_batches,
    plan,
)
from tests.support.fakes import FakeClock

A, B = "111111111111", "222222222222"


def test_the_plan_is_one_shard_per_account_and_region_largest_first() -> None:
    counts = Counter({(A, "us-east-1"): 3, (B, "eu-west-1"): 40, (A, "eu-west-1"): 3})
    assert plan(counts) == [
        Shard(B, "eu-west-1", 40),
        Shard(A, "eu-west-1", 3),
        Shard(A, "us-east-1", 3),
    ]
    assert plan(Counter()) == []


@pytest.mark.parametrize(
    "shard",
    [Shard(A, "us-east-1", 0), Shard(B, "ap-southeast-2", 7, after="kms-key#arn:aws:kms:x")],
)
def test_a_shard_travels_by_the_queue_unchanged(shard: Shard) -> None:
    assert parse_shard(shard.body()) == shard


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"account": "1", "region": "us-east-1", "resources": 1}',
        '{"account": "111111111111", "region": "nowhere", "resources": 1}',
        '{"account": "111111111111", "region": "us-east-1", "resources": -1}',
        '{"account": "111111111111", "region": "us-east-1", "resources": 1, "arns": []}',
    ],
)
def test_anything_else_on_the_sweep_queue_is_refused_clearly(body: str) -> None:
    with pytest.raises(InvalidEventError, match="not a sweep shard"):
        parse_shard(body)


def test_paths_are_swept_ten_a_message_each_once() -> None:
    names = [f"team-{n:02}/secret" for n in range(23)]
    batches = path_batches(list(reversed(names)))
    assert [len(b.names) for b in batches] == [PATHS_PER_BATCH, PATHS_PER_BATCH, 3]
    assert [n for b in batches for n in b.names] == names  # each once, in order
    assert path_batches([]) == []
    for batch in batches:
        assert parse_sweep_message(batch.body()) == batch
    shard = Shard(A, "us-east-1", 4)
    assert parse_sweep_message(shard.body()) == shard  # shards travel as before


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ('{"paths": []}', "not a batch of paths"),
        ('{"paths": ["a"], "account": "111111111111"}', "not a batch of paths"),
        (json.dumps({"paths": [str(n) for n in range(PATHS_PER_BATCH + 1)]}), "not a batch"),
        ("not json", "not a sweep shard"),
    ],
)
def test_a_bad_batch_of_paths_is_refused_clearly(body: str, why: str) -> None:
    with pytest.raises(InvalidEventError, match=why):
        parse_sweep_message(body)
    assert PathBatch(("a",)).body() == '{"paths": ["a"]}'


def test_the_limiter_spaces_calls_evenly_under_the_share_of_the_quota() -> None:
    clock = FakeClock()
    quota = Quota("secretsmanager:resource-policy", 50)
    limiter = RateLimiter(
        {
            ("secretsmanager", "GetResourcePolicy"): quota,
            ("secretsmanager", "PutResourcePolicy"): quota,
        },
        share=0.1,
        clock=clock,
    )
    start = clock.monotonic()
    for operation in ("GetResourcePolicy", "PutResourcePolicy", "GetResourcePolicy"):
        limiter.acquire(A, "us-east-1", "secretsmanager", operation)  # one shared bucket
    assert clock.monotonic() - start == pytest.approx(0.4)  # 5 a second: 0, 0.2, 0.4
    assert limiter.rate("secretsmanager", "GetResourcePolicy") == pytest.approx(5)

    waited = clock.monotonic()
    limiter.acquire(B, "us-east-1", "secretsmanager", "GetResourcePolicy")  # another account
    limiter.acquire(A, "eu-west-1", "secretsmanager", "GetResourcePolicy")  # another region
    limiter.acquire(A, "us-east-1", "secretsmanager", "DescribeSecret")  # not limited here
    assert clock.monotonic() == waited


def test_every_kind_declares_the_quota_of_each_policy_call_it_makes() -> None:
    quotas = kinds.quotas()
    assert quotas[("kms", "GetKeyPolicy")].per_second == 1000
    assert quotas[("kms", "PutKeyPolicy")].per_second == 15
    shared = {quotas[("secretsmanager", op)] for op in ("GetResourcePolicy", "PutResourcePolicy")}
    assert len(shared) == 1 and shared.pop().per_second == 50  # one bucket, not adjustable


@pytest.mark.parametrize("share", [0, -0.5, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="quota share"):
        RateLimiter({}, share=share, clock=FakeClock())


class _Sts:
    def __init__(self) -> None:
        self.calls = 0

    def assume_role(self, RoleArn: str, RoleSessionName: str) -> dict[str, Any]:
        self.calls += 1
        time.sleep(0.05)  # long enough for every thread to ask meanwhile
        expires = datetime.now(UTC) + timedelta(hours=1)
        return {
            "Credentials": {
                "AccessKeyId": "AKIA",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": expires,
            }
        }


class _Session:
    region_name = "us-east-1"

    def __init__(self) -> None:
        self.sts = _Sts()

    def client(self, service: str, **_: Any) -> Any:
        return self.sts if service == "sts" else object()


def test_threads_of_a_sweep_assume_the_remediation_role_once_per_account() -> None:
    session = _Session()
    clients = AwsClients(
        remediation_role_name="driftguard-remediation",
        session=session,
    )
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: clients.in_account(A, "kms"), range(16)))
    assert session.sts.calls == 1
    clients.in_account(B, "kms")
    assert session.sts.calls == 2  # another account: its own
