"""Hygiene around a path, and how a verdict is stored (pure): node roles let into the
key or secret, a missing permissions boundary; `since` moves only with the broken link."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftguard.path_check import PathVerdict, status_of
from driftguard.path_hygiene import hygiene, is_node_role_trust, named_roles
from driftguard.path_model import AccessPath, Irsa, PathDeclaration, PathFacts
from driftguard.path_store import PathStatus
from driftguard.paths import LinkResult
from driftguard.vocabulary import Link, Mode, PathFinding

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::111111111111:role/pod-role"
NODE = "arn:aws:iam::111111111111:role/eks-node-group-role"
BOUNDARY = "arn:aws:iam::111111111111:policy/workload-boundary"
PATH = AccessPath(
    ROLE,
    "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf",
    "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    Irsa("arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X", "n", "s"),
)
DECLARED = PathDeclaration("p", PATH, Mode.ENFORCE, 1, "someone", NOW)


def allow(*principals: str, effect: str = "Allow") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": effect,
                "Principal": {"AWS": list(principals)},
                "Action": "*",
                "Resource": "*",
            }
        ],
    }


def trust(service: str) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_named_roles_are_the_roles_allow_statements_of_both_policies_name() -> None:
    facts = PathFacts(
        region="us-east-1",
        role_exists=True,
        key_policy=allow(ROLE, "arn:aws:iam::333333333333:root"),
        secret_policy={
            "Version": "2012-10-17",
            "Statement": [
                allow(NODE)["Statement"][0],
                allow("arn:aws:iam::111111111111:role/denied", effect="Deny")["Statement"][0],
            ],
        },
    )
    assert named_roles(facts) == {ROLE, NODE}  # not the account, not a Deny
    assert named_roles(replace(facts, key_policy={"not": "a policy"})) == {NODE}


@pytest.mark.parametrize(
    ("document", "node"),
    [
        (trust("ec2.amazonaws.com"), True),
        (trust("pods.eks.amazonaws.com"), False),
        (trust("lambda.amazonaws.com"), False),
        ({"broken": True}, False),
    ],
)
def test_a_node_role_is_one_ec2_may_assume(document: dict[str, Any], node: bool) -> None:
    assert is_node_role_trust(document) is node


def test_a_node_role_let_in_is_a_finding_with_the_fix() -> None:
    facts = PathFacts(region="us-east-1", role_exists=True)
    (found,) = hygiene(DECLARED, facts, [NODE, NODE])
    assert found.finding is PathFinding.NODE_ROLE_GRANTED
    assert NODE in found.detail and NODE in found.fix and ROLE in found.fix
    assert hygiene(DECLARED, facts) == ()


@pytest.mark.parametrize(
    ("wanted", "has", "finding"),
    [
        (None, None, False),  # none asked for
        (BOUNDARY, BOUNDARY, False),
        (BOUNDARY, None, True),
        (BOUNDARY, "arn:aws:iam::111111111111:policy/other", True),
    ],
)
def test_a_missing_or_other_boundary_is_a_finding(
    wanted: str | None, has: str | None, finding: bool
) -> None:
    facts = PathFacts(region="us-east-1", role_exists=True, boundary_arn=has)
    found = hygiene(replace(DECLARED, boundary_arn=wanted), facts)
    assert [h.finding for h in found] == ([PathFinding.BOUNDARY_MISSING] if finding else [])
    if finding:
        assert found[0].fix == (
            "aws iam put-role-permissions-boundary --role-name pod-role "
            f"--permissions-boundary {BOUNDARY}"
        )


def test_a_role_that_does_not_exist_is_a_broken_link_not_a_boundary_finding() -> None:
    facts = PathFacts(region="us-east-1", role_exists=False)
    assert hygiene(replace(DECLARED, boundary_arn=BOUNDARY), facts) == ()


def verdict(*broken: Link, at: datetime = NOW) -> PathVerdict:
    links = tuple(LinkResult(link, link not in broken, f"{link} reason", "fix") for link in Link)
    return PathVerdict(DECLARED, links, (), at)


def test_a_stored_verdict_keeps_since_while_the_same_link_stays_broken() -> None:
    first = status_of(verdict(Link.KEY_STATE, Link.KEY_POLICY), None)
    assert (first.broken, first.since, first.failing) == (
        Link.KEY_STATE,
        NOW,
        (Link.KEY_STATE, Link.KEY_POLICY),
    )
    assert first.reason == "key-state reason" and first.fix == "fix"
    later = NOW + timedelta(hours=1)
    same = status_of(verdict(Link.KEY_STATE, at=later), first)
    assert (same.since, same.checked_at) == (NOW, later)
    other = status_of(verdict(Link.TRUST, at=later), first)
    assert other.since == later
    healed = status_of(verdict(at=later), first)
    assert healed == PathStatus("p", None, "every link holds", "", 1, later, later, ())
