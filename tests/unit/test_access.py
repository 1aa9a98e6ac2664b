"""driftguard.access: may the remediation role's session call an action (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from driftguard.access import Caller, allowing, denials, label, public_allows
from driftguard.arns import Arn
from driftguard.policy import Policy, Statement

ROLE = "arn:aws:iam::333333333333:role/driftguard-remediation"
ROOT = "arn:aws:iam::333333333333:root"
SESSION = "arn:aws:sts::333333333333:assumed-role/driftguard-remediation/driftguard"
CALLER = Caller.assuming(ROLE, "driftguard")
KEY = Arn.parse("arn:aws:kms:us-east-1:333333333333:key/0f6a3c2e")
PUT = "kms:PutKeyPolicy"


def policy(*statements: dict[str, Any]) -> Policy:
    return Policy.parse({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: object, action: object = "kms:*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"} | extra


def deny(principal: object = "*", action: object = "kms:*", **extra: Any) -> dict[str, Any]:
    """A Deny statement; principal None leaves Principal out (for NotPrincipal)."""
    statement = {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": "*"}
    if principal is None:
        del statement["Principal"]
    return statement | extra


def exempt(operator: str, value: str) -> dict[str, Any]:
    return {"Condition": {operator: {"aws:PrincipalArn": value}}}


@pytest.mark.parametrize(
    ("partition", "role", "root", "session"),
    [
        ("aws", ROLE, ROOT, SESSION),
        (
            "aws-us-gov",
            "arn:aws-us-gov:iam::333333333333:role/ops/driftguard-remediation",
            "arn:aws-us-gov:iam::333333333333:root",
            "arn:aws-us-gov:sts::333333333333:assumed-role/driftguard-remediation/driftguard",
        ),
        (
            "aws-cn",
            "arn:aws-cn:iam::333333333333:role/driftguard-remediation",
            "arn:aws-cn:iam::333333333333:root",
            "arn:aws-cn:sts::333333333333:assumed-role/driftguard-remediation/driftguard",
        ),
    ],
)
def test_a_caller_is_its_role_its_account_and_its_session(
    partition: str, role: str, root: str, session: str
) -> None:
    caller = Caller.assuming(role, "driftguard")
    assert (caller.root, caller.session_arn) == (root, session)
    assert caller.identities == {role, root, session}


# --------------------------------------------------------------------------- Allow

GOV_KEY = Arn.parse("arn:aws-us-gov:kms:us-gov-west-1:333333333333:key/0f6a3c2e")
GOV_CALLER = Caller.assuming("arn:aws-us-gov:iam::333333333333:role/driftguard-remediation", "s")
CN_KEY = Arn.parse("arn:aws-cn:kms:cn-north-1:333333333333:key/0f6a3c2e")
CN_CALLER = Caller.assuming("arn:aws-cn:iam::333333333333:role/driftguard-remediation", "s")


@pytest.mark.parametrize(
    ("statement", "granted"),
    [
        (allow({"AWS": ROOT}), True),
        (allow({"AWS": "333333333333"}), True),  # the bare account id is the root
        (allow({"AWS": ROLE}, "kms:PutKeyPolicy"), True),
        (allow({"AWS": ROLE}, "KMS:Put*"), True),
        (allow("*"), True),
        (allow({"AWS": "*"}), True),
        (allow({"AWS": ROOT}, "*"), True),
        (allow({"AWS": ROOT}, Resource=KEY.text), True),
        (allow({"AWS": ROOT}, Resource="arn:aws:kms:us-east-1:333333333333:key/*"), True),
        ({"Effect": "Allow", "Principal": {"AWS": ROOT}, "NotAction": "kms:Decrypt"}, True),
        ({"Effect": "Allow", "Principal": {"AWS": ROOT}, "NotAction": "kms:Put*"}, False),
        (allow({"AWS": ROOT}, "kms:Decrypt"), False),
        (allow({"AWS": ROOT}, "kms:PutKeyPolicyX"), False),
        (allow({"AWS": "arn:aws:iam::111111111111:root"}), False),  # another account
        (allow({"AWS": "arn:aws:iam::333333333333:role/other"}), False),
        (allow({"Service": "kms.amazonaws.com"}), False),
        (allow({"AWS": SESSION}), False),  # only role, root or everyone count
        (allow({"AWS": ROOT}, Resource="arn:aws:kms:us-east-1:333333333333:key/other"), False),
        (allow({"AWS": ROOT}, Condition={"Bool": {"aws:SecureTransport": "true"}}), False),
        ({"Effect": "Allow", "NotPrincipal": {"AWS": ROOT}, "Action": "kms:*"}, False),
        (deny({"AWS": ROOT}), False),
    ],
)
def test_an_allow_counts_only_when_it_plainly_grants(
    statement: dict[str, Any], granted: bool
) -> None:
    found = allowing(policy(statement), CALLER, PUT, KEY)
    assert (found is not None) is granted


@pytest.mark.parametrize(
    ("key", "caller", "principal", "granted"),
    [
        (GOV_KEY, GOV_CALLER, "333333333333", True),
        (GOV_KEY, GOV_CALLER, "arn:aws-us-gov:iam::333333333333:root", True),
        (GOV_KEY, GOV_CALLER, ROOT, False),  # the commercial partition's root
        (CN_KEY, CN_CALLER, "333333333333", True),
        (CN_KEY, CN_CALLER, "arn:aws-cn:iam::333333333333:root", True),
        (CN_KEY, CN_CALLER, "arn:aws-us-gov:iam::333333333333:root", False),
    ],
)
def test_account_ids_are_roots_in_the_resources_own_partition(
    key: Arn, caller: Caller, principal: str, granted: bool
) -> None:
    found = allowing(policy(allow({"AWS": principal})), caller, PUT, key)
    assert (found is not None) is granted


def test_the_grant_is_named_by_its_sid_or_position() -> None:
    granting = policy(allow({"AWS": ROOT}, "kms:Decrypt"), allow({"AWS": ROOT}))
    assert allowing(granting, CALLER, PUT, KEY) == "Statement[1]"
    named = policy(allow({"AWS": ROOT}, Sid="KeyAdmins"))
    assert allowing(named, CALLER, PUT, KEY) == 'statement "KeyAdmins"'
    assert label(3, Statement(sid=None, effect="Allow")) == "Statement[3]"


# --------------------------------------------------------------------------- Deny

NOT_ALL_THREE = {"AWS": [ROLE, ROOT, SESSION]}


@pytest.mark.parametrize(
    ("statement", "denied"),
    [
        (deny("*"), True),
        (deny({"AWS": "*"}), True),
        (deny({"AWS": ROOT}), True),
        (deny({"AWS": "333333333333"}), True),
        (deny({"AWS": ROLE}), True),
        (deny({"AWS": SESSION}), True),
        (deny({"AWS": ROLE}, "kms:PutKeyPolicy"), True),
        (deny({"AWS": ROLE}, "kms:put*"), True),
        (deny({"AWS": "arn:aws:iam::333333333333:role/other"}), False),
        (deny({"AWS": "arn:aws:sts::333333333333:assumed-role/driftguard-remediation/x"}), False),
        (deny({"AWS": "arn:aws:iam::111111111111:root"}), False),
        (deny({"Service": "kms.amazonaws.com"}), False),
        (deny("*", "kms:Decrypt"), False),
        # NotAction: denies everything it does not name.
        ({"Effect": "Deny", "Principal": "*", "NotAction": "kms:Decrypt"}, True),
        ({"Effect": "Deny", "Principal": "*", "NotAction": ["kms:Put*", "kms:Get*"]}, False),
        # NotPrincipal: spares the session only when it names account, role and session.
        ({"Effect": "Deny", "NotPrincipal": {"AWS": ROOT}, "Action": "kms:*"}, True),
        ({"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "kms:*"}, True),
        ({"Effect": "Deny", "NotPrincipal": {"AWS": [ROLE, ROOT]}, "Action": "kms:*"}, True),
        ({"Effect": "Deny", "NotPrincipal": NOT_ALL_THREE, "Action": "kms:*"}, False),
        (deny(None, NotPrincipal={"AWS": ["333333333333", ROLE, SESSION]}), False),
        (allow("*"), False),
    ],
)
def test_a_deny_reaches_the_session_by_any_of_its_names(
    statement: dict[str, Any], denied: bool
) -> None:
    found = denials(policy(statement), CALLER, [PUT], KEY)
    assert bool(found) is denied
    assert all(not d.unevaluated for d in found)


@pytest.mark.parametrize(
    ("condition", "spared"),
    [
        (exempt("StringNotEquals", ROLE), True),
        (exempt("StringNotLike", "arn:aws:iam::333333333333:role/driftguard-*"), True),
        (exempt("ArnNotEquals", ROLE), True),
        (exempt("ArnNotLike", "arn:aws:iam::*:role/driftguard-remediation"), True),
        (exempt("ArnNotLike", "arn:aws:iam::333333333333:*"), True),
        # aws:PrincipalArn always exists: the IfExists forms mean the same.
        (exempt("StringNotEqualsIfExists", ROLE), True),
        (exempt("StringNotLikeIfExists", "arn:aws:iam::333333333333:role/*"), True),
        (exempt("ArnNotEqualsIfExists", ROLE), True),
        (exempt("ArnNotLikeIfExists", "arn:aws:iam::333333333333:role/*"), True),
        ({"Condition": {"StringNotEquals": {"aws:PrincipalArn": [ROOT, ROLE]}}}, True),
        # Key names are case-insensitive.
        ({"Condition": {"ArnNotEquals": {"AWS:PRINCIPALARN": ROLE}}}, True),
        # One exempting condition is enough: a Deny's conditions are ANDed.
        (
            {
                "Condition": {
                    "ArnNotEquals": {"aws:PrincipalArn": ROLE},
                    "StringEquals": {"aws:SourceVpc": "vpc-1"},
                }
            },
            True,
        ),
        # Not the role: another role, another partition, a pattern StringNotEquals
        # takes literally, ARN parts that do not line up.
        (exempt("ArnNotEquals", "arn:aws:iam::333333333333:role/other"), False),
        (
            exempt("ArnNotEquals", "arn:aws-us-gov:iam::333333333333:role/driftguard-remediation"),
            False,
        ),
        (exempt("StringNotEquals", "arn:aws:iam::333333333333:role/*"), False),
        (exempt("ArnNotLike", "arn:aws:iam:*:role/driftguard-remediation"), False),
        (exempt("StringNotEquals", ROLE.upper()), False),
        # Operators that do not exempt it, and keys other than aws:PrincipalArn.
        (exempt("StringEquals", ROLE), False),
        (exempt("ForAnyValue:StringNotEquals", ROLE), False),
        ({"Condition": {"StringNotEquals": {"aws:userid": ROLE}}}, False),
        ({"Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}, False),
    ],
)
def test_only_a_condition_excluding_the_roles_arn_spares_it(
    condition: dict[str, Any], spared: bool
) -> None:
    found = denials(policy(deny("*", **condition)), CALLER, [PUT], KEY)
    if spared:
        assert found == []
    else:  # counted, as a Deny under conditions driftguard cannot evaluate
        assert [bool(d.unevaluated) for d in found] == [True]


def test_a_denial_names_the_statement_the_actions_and_the_fix() -> None:
    unconditional = deny("*", Sid="NoChanges")
    conditional = deny("*", "kms:Put*", Condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}})
    found = denials(
        policy(unconditional, conditional), CALLER, ["kms:GetKeyPolicy", PUT, "kms:Sign"], KEY
    )
    assert [(d.statement, d.actions) for d in found] == [
        ('statement "NoChanges"', ("kms:GetKeyPolicy", PUT, "kms:Sign")),
        ("Statement[1]", (PUT,)),
    ]
    plain, unevaluated = (d.explain() for d in found)
    assert plain.startswith(f'statement "NoChanges" denies kms:GetKeyPolicy, {PUT}')
    assert '{"ArnNotEquals": {"aws:PrincipalArn": "' + ROLE + '"}}' in plain
    assert "cannot evaluate (StringEquals aws:sourcevpc)" in unevaluated
    assert "refusing a policy is safer than locking driftguard out" in unevaluated


@pytest.mark.parametrize(
    ("key", "caller", "principal", "denied"),
    [
        (GOV_KEY, GOV_CALLER, "333333333333", True),
        (GOV_KEY, GOV_CALLER, ROOT, False),
        (CN_KEY, CN_CALLER, "333333333333", True),
        (CN_KEY, CN_CALLER, "arn:aws-cn:iam::333333333333:role/driftguard-remediation", True),
        (CN_KEY, CN_CALLER, ROLE, False),
    ],
)
def test_denials_in_govcloud_and_china(
    key: Arn, caller: Caller, principal: str, denied: bool
) -> None:
    assert bool(denials(policy(deny({"AWS": principal})), caller, [PUT], key)) is denied


# --------------------------------------------------------------------------- public


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        (allow("*"), True),
        (allow({"AWS": "*"}), True),
        (allow({"AWS": [ROLE, "*"]}), True),
        ({"Effect": "Allow", "NotPrincipal": {"AWS": ROLE}, "Action": "kms:*"}, True),
        (allow("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}), False),
        (allow({"AWS": ROOT}), False),
        (allow({"AWS": ROLE}), False),
        (deny("*"), False),
    ],
)
def test_public_allows_are_unconditional_allows_to_everyone(
    statement: dict[str, Any], public: bool
) -> None:
    assert bool(public_allows(policy(statement), "aws")) is public
