"""The coverage inventory (driftguard.kinds.inventory): each kind counts what exists in
an account and region through the list calls, pages followed; a kind that cannot be
counted is a warning and leaves the others counted; the sweep records the counts of a
shard it swept in full, and only then. In-memory fakes: no sockets."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftguard import kinds
from driftguard.config import Config
from driftguard.kinds import inventory
from driftguard.kinds.kms_key import customer_managed
from driftguard.kinds.registry import _KINDS
from driftguard.model import Inventory
from driftguard.service import Remediator
from driftguard.sweep import Sweeper
from tests.support.config import VALID_ENV
from tests.support.fakes import (
    SIGNATURES,
    START,
    FakeClients,
    FakeClock,
    FakeIam,
    FakeListings,
    FakePolicies,
    FakePublisher,
    FakeRechecks,
    FakeStore,
    declaration,
    in_sync_status,
)

A, B = "111111111111", "222222222222"
REGION = "eu-west-1"  # no global kind (role-trust) is counted here
ROLE = f"arn:aws:iam::{A}:role/pod-role"


def key(n: int) -> dict[str, Any]:
    return {"KeyId": f"key-{n}", "KeyArn": f"arn:aws:kms:{REGION}:{A}:key/key-{n}"}


def alias(name: str, target: int | None) -> dict[str, Any]:
    found: dict[str, Any] = {"AliasName": name}
    if target is not None:
        found["TargetKeyId"] = f"key-{target}"
    return found


@pytest.mark.parametrize(
    ("keys", "aliases", "expected"),
    [
        ([], [], 0),
        ([1, 2], [], 2),  # no alias: customer managed
        ([1, 2], [alias("alias/app", 1)], 2),
        ([1, 2, 3], [alias("alias/aws/s3", 2), alias("alias/aws/ebs", 3)], 1),
        ([1], [alias("alias/aws/s3", 1), alias("alias/also-mine", 1)], 0),
        ([1], [alias("alias/aws/rds", None)], 1),  # predefined, no key yet
        ([1], [alias("alias/awsome", 1)], 1),  # not the reserved prefix
        ([1, 2], [alias("alias/aws/lambda", 9)], 2),  # names a key not listed
    ],
)
def test_customer_managed_keys_are_the_keys_no_aws_alias_names(
    keys: list[int], aliases: list[dict[str, Any]], expected: int
) -> None:
    assert customer_managed((f"key-{n}" for n in keys), aliases) == expected


@pytest.fixture
def listings() -> FakeListings:
    listings = FakeListings(page_size=2)
    listings.add(A, REGION, "list_keys", *(key(n) for n in range(5)))
    listings.add(A, REGION, "list_aliases", alias("alias/aws/s3", 0), alias("alias/aws/ebs", 1))
    listings.add(A, REGION, "list_aliases", alias("alias/app", 2), alias("alias/aws/rds", None))
    listings.add(A, REGION, "list_secrets", *({"Name": f"s{n}"} for n in range(3)))
    listings.add(B, REGION, "list_secrets", {"Name": "elsewhere"})
    return listings


def test_each_kind_counts_what_exists_following_every_page(listings: FakeListings) -> None:
    clients: Any = FakeClients(FakeIam(), listings)

    assert kinds.get("kms-key").count_existing(clients, A, REGION) == 3
    assert kinds.get("secret").count_existing(clients, A, REGION) == 3
    assert kinds.get("secret").count_existing(clients, A, "ap-south-1") == 0
    # Two a page: 5 keys, 4 aliases, 3 secrets, and the empty region's one empty page.
    # Nothing but the list calls (never a secret's value).
    assert Counter(listings.calls) == {"list_keys": 3, "list_aliases": 2, "list_secrets": 3}


def test_a_global_kind_is_counted_once_per_account_in_its_own_region(
    listings: FakeListings,
) -> None:
    """IAM roles (role-trust) exist once per account: counted in us-east-1 only, where
    IAM's calls and events are, and in no other region's shard."""
    iam = FakeIam(roles={f"arn:aws:iam::{A}:role/r{n}": f"AROA{n}" for n in range(4)})
    iam.roles[f"arn:aws:iam::{B}:role/elsewhere"] = "AROAB"
    clients: Any = FakeClients(iam, listings)
    here = inventory.count(clients, A, "us-east-1", lambda: START)
    assert Inventory(A, "us-east-1", "role-trust", 4, START) in here
    elsewhere = inventory.count(clients, A, REGION, lambda: START)
    assert "role-trust" not in {i.kind for i in elsewhere}
    assert iam.calls.count("ListRoles") == 1


def test_a_kind_denied_its_list_call_is_a_warning_and_the_others_are_counted(
    listings: FakeListings, caplog: pytest.LogCaptureFixture
) -> None:
    listings.denied.add("list_secrets")
    clients: Any = FakeClients(FakeIam(), listings)
    store = FakeStore(FakeClock())

    with caplog.at_level(logging.WARNING, logger=inventory.__name__):
        stored = inventory.record(store, clients, A, REGION, lambda: START)

    assert stored == [Inventory(A, REGION, "kms-key", 3, START)]
    assert store.inventory() == stored
    (warning,) = caplog.records
    assert warning.levelno == logging.WARNING
    assert (warning.kind, warning.error_code) == ("secret", "AccessDeniedException")  # type: ignore[attr-defined]
    assert "AccessDeniedException" in warning.getMessage()


def test_a_count_the_store_refuses_is_a_warning(
    listings: FakeListings, caplog: pytest.LogCaptureFixture
) -> None:
    class Refusing(FakeStore):
        def put_inventory(self, item: Inventory) -> None:
            if item.kind == "kms-key":
                error = {"Error": {"Code": "ProvisionedThroughputExceededException"}}
                raise ClientError(error, "PutItem")
            super().put_inventory(item)

    store = Refusing(FakeClock())
    clients: Any = FakeClients(FakeIam(), listings)
    with caplog.at_level(logging.WARNING, logger=inventory.__name__):
        stored = inventory.record(store, clients, A, REGION, lambda: START)

    assert [item.kind for item in stored] == ["secret"]
    assert [r.error_code for r in caplog.records] == ["ProvisionedThroughputExceededException"]  # type: ignore[attr-defined]


class World:
    """A sweeper over the fake kind, with the real kinds counting through FakeListings."""

    def __init__(self, listings: FakeListings) -> None:
        self.clock = FakeClock()
        self.store = FakeStore(self.clock)
        self.kind = FakePolicies()
        config = Config.model_validate(VALID_ENV)
        remediator = Remediator(
            config,
            FakeClients(FakeIam(roles={ROLE: "AROABBBBBBBBBBBBBBBBB"}), listings),  # type: ignore[arg-type]
            self.store,  # type: ignore[arg-type]
            FakePublisher(),  # type: ignore[arg-type]
            FakeRechecks(),  # type: ignore[arg-type]
            signatures=SIGNATURES,
            clock=self.clock,
        )
        self.sweeper = Sweeper(remediator, self.store, threads=2, lease_seconds=960)  # type: ignore[arg-type]

    def declare(self, n: int) -> None:
        arn = f"arn:aws:fake:{REGION}:{A}:thing/n{n}"
        text = (
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            f'"Principal": {{"AWS": "{ROLE}"}}, "Action": "kms:Decrypt", "Resource": "*"}}]}}'
        )
        declared = declaration(arn, text, principals=(ROLE,))
        self.store.declare(declared, in_sync_status(declared))
        self.kind.live[arn] = text


@pytest.fixture
def world(listings: FakeListings) -> Any:
    world = World(listings)
    _KINDS[world.kind.name] = world.kind  # resolved by name, as the sweep does
    try:
        yield world
    finally:
        del _KINDS[world.kind.name]


def test_a_shard_swept_in_full_records_what_exists_per_kind(world: World) -> None:
    for n in range(3):
        world.declare(n)

    world.sweeper.sweep()

    assert world.store.inventory() == [
        Inventory(A, REGION, "fake", 3, START),
        Inventory(A, REGION, "kms-key", 3, START),
        Inventory(A, REGION, "secret", 3, START),
    ]


def test_a_worker_out_of_time_counts_nothing_and_the_one_that_finishes_counts(
    world: World,
) -> None:
    for n in range(3):
        world.declare(n)
    (shard,) = world.sweeper.plan()

    first = world.sweeper.sweep_shard(shard, deadline=world.clock.monotonic() - 1)

    assert first.rest is not None and world.store.inventory() == []
    world.sweeper.sweep_shard(first.rest)
    assert {item.kind for item in world.store.inventory()} == {"fake", "kms-key", "secret"}


def test_a_shard_another_worker_holds_counts_nothing(world: World) -> None:
    world.declare(0)
    (shard,) = world.sweeper.plan()
    world.store.take_shard_lease(A, REGION, 60)

    world.sweeper.sweep_shard(shard)

    assert world.store.inventory() == []
