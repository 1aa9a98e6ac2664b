"""Unit tests for driftguard.classify: before/after pairs for each finding, and severity."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import driftguard.policy
from driftguard.classify import Classification, classify
from driftguard.policy import MAX_ATOMS, Policy, PolicyDiff, diff
from driftguard.vocabulary import Finding, Severity
from tests.support.policies import replace_principal

ROOT_333 = "arn:aws:iam::333333333333:root"
ROOT_111 = "arn:aws:iam::111111111111:root"
POD_ROLE = "arn:aws:iam::111111111111:role/pod-role"
OTHER_ROLE = "arn:aws:iam::111111111111:role/batch-role"
USER = "arn:aws:iam::111111111111:user/alice"
FOREIGN_ROOT = "arn:aws:iam::444455556666:root"
ORPHAN_ID = "AROA" + "ABCDEFGHIJ1234567"
ORPHAN_ID_2 = "AROA" + "ZYXWVUTSRQ7654321"
ORPHAN_USER_ID = "AIDA" + "ABCDEFGHIJ1234567"
KEY_ARN = "arn:aws:kms:eu-west-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

WIDE, NARROW, ORPHAN, MISS = (
    Finding.WIDENED,
    Finding.NARROWED,
    Finding.ORPHANED_PRINCIPAL,
    Finding.MISSING,
)


def kms_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": ROOT_333},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "AllowPodRole",
                "Effect": "Allow",
                "Principal": {"AWS": POD_ROLE},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            },
        ],
    }


def with_pod(**changes: Any) -> dict[str, Any]:
    """The story policy with the pod-role statement changed (``...`` deletes a key)."""
    doc = kms_policy()
    for key, value in changes.items():
        if value is ...:
            doc["Statement"][1].pop(key)
        else:
            doc["Statement"][1][key] = value
    return doc


def with_extra(*statements: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(base) if base is not None else kms_policy()
    doc["Statement"].extend(statements)
    return doc


DENY_DELETE = {
    "Sid": "DenyDelete",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "kms:ScheduleKeyDeletion",
    "Resource": "*",
}


def findings(declared: dict[str, Any], live: dict[str, Any]) -> frozenset[Finding]:
    return classify(Policy.parse(declared), Policy.parse(live)).findings


# --------------------------------------------------------------------------- in sync


class TestInSync:
    def test_identical(self) -> None:
        result = classify(Policy.parse(kms_policy()), Policy.parse(kms_policy()))
        assert result.in_sync
        assert result.findings == frozenset()
        assert result.severity is Severity.NONE
        assert result.orphaned_ids == frozenset()
        assert isinstance(result.diff, PolicyDiff) and result.diff.is_empty

    def test_reshaped(self) -> None:
        live = {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [POD_ROLE]},
                    "Action": "KMS:DECRYPT",
                    "Resource": ["*"],
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "333333333333"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": POD_ROLE},
                    "Action": "kms:describekey",
                    "Resource": "*",
                },
            ]
        }
        assert findings(kms_policy(), live) == frozenset()

    def test_condition_key_case(self) -> None:
        a = with_pod(
            Condition={"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}
        )
        b = with_pod(
            Condition={
                "StringEquals": {"KMS:viaservice": ["secretsmanager.eu-west-1.amazonaws.com"]}
            }
        )
        assert findings(a, b) == frozenset()


# --------------------------------------------------------------------------- missing


def test_missing() -> None:
    result = classify(Policy.parse(kms_policy()), None)
    assert result.findings == frozenset({MISS})
    assert result.diff is None
    assert result.severity == "high"
    assert not result.in_sync


# --------------------------------------------------------------------------- widened


class TestWidened:
    def test_story_foreign_account_added(self) -> None:
        live = with_pod(Principal={"AWS": [POD_ROLE, FOREIGN_ROOT]})
        result = classify(Policy.parse(kms_policy()), Policy.parse(live))
        assert result.findings == frozenset({WIDE})
        assert result.severity == "critical"
        assert result.diff is not None
        assert result.diff.added_principals == frozenset({FOREIGN_ROOT})

    def test_action_wildcard_replacing_specific_is_widened_only(self) -> None:
        assert findings(kms_policy(), with_pod(Action="kms:*")) == frozenset({WIDE})

    def test_partial_wildcard_covers_the_action_it_replaced(self) -> None:
        live = with_pod(Action=["kms:Decrypt", "kms:Describe*"])
        assert findings(kms_policy(), live) == frozenset({WIDE})

    def test_question_mark_does_not_cover_star(self) -> None:
        declared = with_pod(Action="kms:Get?")
        assert findings(declared, with_pod(Action="kms:Get*")) == frozenset({WIDE})
        assert findings(with_pod(Action="kms:Get*"), declared) == frozenset({NARROW})

    def test_everyone_replacing_role_is_widened_only(self) -> None:
        assert findings(kms_policy(), with_pod(Principal="*")) == frozenset({WIDE})

    def test_account_root_does_not_cover_its_roles(self) -> None:
        # Conservative: root delegates to IAM, but we do not count that as covering.
        assert findings(kms_policy(), with_pod(Principal={"AWS": ROOT_111})) == frozenset(
            {WIDE, NARROW}
        )

    def test_resource_star_replacing_key_arn(self) -> None:
        declared = with_pod(Resource=KEY_ARN)
        assert findings(declared, with_pod(Resource="*")) == frozenset({WIDE})
        assert findings(with_pod(Resource="*"), declared) == frozenset({NARROW})

    def test_resource_wildcards_are_case_sensitive(self) -> None:
        declared = with_pod(Resource="arn:aws:kms:eu-west-1:333333333333:key/*")
        assert findings(declared, with_pod(Resource=KEY_ARN)) == frozenset({NARROW})
        assert findings(declared, with_pod(Resource=KEY_ARN.upper())) == frozenset({WIDE, NARROW})

    def test_new_service_principal(self) -> None:
        live = with_pod(Principal={"AWS": POD_ROLE, "Service": "logs.amazonaws.com"})
        assert findings(kms_policy(), live) == frozenset({WIDE})

    def test_deny_removed(self) -> None:
        assert findings(with_extra(DENY_DELETE), kms_policy()) == frozenset({WIDE})

    def test_deny_made_narrower(self) -> None:
        declared = with_extra({**DENY_DELETE, "Action": "kms:*"})
        # kms:* is still allowed to root; the Deny now covers only deletion.
        assert findings(declared, with_extra(DENY_DELETE)) == frozenset({WIDE})

    def test_condition_dropped_is_widened_and_narrowed(self) -> None:
        # Conditions must be equal to cover: the live grant is new, the declared one gone.
        declared = with_pod(Condition={"StringEquals": {"kms:CallerAccount": "111111111111"}})
        assert findings(declared, kms_policy()) == frozenset({WIDE, NARROW})

    def test_not_action_allow_added(self) -> None:
        live = with_extra(
            {
                "Effect": "Allow",
                "Principal": {"AWS": POD_ROLE},
                "NotAction": "kms:Delete*",
                "Resource": "*",
            }
        )
        assert findings(kms_policy(), live) == frozenset({WIDE})


# --------------------------------------------------------------------------- narrowed


class TestNarrowed:
    def test_action_removed(self) -> None:
        result = classify(
            Policy.parse(kms_policy()), Policy.parse(with_pod(Action="kms:DescribeKey"))
        )
        assert result.findings == frozenset({NARROW})
        assert result.severity == "medium"

    def test_statement_removed_without_orphan(self) -> None:
        live = kms_policy()
        live["Statement"].pop(1)
        assert findings(kms_policy(), live) == frozenset({NARROW})

    def test_root_wildcard_narrowed_to_pattern(self) -> None:
        live = kms_policy()
        live["Statement"][0]["Action"] = "kms:Describe*"
        assert findings(kms_policy(), live) == frozenset({NARROW})

    def test_deny_added(self) -> None:
        assert findings(kms_policy(), with_extra(DENY_DELETE)) == frozenset({NARROW})

    def test_deny_broadened(self) -> None:
        live = with_extra({**DENY_DELETE, "Action": "kms:*"})
        assert findings(with_extra(DENY_DELETE), live) == frozenset({NARROW})

    def test_not_action_grows(self) -> None:
        declared = with_extra(
            {
                "Effect": "Allow",
                "Principal": {"AWS": OTHER_ROLE},
                "NotAction": "kms:Delete*",
                "Resource": "*",
            }
        )
        live = copy.deepcopy(declared)
        live["Statement"][2]["NotAction"] = ["kms:Delete*", "kms:ScheduleKeyDeletion"]
        assert findings(declared, live) == frozenset({NARROW})
        assert findings(live, declared) == frozenset({WIDE})

    def test_not_principal_deny_exception_removed(self) -> None:
        deny = {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": [ROOT_333, POD_ROLE]},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
        live_deny = {**deny, "NotPrincipal": {"AWS": ROOT_333}}
        # Live now denies the pod role too: narrower.
        assert findings(with_extra(deny), with_extra(live_deny)) == frozenset({NARROW})
        assert findings(with_extra(live_deny), with_extra(deny)) == frozenset({WIDE})


# --------------------------------------------------------------------------- orphaned


class TestOrphaned:
    def test_story_role_deleted(self) -> None:
        live = replace_principal(kms_policy(), POD_ROLE, ORPHAN_ID)
        result = classify(Policy.parse(kms_policy()), Policy.parse(live))
        assert result.findings == frozenset({ORPHAN})
        assert result.orphaned_ids == frozenset({ORPHAN_ID})
        assert result.severity == "high"
        assert result.diff is not None
        assert result.diff.removed_principals == frozenset({POD_ROLE})

    def test_user_deleted_with_session_form(self) -> None:
        declared = with_pod(Principal={"AWS": USER})
        live = with_pod(Principal={"AWS": ORPHAN_USER_ID})
        assert findings(declared, live) == frozenset({ORPHAN})
        session = ORPHAN_ID + ":my-session"
        result = classify(
            Policy.parse(kms_policy()), Policy.parse(with_pod(Principal={"AWS": session}))
        )
        assert result.findings == frozenset({ORPHAN})
        assert result.orphaned_ids == frozenset({session})

    def test_orphan_grant_is_not_widening(self) -> None:
        live = with_pod(Principal={"AWS": [POD_ROLE, ORPHAN_ID]})
        assert findings(kms_policy(), live) == frozenset({ORPHAN})

    def test_orphan_in_declared_and_live(self) -> None:
        doc = with_pod(Principal={"AWS": [POD_ROLE, ORPHAN_ID]})
        assert findings(doc, doc) == frozenset({ORPHAN})

    def test_orphan_with_different_grant_does_not_explain(self) -> None:
        live = with_pod(Principal={"AWS": ORPHAN_ID}, Action="kms:DescribeKey")
        assert findings(kms_policy(), live) == frozenset({ORPHAN, NARROW})

    def test_root_never_becomes_an_orphan(self) -> None:
        live = replace_principal(kms_policy(), ROOT_333, ORPHAN_ID)
        assert findings(kms_policy(), live) == frozenset({ORPHAN, NARROW})

    def test_two_roles_lost_one_id_is_also_narrowed(self) -> None:
        declared = with_pod(Principal={"AWS": [POD_ROLE, OTHER_ROLE]})
        assert findings(declared, with_pod(Principal={"AWS": ORPHAN_ID})) == frozenset(
            {ORPHAN, NARROW}
        )
        both = with_pod(Principal={"AWS": [ORPHAN_ID, ORPHAN_ID_2]})
        assert findings(declared, both) == frozenset({ORPHAN})

    def test_orphaned_and_widened(self) -> None:
        live = with_pod(Principal={"AWS": [ORPHAN_ID, FOREIGN_ROOT]})
        result = classify(Policy.parse(kms_policy()), Policy.parse(live))
        assert result.findings == frozenset({ORPHAN, WIDE})
        assert result.severity == "critical"

    def test_orphaned_and_narrowed(self) -> None:
        live = replace_principal(kms_policy(), POD_ROLE, ORPHAN_ID)
        live["Statement"][0]["Action"] = "kms:Describe*"
        result = classify(Policy.parse(kms_policy()), Policy.parse(live))
        assert result.findings == frozenset({ORPHAN, NARROW})
        assert result.severity == "high"

    def test_orphaned_deny_is_not_widened(self) -> None:
        deny = {**DENY_DELETE, "Principal": {"AWS": OTHER_ROLE}}
        live = replace_principal(with_extra(deny), OTHER_ROLE, ORPHAN_ID)
        assert findings(with_extra(deny), live) == frozenset({ORPHAN})

    def test_orphan_in_not_principal_is_reported(self) -> None:
        deny = {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": [ROOT_333, OTHER_ROLE]},
            "Action": "kms:*",
            "Resource": "*",
        }
        live = replace_principal(with_extra(deny), OTHER_ROLE, ORPHAN_ID)
        result = classify(Policy.parse(with_extra(deny)), Policy.parse(live))
        assert ORPHAN in result.findings
        assert result.orphaned_ids == frozenset({ORPHAN_ID})


# --------------------------------------------------------------------------- large policies


class TestFallback:
    @staticmethod
    def big(extra_principal: str | None = None) -> dict[str, Any]:
        principals = [f"arn:aws:iam::111111111111:role/r{i}" for i in range(400)]
        if extra_principal:
            principals.append(extra_principal)
        actions = [f"svc:Action{i}" for i in range(300)]
        return {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principals},
                    "Action": actions,
                    "Resource": "*",
                }
            ]
        }

    def test_big_equal_is_in_sync(self) -> None:
        assert Policy.parse(self.big()).atom_count() > MAX_ATOMS
        assert findings(self.big(), self.big()) == frozenset()

    def test_big_widened(self) -> None:
        assert findings(self.big(), self.big(FOREIGN_ROOT)) == frozenset({WIDE})
        assert findings(self.big(FOREIGN_ROOT), self.big()) == frozenset({NARROW})

    def test_big_orphaned(self) -> None:
        live = replace_principal(self.big(), "arn:aws:iam::111111111111:role/r7", ORPHAN_ID)
        result = classify(Policy.parse(self.big()), Policy.parse(live))
        assert result.findings == frozenset({ORPHAN})
        assert result.diff is not None and not result.diff.atomic


# --------------------------------------------------------------------------- severity


@pytest.mark.parametrize(
    ("found", "severity"),
    [
        (set(), "none"),
        ({NARROW}, "medium"),
        ({ORPHAN}, "high"),
        ({MISS}, "high"),
        ({WIDE}, "critical"),
        ({ORPHAN, NARROW}, "high"),
        ({WIDE, NARROW}, "critical"),
        ({WIDE, ORPHAN}, "critical"),
        ({WIDE, ORPHAN, NARROW}, "critical"),
    ],
)
def test_severity(found: set[Finding], severity: str) -> None:
    result = Classification(findings=frozenset(found), diff=None)
    assert result.severity is Severity(severity)
    assert result.in_sync is (not found)


def test_severity_order_and_finding_values() -> None:
    # What classify yields, lowest to highest (INFO is for restores).
    ranked = [Severity.NONE, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
    assert [s for s in Severity if s in ranked] == ranked
    assert [s.rank for s in ranked] == sorted({s.rank for s in ranked})
    assert [f.value for f in Finding] == ["orphaned-principal", "widened", "narrowed", "missing"]
    assert Finding("widened") is WIDE
    assert f"{Finding.ORPHANED_PRINCIPAL}" == "orphaned-principal"


# --------------------------------------------------------------------------- normalized once


def test_each_policy_is_normalized_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Policy] = []
    normalize = driftguard.policy._normalize

    def counted(policy: Policy) -> Policy:
        calls.append(policy)
        return normalize(policy)

    monkeypatch.setattr(driftguard.policy, "_normalize", counted)
    declared = Policy.parse(kms_policy())
    live = Policy.parse(with_pod(Principal={"AWS": [ORPHAN_ID, FOREIGN_ROOT]}))

    assert classify(declared, live).findings == frozenset({ORPHAN, WIDE})
    assert not declared.semantically_equal(live)
    assert not live.semantically_equal(declared)
    assert declared.principal_arns() == frozenset({POD_ROLE})
    assert live.unique_id_principals() == frozenset({ORPHAN_ID})
    assert not diff(declared, live).is_empty
    assert classify(declared, live).findings == frozenset({ORPHAN, WIDE})

    assert len(calls) == 2
    assert {id(p) for p in calls} == {id(declared), id(live)}
    assert declared.normalized().normalized() is declared.normalized()
