"""The report's per-account coverage and access chains, as tables (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from driftguard.model import Declared, Inventory, StatusRecord
from driftguard.vocabulary import Mode, Status
from driftguard_cli.report_access import access_chains, coverage
from tests.unit.test_render_report import NOW, record

WORKLOAD, DATA, SECURITY = "111111111111", "222222222222", "333333333333"
POD = f"arn:aws:iam::{WORKLOAD}:role/pod-role"
BATCH = f"arn:aws:iam::{WORKLOAD}:role/batch"
SECRET_A = f"arn:aws:secretsmanager:us-east-1:{DATA}:secret:app-AbCdEf"
SECRET_B = f"arn:aws:secretsmanager:us-east-1:{DATA}:secret:batch-XyZ123"
KEY_A = f"arn:aws:kms:us-east-1:{SECURITY}:key/1111aaaa-11aa-11aa-11aa-111111111111"
KEY_B = f"arn:aws:kms:us-east-1:{SECURITY}:key/2222bbbb-22bb-22bb-22bb-222222222222"
EU_KEY = f"arn:aws:kms:eu-west-1:{SECURITY}:key/3333cccc-33cc-33cc-33cc-333333333333"
T = NOW - timedelta(hours=2)


# --------------------------------------------------------------------------- coverage


def count(account: str, region: str, kind: str, existing: int, hours_ago: float = 2) -> Inventory:
    return Inventory(account, region, kind, existing, NOW - timedelta(hours=hours_ago))


RECORDS = [
    record(SECRET_A, Status.IN_SYNC),
    record(SECRET_B, Status.ORPHANED_PRINCIPAL),
    record(KEY_A, Status.IN_SYNC),
    record(KEY_B, Status.DRIFTED),
    record(EU_KEY, Status.IN_SYNC, region="eu-west-1"),
]

# (inventory, {account: [(region, kind, declared, existing, percent)]})
COVERAGE = [
    pytest.param(
        [],
        {
            DATA: [("us-east-1", "secret", 2, None, None)],
            SECURITY: [
                ("eu-west-1", "kms-key", 1, None, None),
                ("us-east-1", "kms-key", 2, None, None),
            ],
        },
        id="nothing counted: no number made up",
    ),
    pytest.param(
        [count(DATA, "us-east-1", "secret", 8), count(SECURITY, "us-east-1", "kms-key", 2)],
        {
            DATA: [("us-east-1", "secret", 2, 8, 25)],
            SECURITY: [
                ("eu-west-1", "kms-key", 1, None, None),
                ("us-east-1", "kms-key", 2, 2, 100),
            ],
        },
        id="counted per region: another region stays uncounted",
    ),
    pytest.param(
        [
            count(DATA, "us-east-1", "secret", 3),
            count(DATA, "us-east-1", "kms-key", 0),
            count(WORKLOAD, "us-east-1", "secret", 5),
            count(SECURITY, "us-east-1", "kms-key", 1),
        ],
        {
            DATA: [("us-east-1", "kms-key", 0, 0, None), ("us-east-1", "secret", 2, 3, 66)],
            SECURITY: [
                ("eu-west-1", "kms-key", 1, None, None),
                ("us-east-1", "kms-key", 2, 1, None),
            ],
            WORKLOAD: [("us-east-1", "secret", 0, 5, 0)],
        },
        id="none exist, nothing declared, more declared than counted",
    ),
]


@pytest.mark.parametrize(("inventory", "expected"), COVERAGE)
def test_coverage_per_account_region_and_kind(
    inventory: list[Inventory], expected: dict[str, list[tuple[Any, ...]]]
) -> None:
    found = coverage(RECORDS, inventory)
    assert {
        a.account: [(r.region, r.kind, r.declared, r.existing, r.percent) for r in a.rows]
        for a in found
    } == expected
    assert [a.account for a in found] == sorted(expected)
    assert {a.account: a.counted for a in found} == {
        account: any(row[3] is not None for row in rows) for account, rows in expected.items()
    }


def test_coverage_counts_declared_resources_by_kind_and_status() -> None:
    data, security = coverage(RECORDS, [count(SECURITY, "us-east-1", "kms-key", 4, 5)])
    assert (data.declared, data.by_kind) == (2, (("secret", 2),))
    assert data.by_status == ((Status.IN_SYNC, 1), (Status.ORPHANED_PRINCIPAL, 1))
    assert (security.declared, security.by_kind) == (3, (("kms-key", 3),))
    assert security.by_status == ((Status.IN_SYNC, 2), (Status.DRIFTED, 1))
    counted = next(r for r in security.rows if r.region == "us-east-1")
    assert counted.counted_at == NOW - timedelta(hours=5)
    assert coverage([], []) == ()


# --------------------------------------------------------------------------- access chains


def declared(arn: str, *statements: dict[str, Any]) -> Declared:
    policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return Declared(
        arn=arn,
        kind="kms-key" if ":kms:" in arn else "secret",
        account=arn.split(":")[4],
        region="us-east-1",
        policy=policy,
        digest="d",
        mode=Mode.ENFORCE,
        version=1,
        declared_by="alice",
        declared_at=T,
        principals=(),
    )


def allow(*principals: str, effect: str = "Allow") -> dict[str, Any]:
    return {
        "Effect": effect,
        "Principal": {"AWS": list(principals)},
        "Action": "*",
        "Resource": "*",
    }


ROOT = f"arn:aws:iam::{SECURITY}:root"
ORPHAN_ID = "AROAOLDOLDOLDOLDOLDOL"

# (declarations, [(role, [secret ARNs], [key ARNs], complete)])
CHAINS = [
    pytest.param(
        [declared(SECRET_A, allow(POD)), declared(KEY_A, allow(ROOT), allow(POD))],
        [(POD, [SECRET_A], [KEY_A], True)],
        id="role in both policies",
    ),
    pytest.param(
        [
            declared(SECRET_A, allow(POD, BATCH)),
            declared(KEY_A, allow(POD)),
            declared(KEY_B, allow(POD)),
        ],
        [(BATCH, [SECRET_A], [], False), (POD, [SECRET_A], [KEY_A, KEY_B], True)],
        id="one role in both, one only in a secret",
    ),
    pytest.param(
        [declared(KEY_A, allow(ROOT, POD))], [(POD, [], [KEY_A], False)], id="only in a key"
    ),
    pytest.param(
        [declared(SECRET_A, allow(ROOT)), declared(KEY_A, allow(ROOT))],
        [],
        id="no role at all (an account is not a role)",
    ),
    pytest.param(
        [declared(SECRET_A, allow(ORPHAN_ID)), declared(KEY_A, allow(ORPHAN_ID, POD))],
        [(POD, [], [KEY_A], False)],
        id="an orphaned unique ID is no role",
    ),
    pytest.param(
        [declared(SECRET_A, allow(POD, effect="Deny")), declared(KEY_A, allow(POD))],
        [(POD, [], [KEY_A], False)],
        id="a Deny grants nothing",
    ),
    pytest.param(
        [
            declared(SECRET_A, allow(f"arn:aws:iam::{WORKLOAD}:role/team/pod-role")),
            declared(KEY_A, allow(POD)),
        ],
        [(POD, [SECRET_A], [KEY_A], True)],
        id="a role's path does not make it another role",
    ),
    pytest.param(
        [replace(declared(SECRET_A, allow(POD)), policy="{not json"), declared(KEY_A, allow(POD))],
        [(POD, [], [KEY_A], False)],
        id="an unreadable declaration is left out",
    ),
]


@pytest.mark.parametrize(("declarations", "expected"), CHAINS)
def test_access_chains_from_declared_policies(
    declarations: list[Declared], expected: list[tuple[str, list[str], list[str], bool]]
) -> None:
    chains = access_chains(declarations, {})
    assert [
        (c.role, [s.arn for s in c.secrets], [k.arn for k in c.keys], c.complete) for c in chains
    ] == expected
    assert all(c.account == WORKLOAD for c in chains)


def test_each_link_has_its_resource_s_status_and_account() -> None:
    statuses: dict[str, Status] = {
        r.arn: r.status
        for r in [
            StatusRecord(
                SECRET_A, "secret", DATA, "us-east-1", Mode.ENFORCE, Status.ORPHANED_PRINCIPAL, T
            ),
        ]
    }
    (chain,) = access_chains(
        [declared(SECRET_A, allow(POD)), declared(KEY_A, allow(POD))], statuses
    )
    (secret,), (key,) = chain.secrets, chain.keys
    assert (secret.account, secret.status) == (DATA, Status.ORPHANED_PRINCIPAL)
    assert (key.account, key.status) == (SECURITY, None)  # declared, no status yet
