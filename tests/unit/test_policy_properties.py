"""Property tests: normalization and semantic comparison survive any reshaping."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from driftguard.classify import classify
from driftguard.policy import Policy, diff, is_unique_id
from driftguard.vocabulary import Finding
from tests.support.properties import PROPERTIES

ACCOUNTS = ["111111111111", "333333333333", "444455556666"]
SERVICES = ["kms.amazonaws.com", "logs.amazonaws.com", "secretsmanager.amazonaws.com"]
FEDERATED = [
    "cognito-identity.amazonaws.com",
    "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
]
CANONICAL = ["79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"]
ACTIONS = [
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKey*",
    "kms:Describe*",
    "kms:Get?eyPolicy",
    "kms:*",
    "secretsmanager:GetSecretValue",
    "secretsmanager:*",
    "*",
]
RESOURCES = [
    "*",
    "arn:aws:kms:eu-west-1:333333333333:key/1234abcd",
    "arn:aws:kms:*:333333333333:key/*",
    "arn:aws:secretsmanager:eu-west-1:333333333333:secret:db-AbCdEf",
]
COND_OPERATORS = [
    "StringEquals",
    "StringLike",
    "Bool",
    "NumericLessThan",
    "ForAnyValue:StringEquals",
]
COND_KEYS = [
    "kms:CallerAccount",
    "kms:ViaService",
    "aws:SecureTransport",
    "aws:PrincipalOrgID",
    "aws:MultiFactorAuthAge",
]
UNIQUE_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def random_case(value: str) -> st.SearchStrategy[str]:
    # One integer as a bit mask is far cheaper to generate than a list of booleans.
    def apply(mask: int) -> str:
        return "".join(c.upper() if mask >> i & 1 else c.lower() for i, c in enumerate(value))

    return st.integers(0, 2 ** len(value) - 1).map(apply)


# Strategies are built once at import: building them inside @composite functions on every
# draw made Hypothesis spend most of the run validating strategies.
unique_ids = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["AROA", "AIDA"]),
    st.text(UNIQUE_ID_CHARS, min_size=17, max_size=17),
)
_aws_base = [
    st.just("*"),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(ACCOUNTS).map(root),
    st.sampled_from(ACCOUNTS).map(lambda a: f"arn:aws:iam::{a}:role/pod-role"),
    st.sampled_from(ACCOUNTS).map(lambda a: f"arn:aws:iam::{a}:user/alice"),
]
PRINCIPAL_VALUES = {
    with_ids: {
        "AWS": st.lists(
            st.one_of([*_aws_base, unique_ids] if with_ids else _aws_base),
            min_size=1,
            max_size=3,
            unique=True,
        ),
        "Service": st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True),
        "Federated": st.lists(st.sampled_from(FEDERATED), min_size=1, max_size=2, unique=True),
        "CanonicalUser": st.lists(st.sampled_from(CANONICAL), min_size=1, max_size=1),
    }
    for with_ids in (False, True)
}
PRINCIPAL_KINDS = st.lists(
    st.sampled_from(["AWS", "Service", "Federated", "CanonicalUser"]),
    min_size=1,
    max_size=3,
    unique=True,
)
ACTION_LISTS = st.lists(st.one_of([random_case(a) for a in ACTIONS]), min_size=1, max_size=4)
RESOURCE_LISTS = st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=3, unique=True)
COND_OPERATOR_LISTS = st.lists(st.sampled_from(COND_OPERATORS), min_size=1, max_size=2, unique=True)
COND_KEY_LISTS = st.lists(
    st.one_of([random_case(k) for k in COND_KEYS]),
    min_size=1,
    max_size=2,
    unique_by=str.lower,  # two spellings of one key are a parse error
)
COND_VALUE_LISTS = st.lists(
    st.one_of(
        st.sampled_from(["111111111111", "o-abc123", "eu-west-1", "Blue"]),
        st.booleans(),
        st.integers(0, 5000),
    ),
    min_size=1,
    max_size=3,
)
SIDS = st.sampled_from(["A", "B", "Stmt1", "Enable IAM User Permissions"])
EFFECTS = st.sampled_from(["Allow", "Deny"])
PRINCIPAL_MODES = st.sampled_from(["Principal", "Principal", "NotPrincipal", "star", "none"])
ACTION_KEYS = st.sampled_from(["Action", "Action", "Action", "NotAction"])
RESOURCE_KEYS = st.sampled_from(["Resource", "Resource", "NotResource", None])


def shaped(draw: st.DrawFn, values: list[Any]) -> Any:
    """A single value may be written as a string or a one-element list."""
    if len(values) == 1 and draw(st.booleans()):
        return values[0]
    return values


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    return {
        operator: {key: shaped(draw, draw(COND_VALUE_LISTS)) for key in draw(COND_KEY_LISTS)}
        for operator in draw(COND_OPERATOR_LISTS)
    }


CONDITIONS = conditions()


@st.composite
def statements(draw: st.DrawFn, with_ids: bool) -> dict[str, Any]:
    s: dict[str, Any] = {}
    if draw(st.booleans()):
        s["Sid"] = draw(SIDS)
    s["Effect"] = draw(EFFECTS)
    mode = draw(PRINCIPAL_MODES)
    if mode == "star":
        s["Principal"] = "*"
    elif mode != "none":
        values = PRINCIPAL_VALUES[with_ids]
        s[mode] = {kind: shaped(draw, draw(values[kind])) for kind in draw(PRINCIPAL_KINDS)}
    s[draw(ACTION_KEYS)] = shaped(draw, draw(ACTION_LISTS))
    resource_key = draw(RESOURCE_KEYS)
    if resource_key is not None:
        s[resource_key] = shaped(draw, draw(RESOURCE_LISTS))
    if draw(st.booleans()):
        s["Condition"] = draw(CONDITIONS)
    return s


STATEMENT_LISTS = {
    with_ids: st.lists(statements(with_ids), min_size=1, max_size=5) for with_ids in (False, True)
}


@st.composite
def policy_docs(draw: st.DrawFn, with_ids: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["Version"] = "2012-10-17"
    if draw(st.booleans()):
        doc["Id"] = "key-policy"
    body = draw(STATEMENT_LISTS[with_ids])
    doc["Statement"] = body[0] if len(body) == 1 and draw(st.booleans()) else body
    return doc


# --------------------------------------------------------------------------- reshaping


def _values(value: Any) -> list[Any]:
    return [value] if not isinstance(value, list) else list(value)


def _reshape_list(value: Any, rnd: random.Random) -> Any:
    items = _values(value)
    rnd.shuffle(items)
    if len(set(map(str, items))) == 1 and rnd.random() < 0.5:
        return items[0]
    return items


def _recase(text: str, rnd: random.Random) -> str:
    return "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in text)


def _reshape_aws(value: str, rnd: random.Random) -> str:
    if value in ACCOUNTS and rnd.random() < 0.5:
        return root(value)
    for account in ACCOUNTS:
        if value == root(account) and rnd.random() < 0.5:
            return account
    return value


def _reshape_principal(block: Any, rnd: random.Random) -> Any:
    if block == "*":
        return rnd.choice(["*", {"AWS": "*"}, {"AWS": ["*"]}])
    if set(block) == {"AWS"} and set(_values(block["AWS"])) == {"*"} and rnd.random() < 0.5:
        return "*"
    items = list(block.items())
    rnd.shuffle(items)
    out: dict[str, Any] = {}
    for kind, values in items:
        values = _values(values)
        if kind == "AWS":
            values = [_reshape_aws(v, rnd) for v in values]
        out[kind] = _reshape_list(values, rnd)
    return out


def _reshape_condition_value(value: Any, rnd: random.Random) -> Any:
    if rnd.random() < 0.5:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value


def _reshape_conditions(block: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for operator, entries in block.items():
        items = list(entries.items())
        rnd.shuffle(items)
        out[operator] = {
            _recase(key, rnd): _reshape_list(
                [_reshape_condition_value(v, rnd) for v in _values(values)], rnd
            )
            for key, values in items
        }
    return out


def cosmetic(doc: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    """Changes that leave the normalized policy identical (so its rendering too)."""
    doc = copy.deepcopy(doc)
    body = _values(doc["Statement"])
    for s in body:
        for key in ("Principal", "NotPrincipal"):
            if key in s:
                s[key] = _reshape_principal(s[key], rnd)
        for key in ("Action", "NotAction"):
            if key in s:
                s[key] = _reshape_list([_recase(a, rnd) for a in _values(s[key])], rnd)
        for key in ("Resource", "NotResource"):
            if key in s:
                s[key] = _reshape_list(s[key], rnd)
        if "Condition" in s:
            s["Condition"] = _reshape_conditions(s["Condition"], rnd)
    if rnd.random() < 0.3:
        body.append(copy.deepcopy(rnd.choice(body)))
    rnd.shuffle(body)
    doc["Statement"] = body[0] if len(body) == 1 and rnd.random() < 0.5 else body
    return doc


def reshaped(doc: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    """Cosmetic changes plus splitting statements and relabelling: same grants."""
    doc = cosmetic(doc, rnd)
    out: list[dict[str, Any]] = []
    for s in _values(doc["Statement"]):
        pieces = [s]
        if "Action" in s and rnd.random() < 0.5:
            pieces = [{**p, "Action": a} for p in pieces for a in _values(p["Action"])]
        if isinstance(s.get("Principal"), dict) and rnd.random() < 0.5:
            pieces = [
                {**p, "Principal": {kind: v}}
                for p in pieces
                for kind, values in p["Principal"].items()
                for v in _values(values)
            ]
        for p in pieces:
            label = rnd.choice([None, "Relabelled", "X1"])
            p.pop("Sid", None)
            if label is not None:
                p["Sid"] = label
        out.extend(pieces)
    rnd.shuffle(out)
    doc["Statement"] = out
    doc["Id"] = "another-label"
    return doc


# --------------------------------------------------------------------------- properties

# The reshaping is driven by a plain Random seeded from Hypothesis: st.randoms() records
# every call and made the reshaping dominate the run time.
seeds = st.integers(0, 2**32 - 1).map(random.Random)


@PROPERTIES
@given(policy_docs(with_ids=True))
def test_normalizing_twice_changes_nothing(doc: dict[str, Any]) -> None:
    once = Policy.parse(doc).normalized()
    # A fresh object, so normalizing is really done again (``once`` is its own cache).
    assert Policy(once.version, once.id, once.statements).normalized() == once
    assert once.to_dict() == Policy.parse(doc).normalized().to_dict()


@PROPERTIES
@given(policy_docs(with_ids=True), seeds)
def test_cosmetic_changes_keep_the_normalized_form(doc: dict[str, Any], rnd: random.Random) -> None:
    original, other = Policy.parse(doc), Policy.parse(cosmetic(doc, rnd))
    assert other.normalized() == original.normalized()
    assert other.normalized().to_dict() == original.normalized().to_dict()


@PROPERTIES
@given(policy_docs(), seeds)
def test_reshaping_is_semantically_equal(doc: dict[str, Any], rnd: random.Random) -> None:
    original, other = Policy.parse(doc), Policy.parse(reshaped(doc, rnd))
    assert original.semantically_equal(other)
    assert other.semantically_equal(original)
    assert diff(original, other).is_empty
    assert diff(other, original).is_empty
    assert classify(original, other).in_sync
    assert classify(other, original).in_sync


@PROPERTIES
@given(policy_docs(with_ids=True))
def test_diff_with_itself_is_empty(doc: dict[str, Any]) -> None:
    policy = Policy.parse(doc)
    result = diff(policy, policy)
    assert result.is_empty
    assert result.summary() == "no changes"


@PROPERTIES
@given(policy_docs(with_ids=True))
def test_classify_with_itself(doc: dict[str, Any]) -> None:
    policy = Policy.parse(doc)
    ids = frozenset(
        p.value
        for s in policy.statements
        for group in (s.principals, s.not_principals)
        for p in group or ()
        if is_unique_id(p.value)
    )
    result = classify(policy, policy)
    # A unique ID is an orphan even when declared (it can never be put back); nothing else.
    assert result.findings == (frozenset({Finding.ORPHANED_PRINCIPAL}) if ids else frozenset())
    assert result.orphaned_ids == ids


@PROPERTIES
@given(policy_docs(with_ids=True))
def test_normalized_rendering_round_trips(doc: dict[str, Any]) -> None:
    policy = Policy.parse(doc)
    again = Policy.parse(json.dumps(policy.normalized().to_dict()))
    assert again.semantically_equal(policy)
    assert again.normalized() == policy.normalized()
    assert again.normalized().to_dict() == policy.normalized().to_dict()


INTRUDER = {
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::999999999999:role/intruder"},
    "Action": "kms:Decrypt",
    "Resource": "*",
    # A condition nobody else uses, so no generated statement can cover this grant.
    "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-intruder"}},
}


@PROPERTIES
@given(policy_docs(), seeds)
def test_an_added_grant_is_always_seen(doc: dict[str, Any], rnd: random.Random) -> None:
    base = Policy.parse(doc)
    grown_doc = reshaped(doc, rnd)
    grown_doc["Statement"].append(INTRUDER)
    grown = Policy.parse(grown_doc)
    assert not base.semantically_equal(grown)
    forward = diff(base, grown)
    assert len(forward.added_grants) == 1 and not forward.removed_grants
    assert classify(base, grown).findings == frozenset({Finding.WIDENED})
    assert classify(grown, base).findings == frozenset({Finding.NARROWED})
