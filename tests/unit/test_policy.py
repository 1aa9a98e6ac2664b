"""Unit tests for driftguard.policy: parsing, normalization, unique IDs, rendering, diff."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from driftguard.errors import PolicyParseError
from driftguard.policy import (
    MAX_ATOMS,
    UNIQUE_ID_RE,
    Grant,
    Policy,
    PolicyDiff,
    Principal,
    Statement,
    action_matches,
    diff,
    is_principal_arn,
    is_unique_id,
    wildcard_covers,
)
from tests.support.policies import replace_principal

ROOT_333 = "arn:aws:iam::333333333333:root"
POD_ROLE = "arn:aws:iam::111111111111:role/pod-role"
FOREIGN_ROOT = "arn:aws:iam::444455556666:root"
ORPHAN_ID = "AROA" + "ABCDEFGHIJ1234567"  # 21 chars, as AWS writes a deleted role


def kms_policy() -> dict[str, Any]:
    """The key policy from the story: account root + the pod role."""
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


def widened_policy() -> dict[str, Any]:
    doc = kms_policy()
    doc["Statement"][1]["Principal"]["AWS"] = [POD_ROLE, FOREIGN_ROOT]
    return doc


def orphaned_policy() -> dict[str, Any]:
    return replace_principal(kms_policy(), POD_ROLE, ORPHAN_ID)


def one(**statement: Any) -> dict[str, Any]:
    """A one-statement policy; Effect/Action/Resource default to a harmless Allow."""
    body = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    body.update(statement)
    return {"Version": "2012-10-17", "Statement": [body]}


def parse_one(**statement: Any) -> Statement:
    return Policy.parse(one(**statement)).statements[0]


# --------------------------------------------------------------------------- parsing


class TestParseForms:
    def test_story_policy_from_str_bytes_and_mapping(self) -> None:
        doc = kms_policy()
        from_map = Policy.parse(doc)
        assert Policy.parse(json.dumps(doc)) == from_map
        assert Policy.parse(json.dumps(doc).encode()) == from_map
        assert from_map.version == "2012-10-17"
        assert from_map.id == "key-default-1"
        assert len(from_map.statements) == 2
        pod = from_map.statements[1]
        assert pod.sid == "AllowPodRole"
        assert pod.effect == "Allow"
        assert pod.principals == frozenset({Principal("AWS", POD_ROLE)})
        assert pod.actions == frozenset({"kms:Decrypt", "kms:DescribeKey"})
        assert pod.resources == frozenset({"*"})

    def test_single_statement_object(self) -> None:
        doc = {"Statement": {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}}
        policy = Policy.parse(doc)
        assert policy.version is None
        assert len(policy.statements) == 1
        assert policy.statements[0].effect == "Deny"

    def test_parse_does_not_mutate_input(self) -> None:
        doc = kms_policy()
        before = copy.deepcopy(doc)
        Policy.parse(doc).normalized()
        assert doc == before

    def test_absent_elements_are_none_not_empty(self) -> None:
        s = parse_one()
        assert s.principals is None
        assert s.not_principals is None
        assert s.not_actions is None
        assert s.not_resources is None
        assert s.sid is None
        assert s.conditions == ()

    def test_empty_list_is_kept_distinct_from_absent(self) -> None:
        s = parse_one(Resource=[])
        assert s.resources == frozenset()
        assert s.atom_count() == 0

    def test_statement_without_principal_is_legal(self) -> None:
        s = Policy.parse({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}).statements[0]
        assert s.principals is None
        assert s.resources is None

    @pytest.mark.parametrize(
        ("principal", "expected"),
        [
            ("*", {Principal("AWS", "*")}),
            ({"AWS": "*"}, {Principal("AWS", "*")}),
            ({"AWS": "123456789012"}, {Principal("AWS", "123456789012")}),
            (
                {"AWS": [POD_ROLE, ROOT_333]},
                {Principal("AWS", POD_ROLE), Principal("AWS", ROOT_333)},
            ),
            ({"Service": "lambda.amazonaws.com"}, {Principal("Service", "lambda.amazonaws.com")}),
            (
                {"Service": ["logs.amazonaws.com", "events.amazonaws.com"]},
                {
                    Principal("Service", "logs.amazonaws.com"),
                    Principal("Service", "events.amazonaws.com"),
                },
            ),
            (
                {"Federated": "arn:aws:iam::111111111111:oidc-provider/oidc.eks.aws/id/X"},
                {
                    Principal(
                        "Federated", "arn:aws:iam::111111111111:oidc-provider/oidc.eks.aws/id/X"
                    )
                },
            ),
            (
                {"CanonicalUser": "79a59df900b949e5"},
                {Principal("CanonicalUser", "79a59df900b949e5")},
            ),
            (
                {"AWS": ROOT_333, "Service": "kms.amazonaws.com", "Federated": "cognito-identity"},
                {
                    Principal("AWS", ROOT_333),
                    Principal("Service", "kms.amazonaws.com"),
                    Principal("Federated", "cognito-identity"),
                },
            ),
            ({"AWS": []}, set()),
        ],
    )
    def test_principal_forms(self, principal: Any, expected: set[Principal]) -> None:
        assert parse_one(Principal=principal).principals == frozenset(expected)
        assert parse_one(NotPrincipal=principal).not_principals == frozenset(expected)

    @pytest.mark.parametrize("key", ["Action", "NotAction"])
    def test_action_string_or_list(self, key: str) -> None:
        doc = one()
        del doc["Statement"][0]["Action"]
        doc["Statement"][0][key] = "kms:Decrypt"
        as_string = Policy.parse(doc).statements[0]
        doc["Statement"][0][key] = ["kms:Decrypt", "kms:Decrypt"]
        as_list = Policy.parse(doc).statements[0]
        assert as_string == as_list

    @pytest.mark.parametrize("key", ["Resource", "NotResource"])
    def test_resource_string_or_list(self, key: str) -> None:
        doc = one()
        del doc["Statement"][0]["Resource"]
        doc["Statement"][0][key] = [
            "arn:aws:kms:eu-west-1:1:key/a",
            "arn:aws:kms:eu-west-1:1:key/b",
        ]
        s = Policy.parse(doc).statements[0]
        field = s.resources if key == "Resource" else s.not_resources
        assert field == frozenset(
            {"arn:aws:kms:eu-west-1:1:key/a", "arn:aws:kms:eu-west-1:1:key/b"}
        )

    def test_conditions_values_become_sorted_strings(self) -> None:
        s = parse_one(
            Condition={
                "StringEquals": {"kms:CallerAccount": ["222", "111"], "kms:ViaService": "x"},
                "Bool": {"aws:SecureTransport": True},
                "NumericLessThan": {"aws:MultiFactorAuthAge": 3600},
                "NumericGreaterThan": {"s3:max-keys": 1.5},
            }
        )
        assert s.conditions == (
            ("Bool", "aws:securetransport", ("true",)),
            ("NumericGreaterThan", "s3:max-keys", ("1.5",)),
            ("NumericLessThan", "aws:multifactorauthage", ("3600",)),
            ("StringEquals", "kms:calleraccount", ("111", "222")),
            ("StringEquals", "kms:viaservice", ("x",)),
        )

    def test_bool_false_and_duplicate_condition_values(self) -> None:
        s = parse_one(Condition={"Bool": {"aws:SecureTransport": [False, "false"]}})
        assert s.conditions == (("Bool", "aws:securetransport", ("false",)),)


class TestParseErrors:
    @pytest.mark.parametrize(
        ("doc", "message"),
        [
            ('{"Statement": [', "invalid JSON"),
            (b"\xff\xfe\x00garbage", "invalid JSON"),
            ('{"Statement": NaN}', "invalid JSON"),
            ("[]", "top level must be a JSON object, got array"),
            ('"just a string"', "top level must be a JSON object, got string"),
            ("{}", "missing Statement"),
            ('{"Statement": []}', "Statement: is empty"),
            ('{"Statement": "nope"}', "Statement: must be an object or a list of objects"),
            ('{"Statement": [42]}', r"Statement\[0\]: must be an object, got number"),
        ],
    )
    def test_document_level(self, doc: str | bytes, message: str) -> None:
        with pytest.raises(PolicyParseError, match=message):
            Policy.parse(doc)

    def test_not_a_document_at_all(self) -> None:
        with pytest.raises(PolicyParseError, match="top level must be a JSON object"):
            Policy.parse(42)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("override", "message"),
        [
            (
                {"Effect": "allow"},
                r"Statement\[1\]\.Effect: must be \"Allow\" or \"Deny\", got 'allow'",
            ),
            ({"Effect": None}, r"Statement\[1\]\.Effect: must be"),
            ({"Effect": ...}, r"Statement\[1\]: missing Effect"),
            ({"Action": ..., "NotAction": ...}, r"Statement\[1\]: missing Action or NotAction"),
            ({"NotAction": "kms:Decrypt"}, r"Statement\[1\]: has both Action and NotAction"),
            ({"NotResource": "*"}, r"Statement\[1\]: has both Resource and NotResource"),
            (
                {"Principal": "*", "NotPrincipal": {"AWS": ROOT_333}},
                r"Statement\[1\]: has both Principal and NotPrincipal",
            ),
            (
                {"Action": 5},
                r"Statement\[1\]\.Action: expected a string or a list of strings, got number",
            ),
            (
                {"Action": ["kms:Decrypt", 5]},
                r"Statement\[1\]\.Action\[1\]: expected a string, got number",
            ),
            ({"Action": ""}, r"Statement\[1\]\.Action: must not be an empty string"),
            ({"Resource": {"a": 1}}, r"Statement\[1\]\.Resource: expected a string or a list"),
            ({"Principal": {"AWS": 123}}, r"Statement\[1\]\.Principal\.AWS: expected a string"),
            (
                {"Principal": {"AWS": [ROOT_333, None]}},
                r"Principal\.AWS\[1\]: expected a string, got null",
            ),
            ({"Principal": {"AWS": 111122223333}}, r"Statement\[1\]\.Principal\.AWS"),
            ({"Principal": {"aws": ROOT_333}}, r"unknown principal type 'aws'"),
            ({"Principal": ROOT_333}, r'Statement\[1\]\.Principal: must be "\*" or an object'),
            ({"Principal": ["*"]}, r"Statement\[1\]\.Principal: must be .* got array"),
            (
                {"Principal": ..., "NotPrincipal": {"Service": 1}},
                r"Statement\[1\]\.NotPrincipal\.Service",
            ),
            ({"Sid": 7}, r"Statement\[1\]\.Sid: expected a string, got number"),
            ({"Condition": "x"}, r"Statement\[1\]\.Condition: must be an object"),
            ({"Condition": {"StringEquals": "x"}}, r"Condition\.StringEquals: must be an object"),
            (
                {"Condition": {"StringEquals": {"k": {"nested": 1}}}},
                r"Condition\.StringEquals\.k: expected a string, number or boolean, got object",
            ),
            (
                {"Condition": {"StringEquals": {"k": ["a", None]}}},
                r"Condition\.StringEquals\.k\[1\]: expected a string, number or boolean, got null",
            ),
            (
                {
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": "1", "AWS:sourceaccount": "2"}
                    }
                },
                r"appears twice",
            ),
            ({"Principals": "*"}, r"Statement\[1\]: unknown element\(s\) \['Principals'\]"),
        ],
    )
    def test_statement_level(self, override: dict[str, Any], message: str) -> None:
        doc = kms_policy()
        target = doc["Statement"][1]
        for key, value in override.items():
            if value is ...:
                target.pop(key, None)
            else:
                target[key] = value
        with pytest.raises(PolicyParseError, match=message):
            Policy.parse(doc)

    def test_single_statement_errors_name_the_statement(self) -> None:
        with pytest.raises(PolicyParseError, match=r"^Statement\.Effect: must be"):
            Policy.parse({"Statement": {"Effect": "Permit", "Action": "*"}})

    @pytest.mark.parametrize(
        ("doc", "message"),
        [
            ({"Version": "2012-10-07", "Statement": {}}, r"Version: must be one of"),
            ({"Version": 2012, "Statement": {}}, r"Version: must be one of"),
            ({"Id": 1, "Statement": {}}, r"Id: expected a string, got number"),
            ({"Statements": []}, r"policy: unknown element\(s\) \['Statements'\]"),
        ],
    )
    def test_top_level_fields(self, doc: dict[str, Any], message: str) -> None:
        with pytest.raises(PolicyParseError, match=message):
            Policy.parse(doc)

    def test_errors_are_driftguard_errors_not_crashes(self) -> None:
        from driftguard.errors import DriftguardError

        for odd in ("", "null", "true", "1", '{"Statement": null}', '{"Statement": [null]}'):
            with pytest.raises(DriftguardError):
                Policy.parse(odd)


# --------------------------------------------------------------------------- unique IDs


class TestUniqueIds:
    @pytest.mark.parametrize(
        "value",
        [
            ORPHAN_ID,
            "AIDA" + "A" * 17,
            "AROA" + "0" * 17,
            "AIDACKCEVSQ6C2EXAMPLE",
            ORPHAN_ID + ":session-name",
            ORPHAN_ID + ":",
            ORPHAN_ID + ":a:b/c@d",
        ],
    )
    def test_detects(self, value: str) -> None:
        assert is_unique_id(value)
        assert UNIQUE_ID_RE.match(value)

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "AROA",
            "AROA" + "A" * 16,  # 20 chars
            "AROA" + "A" * 18,  # 22 chars
            "aroa" + "a" * 17,
            "AROA" + "a" * 17,
            "AGPA" + "A" * 17,  # group: never a principal
            "AKIA" + "A" * 17,
            "ASIA" + "A" * 17,
            ORPHAN_ID + "\n",
            " " + ORPHAN_ID,
            ORPHAN_ID + "-session",
            POD_ROLE,
            "*",
            "123456789012",
            None,
            123,
            ["AROA" + "A" * 17],
            {"AWS": ORPHAN_ID},
            b"AROAABCDEFGHIJ1234567",
        ],
    )
    def test_rejects(self, value: object) -> None:
        assert not is_unique_id(value)

    def test_policy_unique_id_principals(self) -> None:
        policy = Policy.parse(orphaned_policy())
        assert policy.unique_id_principals() == frozenset({ORPHAN_ID})
        assert policy.aws_principals() == frozenset({ROOT_333, ORPHAN_ID})
        assert policy.principal_arns() == frozenset()

    def test_odd_principal_values_raise_parse_error(self) -> None:
        for odd in ({"AWS": 123}, {"AWS": [ORPHAN_ID, 1.5]}, {"AWS": True}, {"AWS": {"x": 1}}):
            with pytest.raises(PolicyParseError):
                Policy.parse(one(Principal=odd))


class TestPrincipalQueries:
    def test_aws_principals_are_normalized_and_exclude_other_kinds(self) -> None:
        doc = {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": ["333333333333", POD_ROLE],
                        "Service": "kms.amazonaws.com",
                    },
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": "arn:aws:iam::999999999999:user/bob"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
            ]
        }
        policy = Policy.parse(doc)
        assert policy.aws_principals() == frozenset({ROOT_333, POD_ROLE})
        assert policy.principal_arns() == frozenset({POD_ROLE})

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (POD_ROLE, True),
            ("arn:aws:iam::111111111111:role/path/to/role", True),
            ("arn:aws:iam::111111111111:user/alice", True),
            ("arn:aws-cn:iam::111111111111:role/r", True),
            ("arn:aws-us-gov:iam::111111111111:user/u", True),
            (ROOT_333, False),
            ("arn:aws:sts::111111111111:assumed-role/r/s", False),
            ("arn:aws:iam::111111111111:group/g", False),
            ("arn:aws:iam::1111:role/r", False),
            ("*", False),
            (None, False),
        ],
    )
    def test_is_principal_arn(self, value: object, expected: bool) -> None:
        assert is_principal_arn(value) is expected


# --------------------------------------------------------------------------- normalization


class TestNormalization:
    def test_story_policy_reshaped_is_semantically_equal(self) -> None:
        reshaped = {
            "Id": "another-label",
            "Statement": [
                {
                    "Sid": "x",
                    "Effect": "Allow",
                    "Principal": {"AWS": [POD_ROLE]},
                    "Action": "KMS:describekey",
                    "Resource": ["*"],
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "333333333333"},
                    "Action": ["kms:*"],
                    "Resource": "*",
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": POD_ROLE},
                    "Action": "kms:DECRYPT",
                    "Resource": "*",
                },
            ],
        }
        a, b = Policy.parse(kms_policy()), Policy.parse(reshaped)
        assert a != b
        assert a.semantically_equal(b)
        assert b.semantically_equal(a)
        assert diff(a, b).is_empty

    def test_actions_lowercased_and_duplicates_merged(self) -> None:
        s = Policy.parse(one(Action=["kms:Decrypt", "KMS:DECRYPT", "kms:decrypt"])).normalized()
        assert s.statements[0].actions == frozenset({"kms:decrypt"})

    def test_account_id_becomes_root_arn(self) -> None:
        policy = Policy.parse(one(Principal={"AWS": "333333333333"})).normalized()
        assert policy.statements[0].principals == frozenset({Principal("AWS", ROOT_333)})

    def test_account_id_uses_partition_seen_in_policy(self) -> None:
        doc = one(
            Principal={"AWS": ["333333333333", "arn:aws-cn:iam::111111111111:role/r"]},
            Resource="arn:aws-cn:kms:cn-north-1:111111111111:key/k",
        )
        values = {p.value for p in Policy.parse(doc).normalized().statements[0].principals or ()}
        assert "arn:aws-cn:iam::333333333333:root" in values

    def test_account_id_defaults_to_aws_when_partitions_ambiguous(self) -> None:
        doc = one(
            Principal={"AWS": ["333333333333", "arn:aws-cn:iam::1:role/r"]},
            Resource="arn:aws-us-gov:kms:us-gov-west-1:1:key/k",
        )
        values = {p.value for p in Policy.parse(doc).normalized().statements[0].principals or ()}
        assert ROOT_333 in values

    def test_account_id_in_not_principal(self) -> None:
        doc = {
            "Statement": {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": "333333333333"},
                "Action": "*",
                "Resource": "*",
            }
        }
        a = Policy.parse(doc)
        doc["Statement"]["NotPrincipal"] = {"AWS": [ROOT_333]}
        assert a.semantically_equal(Policy.parse(doc))

    def test_star_principal_equals_aws_star(self) -> None:
        assert Policy.parse(one(Principal="*")).semantically_equal(
            Policy.parse(one(Principal={"AWS": "*"}))
        )
        assert (
            Policy.parse(one(Principal="*")).normalized().to_dict()
            == Policy.parse(one(Principal={"AWS": ["*"]})).normalized().to_dict()
        )

    def test_condition_key_case(self) -> None:
        a = Policy.parse(one(Condition={"StringEquals": {"kms:CallerAccount": "1"}}))
        b = Policy.parse(one(Condition={"StringEquals": {"KMS:calleraccount": ["1"]}}))
        assert a.semantically_equal(b)
        assert a.normalized() == b.normalized()

    def test_condition_value_case_matters(self) -> None:
        a = Policy.parse(one(Condition={"StringEquals": {"aws:PrincipalTag/team": "Blue"}}))
        b = Policy.parse(one(Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}))
        assert not a.semantically_equal(b)

    def test_resource_case_matters(self) -> None:
        a = Policy.parse(one(Resource="arn:aws:s3:::Bucket"))
        b = Policy.parse(one(Resource="arn:aws:s3:::bucket"))
        assert not a.semantically_equal(b)

    def test_statement_order_and_duplicates(self) -> None:
        doc = kms_policy()
        swapped = copy.deepcopy(doc)
        swapped["Statement"] = [doc["Statement"][1], doc["Statement"][0], doc["Statement"][1]]
        a, b = Policy.parse(doc), Policy.parse(swapped)
        assert a.normalized() == b.normalized()
        assert a.normalized().to_dict() == b.normalized().to_dict()

    def test_sid_and_id_are_labels(self) -> None:
        doc = kms_policy()
        relabelled = copy.deepcopy(doc)
        relabelled["Id"] = "other"
        for statement in relabelled["Statement"]:
            statement.pop("Sid")
        a, b = Policy.parse(doc), Policy.parse(relabelled)
        assert a.semantically_equal(b)
        assert diff(a, b).is_empty
        # ...but the normalized form keeps them: it is what goes back to AWS.
        assert a.normalized() != b.normalized()

    def test_normalizing_twice_changes_nothing(self) -> None:
        for doc in (kms_policy(), widened_policy(), orphaned_policy()):
            once = Policy.parse(doc).normalized()
            assert once.normalized() is once
            # A fresh object, so normalizing is really done again (``once`` is its own cache).
            assert Policy(once.version, once.id, once.statements).normalized() == once

    def test_cache_is_not_part_of_equality(self) -> None:
        a, b = Policy.parse(kms_policy()), Policy.parse(kms_policy())
        a.semantically_equal(a)  # fills a's caches, not b's
        assert a == b
        assert hash(a) == hash(b)
        assert repr(a) == repr(b)

    def test_effect_matters(self) -> None:
        assert not Policy.parse(one(Effect="Allow")).semantically_equal(
            Policy.parse(one(Effect="Deny"))
        )

    def test_not_action_is_not_action(self) -> None:
        a = Policy.parse({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt"}})
        b = Policy.parse({"Statement": {"Effect": "Allow", "NotAction": "kms:Decrypt"}})
        assert not a.semantically_equal(b)

    def test_empty_action_list_grants_nothing(self) -> None:
        base = Policy.parse(kms_policy())
        doc = kms_policy()
        doc["Statement"].append(
            {"Effect": "Allow", "Principal": "*", "Action": [], "Resource": "*"}
        )
        assert base.semantically_equal(Policy.parse(doc))


class TestAtomsAndFallback:
    def test_two_actions_equal_two_statements(self) -> None:
        a = Policy.parse(one(Action=["kms:Decrypt", "kms:Encrypt"]))
        b = Policy.parse(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
                    {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"},
                ]
            }
        )
        assert a.semantically_equal(b)
        assert a.normalized() != b.normalized()  # same grants, different form

    def test_grants_keep_not_elements_whole(self) -> None:
        policy = Policy.parse(
            {
                "Statement": {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": [ROOT_333, POD_ROLE]},
                    "NotAction": ["kms:Decrypt", "kms:Encrypt"],
                    "Resource": ["a", "b"],
                }
            }
        )
        grants = policy.grants()
        assert len(grants) == 2
        assert {g.resource for g in grants} == {"a", "b"}
        for g in grants:
            assert g.principal is None
            assert g.not_principals == frozenset(
                {Principal("AWS", ROOT_333), Principal("AWS", POD_ROLE)}
            )
            assert g.not_actions == frozenset({"kms:decrypt", "kms:encrypt"})

    def test_atom_count(self) -> None:
        assert Policy.parse(kms_policy()).atom_count() == 3
        assert Policy.parse(widened_policy()).atom_count() == 5

    def test_explosion_falls_back_to_statements(self) -> None:
        principals = [f"arn:aws:iam::111111111111:role/r{i}" for i in range(400)]
        actions = [f"svc:Action{i}" for i in range(300)]
        doc = one(Principal={"AWS": principals}, Action=actions)
        big = Policy.parse(doc)
        assert big.atom_count() > MAX_ATOMS
        shuffled = copy.deepcopy(doc)
        shuffled["Statement"][0]["Action"] = [a.upper() for a in reversed(actions)]
        assert big.semantically_equal(Policy.parse(shuffled))
        # Documented limitation: a split statement is different in fallback mode.
        split = {
            "Statement": [
                one(Principal={"AWS": principals}, Action=actions[:150])["Statement"][0],
                one(Principal={"AWS": principals}, Action=actions[150:])["Statement"][0],
            ]
        }
        assert not big.semantically_equal(Policy.parse(split))
        d = diff(big, Policy.parse(shuffled))
        assert d.is_empty and not d.atomic
        d = diff(big, Policy.parse(split))
        assert not d.is_empty and not d.atomic
        assert d.added_grants == frozenset() == d.removed_grants
        assert len(d.added_statements) == 2 and len(d.removed_statements) == 1
        assert "+ statement " in d.summary()


# --------------------------------------------------------------------------- rendering


class TestRendering:
    def test_normalized_rendering_is_sorted_and_normalized(self) -> None:
        data = Policy.parse(kms_policy()).normalized().to_dict()
        statements = data["Statement"]

        def canonical(statement: dict[str, Any]) -> str:
            return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

        assert statements == sorted(statements, key=canonical)
        pod = next(s for s in statements if s.get("Sid") == "AllowPodRole")
        assert pod["Action"] == ["kms:decrypt", "kms:describekey"]
        assert pod["Principal"] == {"AWS": POD_ROLE}

    def test_round_trip(self) -> None:
        for doc in (kms_policy(), widened_policy(), orphaned_policy()):
            policy = Policy.parse(doc)
            again = Policy.parse(json.dumps(policy.normalized().to_dict()))
            assert again.normalized() == policy.normalized()
            assert again.normalized().to_dict() == policy.normalized().to_dict()

    def test_normalized_form_changes_with_semantics(self) -> None:
        widened = Policy.parse(widened_policy()).normalized()
        assert Policy.parse(kms_policy()).normalized() != widened

    def test_to_dict_keeps_document_as_is(self) -> None:
        policy = Policy.parse(kms_policy())
        assert [s["Sid"] for s in policy.to_dict()["Statement"]] == [
            "Enable IAM User Permissions",
            "AllowPodRole",
        ]


# --------------------------------------------------------------------------- diff


class TestDiff:
    def test_same_policy_is_empty(self) -> None:
        d = diff(Policy.parse(kms_policy()), Policy.parse(kms_policy()))
        assert d.is_empty
        assert d == PolicyDiff()
        assert d.summary() == "no changes"

    def test_widened(self) -> None:
        d = diff(Policy.parse(kms_policy()), Policy.parse(widened_policy()))
        assert not d.is_empty
        assert d.added_principals == frozenset({FOREIGN_ROOT})
        assert d.removed_principals == frozenset()
        assert d.added_actions == d.removed_actions == frozenset()
        assert {(g.principal, g.action) for g in d.added_grants} == {
            (Principal("AWS", FOREIGN_ROOT), "kms:decrypt"),
            (Principal("AWS", FOREIGN_ROOT), "kms:describekey"),
        }
        assert d.removed_grants == frozenset()
        assert len(d.added_statements) == 1
        assert d.added_statements[0]["Principal"] == {"AWS": [POD_ROLE, FOREIGN_ROOT]}
        assert d.removed_statements == ()
        lines = d.summary().splitlines()
        assert f"+ principal {FOREIGN_ROOT}" in lines
        assert f"+ grant Allow {FOREIGN_ROOT} kms:decrypt on *" in lines

    def test_orphaned(self) -> None:
        d = diff(Policy.parse(kms_policy()), Policy.parse(orphaned_policy()))
        assert d.added_principals == frozenset({ORPHAN_ID})
        assert d.removed_principals == frozenset({POD_ROLE})
        assert len(d.added_grants) == len(d.removed_grants) == 2
        assert len(d.added_statements) == len(d.removed_statements) == 1
        lines = d.summary().splitlines()
        assert f"- principal {POD_ROLE}" in lines
        assert f"+ principal {ORPHAN_ID}" in lines

    def test_removed_action(self) -> None:
        live = kms_policy()
        live["Statement"][1]["Action"] = "kms:DescribeKey"
        d = diff(Policy.parse(kms_policy()), Policy.parse(live))
        assert d.removed_actions == frozenset({"kms:decrypt"})
        assert d.added_actions == frozenset()
        assert "- action kms:decrypt" in d.summary().splitlines()
        assert len(d.removed_grants) == 1
        assert d.added_grants == frozenset()
        # The live statement only lost grants, so it is not "added".
        assert d.added_statements == ()
        assert len(d.removed_statements) == 1

    def test_reshaping_is_not_reported(self) -> None:
        live = kms_policy()
        pod = live["Statement"].pop(1)
        for action in pod["Action"]:
            live["Statement"].insert(0, {**pod, "Action": action.upper(), "Sid": action[4:]})
        d = diff(Policy.parse(kms_policy()), Policy.parse(live))
        assert d.is_empty

    def test_principals_and_actions_only_from_allow(self) -> None:
        live = kms_policy()
        live["Statement"].append(
            {
                "Effect": "Deny",
                "Principal": {"AWS": FOREIGN_ROOT},
                "Action": "kms:Delete*",
                "Resource": "*",
            }
        )
        d = diff(Policy.parse(kms_policy()), Policy.parse(live))
        assert d.added_principals == frozenset()
        assert d.added_actions == frozenset()
        assert len(d.added_grants) == 1
        assert "+ grant Deny arn:aws:iam::444455556666:root kms:delete* on *" in d.summary()

    def test_other_principal_kinds_are_labelled(self) -> None:
        live = kms_policy()
        live["Statement"][1]["Principal"]["Service"] = "logs.amazonaws.com"
        d = diff(Policy.parse(kms_policy()), Policy.parse(live))
        assert d.added_principals == frozenset({"Service:logs.amazonaws.com"})

    def test_to_dict_is_json_ready_and_sorted(self) -> None:
        d = diff(Policy.parse(orphaned_policy()), Policy.parse(widened_policy()))
        data = d.to_dict()
        assert json.loads(json.dumps(data)) == data
        assert data["added_principals"] == [POD_ROLE, FOREIGN_ROOT]
        assert data["removed_principals"] == [ORPHAN_ID]
        assert data["atomic"] is True
        assert data["added_grants"] == sorted(
            data["added_grants"], key=lambda g: json.dumps(g, sort_keys=True, separators=(",", ":"))
        )
        assert len(data["added_grants"]) == 4
        assert data["summary"] == list(d.summary_lines()) == d.summary().splitlines()
        assert (
            diff(Policy.parse(kms_policy()), Policy.parse(kms_policy())).to_dict()["summary"] == []
        )

    def test_conditions_in_grant_description(self) -> None:
        live = one(Condition={"StringEquals": {"kms:CallerAccount": "1"}})
        d = diff(Policy.parse(one()), Policy.parse(live))
        assert any(
            "if " in line and "kms:calleraccount" in line for line in d.summary().splitlines()
        )

    def test_diff_is_hashable(self) -> None:
        d = diff(Policy.parse(kms_policy()), Policy.parse(widened_policy()))
        assert hash(d) == hash(diff(Policy.parse(kms_policy()), Policy.parse(widened_policy())))


class TestGrant:
    def test_describe_not_elements(self) -> None:
        g = Grant(
            effect="Deny",
            principal=None,
            not_principals=frozenset({Principal("AWS", ROOT_333)}),
            action=None,
            not_actions=frozenset({"kms:decrypt"}),
            resource=None,
            not_resources=None,
        )
        assert (
            g.describe() == f"Deny NotPrincipal[{ROOT_333}] NotAction[kms:decrypt] on (no Resource)"
        )
        assert g.to_dict() == {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": ROOT_333},
            "NotAction": "kms:decrypt",
        }


class TestWildcards:
    @pytest.mark.parametrize(
        ("pattern", "action", "expected"),
        [
            ("kms:*", "kms:PutKeyPolicy", True),
            ("KMS:Put*", "kms:putkeypolicy", True),
            ("*", "kms:PutKeyPolicy", True),
            ("kms:PutKeyPolicy", "KMS:PUTKEYPOLICY", True),
            ("kms:Put?eyPolicy", "kms:PutKeyPolicy", True),
            ("kms:Get*", "kms:PutKeyPolicy", False),
            ("kms:*", "secretsmanager:GetSecretValue", False),
            ("kms:Put", "kms:PutKeyPolicy", False),
            ("kms:*", "kms:Describe*", True),  # a pattern covered by a wider one
            ("kms:Describe*", "kms:*", False),
            ("kms:Get?", "kms:Get*", False),  # '?' is one char, '*' any number
            ("kms:[a]*", "kms:a", False),  # no fnmatch character classes in IAM
            ("kms:[a]*", "kms:[a]b", True),
        ],
    )
    def test_action_matches(self, pattern: str, action: str, expected: bool) -> None:
        assert action_matches(pattern, action) is expected

    def test_wildcard_covers_is_case_sensitive(self) -> None:
        assert wildcard_covers("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/key")
        assert not wildcard_covers("arn:aws:s3:::bucket/*", "arn:aws:s3:::Bucket/key")
        assert wildcard_covers("*", "anything at all")
