"""What `gather` reads for an access path, and from where: each link's facts read once,
in the account and region that hold them, with only the calls the spoke template
grants; what is missing is a fact, what is refused raises. (The sandbox tests read
the same facts from moto: tests/functional/test_path_links.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from driftguard.path_events import GATHER_ACTIONS
from driftguard.path_facts import gather
from driftguard.path_iam import document
from driftguard.path_model import AccessPath, Grant, Irsa, PodIdentity, ReplicaFacts

ROLE = "arn:aws:iam::111111111111:role/pods/pod-role"
PROVIDER = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"
CLUSTER = "arn:aws:eks:eu-west-1:111111111111:cluster/prod"
SECRET = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"
KEY = "arn:aws:kms:us-east-1:333333333333:key/1111"
REPLICA_KEY = "arn:aws:kms:us-west-2:333333333333:key/2222"
REPLICA_ALIAS = "arn:aws:kms:us-west-2:333333333333:alias/replica"
BOUNDARY = "arn:aws:iam::111111111111:policy/boundary"
ATTACHED = "arn:aws:iam::aws:policy/SecretsManagerReadWrite"
GONE = "arn:aws:iam::111111111111:policy/detached-meanwhile"
IRSA = AccessPath(ROLE, SECRET, KEY, Irsa(PROVIDER, "testnamespace", "testapp"))
POD = replace(IRSA, access=PodIdentity(CLUSTER, "testnamespace", "testapp"))


def policy(sid: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow"}]}


def error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "Call")


Handler = Callable[..., dict[str, Any]]


@dataclass
class FakeAws:
    """AWS as `gather` sees it: one answer per (service, operation), given the account
    and region of the client and the call's parameters; every call recorded."""

    answers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    # (service, operation, account, region, parameters)
    calls: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def in_account(self, account: str, service: str, region: str | None = None) -> Any:
        return _Client(self, account, service, region or "us-east-1")

    def operations(self) -> set[str]:
        return {f"{service}:{op}" for service, op, *_ in self.calls}

    def where(self) -> set[tuple[str, str, str, str]]:
        return {(service, op, account, region) for service, op, account, region, _ in self.calls}


@dataclass
class _Client:
    aws: FakeAws
    account: str
    service: str
    region: str

    def __getattr__(self, method: str) -> Callable[..., dict[str, Any]]:
        operation = "".join(part.title() for part in method.split("_"))
        operation = operation.replace("OpenIdConnect", "OpenIDConnect")

        def call(**params: Any) -> dict[str, Any]:
            called = json.dumps(params, sort_keys=True)
            self.aws.calls.append((self.service, operation, self.account, self.region, called))
            answer = self.aws.answers.get((self.service, operation))
            assert answer is not None, f"unexpected {self.service}:{operation}"
            return answer(self.account, self.region, **params)

        return call

    def get_paginator(self, method: str) -> Any:
        client = self

        class Paginator:
            def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
                yield getattr(client, method)(**params)

        return Paginator()


def world() -> FakeAws:
    """The story's path, replicated to us-west-2 under an alias, every link present."""

    def describe_key(account: str, region: str, KeyId: str) -> dict[str, Any]:
        known = {
            (KEY, "333333333333", "us-east-1"): KEY,
            (
                REPLICA_ALIAS,
                "333333333333",
                "us-west-2",
            ): REPLICA_KEY,
            (REPLICA_KEY, "333333333333", "us-west-2"): REPLICA_KEY,
        }
        arn = known.get((KeyId, account, region))
        if arn is None:
            raise error("NotFoundException")
        return {"KeyMetadata": {"Arn": arn, "KeyState": "Enabled"}}

    answers: dict[tuple[str, str], Handler] = {
        ("iam", "GetRole"): lambda a, r, RoleName: {
            "Role": {
                "AssumeRolePolicyDocument": quote(json.dumps(policy("trust"))),
                "PermissionsBoundary": {"PermissionsBoundaryArn": BOUNDARY},
            }
        },
        ("iam", "ListRolePolicies"): lambda a, r, RoleName: {"PolicyNames": ["inline"]},
        ("iam", "GetRolePolicy"): lambda a, r, RoleName, PolicyName: {
            "PolicyDocument": policy(PolicyName)
        },
        ("iam", "ListAttachedRolePolicies"): lambda a, r, RoleName: {
            "AttachedPolicies": [{"PolicyArn": ATTACHED}, {"PolicyArn": GONE}]
        },
        ("iam", "GetPolicy"): lambda a, r, PolicyArn: (
            {"Policy": {"DefaultVersionId": "v3"}}
            if PolicyArn != GONE
            else (_ for _ in ()).throw(error("NoSuchEntity"))
        ),
        ("iam", "GetPolicyVersion"): lambda a, r, PolicyArn, VersionId: {
            "PolicyVersion": {"Document": policy(f"{PolicyArn.rsplit('/', 1)[-1]} {VersionId}")}
        },
        ("iam", "GetOpenIDConnectProvider"): lambda a, r, OpenIDConnectProviderArn: {},
        ("secretsmanager", "DescribeSecret"): lambda a, r, SecretId: {
            "KmsKeyId": KEY,
            "ReplicationStatus": [
                {
                    "Region": "us-west-2",
                    "KmsKeyId": REPLICA_ALIAS,
                    "Status": "InSync",
                },
                {"Region": "eu-west-2", "Status": "Failed", "StatusMessage": "exists"},
            ],
        },
        ("secretsmanager", "GetResourcePolicy"): lambda a, r, SecretId: {
            "ResourcePolicy": json.dumps(policy("secret"))
        },
        ("kms", "DescribeKey"): describe_key,
        ("kms", "GetKeyPolicy"): lambda a, r, KeyId, PolicyName: {
            "Policy": json.dumps(policy(f"{KeyId} {PolicyName}"))
        },
        ("kms", "ListGrants"): lambda a, r, KeyId: {
            "Grants": [
                {
                    "GrantId": "g1",
                    "GranteePrincipal": "arn:aws:iam::444455556666:root",
                    "Operations": ["Decrypt"],
                }
            ]
        },
    }
    return FakeAws(answers)


def sids(documents: Any) -> list[str]:
    return [d["Statement"][0]["Sid"] for d in documents]


def test_every_link_is_read_once_where_it_lives() -> None:
    aws = world()
    facts = gather(IRSA, aws)  # type: ignore[arg-type]

    assert facts.region == "us-east-1" and facts.role_exists and facts.oidc_provider_exists
    assert facts.trust_policy == policy("trust")  # URL-encoded JSON, decoded
    # Inline then attached; a policy detached meanwhile grants nothing and is left out.
    assert sids(facts.identity_policies) == ["inline", "SecretsManagerReadWrite v3"]
    assert facts.boundary_arn == BOUNDARY
    assert sids([facts.permissions_boundary]) == ["boundary v3"]
    assert (facts.secret_exists, facts.secret_deletion_scheduled) == (True, False)
    assert facts.secret_kms_key_id == KEY and facts.secret_policy == policy("secret")
    assert facts.key_state == "Enabled" and sids([facts.key_policy]) == [f"{KEY} default"]
    assert facts.key_grants == (Grant("g1", "arn:aws:iam::444455556666:root", ("Decrypt",)),)
    assert facts.replicas == (
        ReplicaFacts("eu-west-2", "Failed", None, status_message="exists"),
        ReplicaFacts(
            "us-west-2", "InSync", REPLICA_KEY, "Enabled", policy(f"{REPLICA_KEY} default")
        ),
    )
    assert not facts.pod_identity_associated

    assert aws.operations() <= GATHER_ACTIONS
    assert len(set(aws.calls)) == len(aws.calls), "a call made twice"
    where = aws.where()
    assert ("iam", "GetRole", "111111111111", "us-east-1") in where
    assert ("secretsmanager", "DescribeSecret", "222222222222", "us-east-1") in where
    assert ("kms", "ListGrants", "333333333333", "us-east-1") in where
    # The replica's key, named by an alias ARN, is looked up where the alias lives.
    assert ("kms", "DescribeKey", "333333333333", "us-west-2") in where
    assert ("kms", "GetKeyPolicy", "333333333333", "us-west-2") in where


# (what is missing, the call that says so, its error, the facts that say it)
MISSING: list[tuple[str, tuple[str, str], str, dict[str, Any]]] = [
    ("role", ("iam", "GetRole"), "NoSuchEntity", {"role_exists": False, "trust_policy": None}),
    (
        "provider",
        ("iam", "GetOpenIDConnectProvider"),
        "NoSuchEntity",
        {"oidc_provider_exists": False},
    ),
    (
        "secret",
        ("secretsmanager", "DescribeSecret"),
        "ResourceNotFoundException",
        {"secret_exists": False, "secret_policy": None, "replicas": ()},
    ),
    (
        "key",
        ("kms", "DescribeKey"),
        "NotFoundException",
        {"key_state": None, "key_policy": None, "key_grants": ()},
    ),
]


@pytest.mark.parametrize(("what", "call", "code", "expected"), MISSING, ids=[m[0] for m in MISSING])
def test_what_is_missing_is_a_fact(
    what: str, call: tuple[str, str], code: str, expected: dict[str, Any]
) -> None:
    aws = world()
    aws.answers[call] = lambda *_, **__: (_ for _ in ()).throw(error(code))
    facts = gather(IRSA, aws)  # type: ignore[arg-type]
    assert {name: getattr(facts, name) for name in expected} == expected


@pytest.mark.parametrize(
    "call",
    [
        ("iam", "GetRole"),
        ("iam", "GetPolicyVersion"),
        ("secretsmanager", "GetResourcePolicy"),
        ("kms", "GetKeyPolicy"),
        ("kms", "ListGrants"),
    ],
    ids=lambda c: ":".join(c),
)
def test_a_refused_read_raises_rather_than_break_the_path(call: tuple[str, str]) -> None:
    aws = world()
    aws.answers[call] = lambda *_, **__: (_ for _ in ()).throw(error("AccessDeniedException"))
    with pytest.raises(ClientError, match="AccessDenied"):
        gather(IRSA, aws)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        ("alias/aws/secretsmanager", None),  # the AWS managed key
        (None, None),
        (REPLICA_ALIAS, REPLICA_KEY),
        ("alias/nothing-by-that-name", "alias/nothing-by-that-name"),
    ],
)
def test_the_secret_s_key_is_named_by_its_arn(named: str | None, expected: str | None) -> None:
    aws = world()
    described = {"KmsKeyId": named} if named else {}
    aws.answers["secretsmanager", "DescribeSecret"] = lambda *_, **__: described
    assert gather(IRSA, aws).secret_kms_key_id == expected  # type: ignore[arg-type]


def test_a_secret_scheduled_for_deletion() -> None:
    aws = world()
    aws.answers["secretsmanager", "DescribeSecret"] = lambda *_, **__: {
        "KmsKeyId": KEY,
        "DeletedDate": "2026-12-11",
    }
    aws.answers["secretsmanager", "GetResourcePolicy"] = lambda *_, **__: (_ for _ in ()).throw(
        error("InvalidRequestException")
    )
    facts = gather(IRSA, aws)  # type: ignore[arg-type]
    assert facts.secret_exists and facts.secret_deletion_scheduled and facts.secret_policy is None


def associations(*roles: str) -> dict[tuple[str, str], Handler]:
    return {
        ("eks", "ListPodIdentityAssociations"): lambda a, r, **filters: {
            "associations": [{"associationId": f"a-{i}"} for i in range(len(roles))]
        },
        ("eks", "DescribePodIdentityAssociation"): lambda a, r, clusterName, associationId: {
            "association": {"roleArn": roles[int(associationId[2:])]}
        },
    }


@pytest.mark.parametrize(
    ("roles", "associated"),
    [
        ((), False),
        (("arn:aws:iam::111111111111:role/other",), False),
        (("arn:aws:iam::111111111111:role/other", "arn:aws:iam::111111111111:role/pod-role"), True),
    ],
    ids=["none", "another role", "the role (its path aside)"],
)
def test_pod_identity_looks_for_an_association_with_the_role(
    roles: tuple[str, ...], associated: bool
) -> None:
    aws = world()
    aws.answers |= associations(*roles)
    facts = gather(POD, aws)  # type: ignore[arg-type]
    assert facts.pod_identity_associated is associated and not facts.oidc_provider_exists
    assert ("eks", "ListPodIdentityAssociations", "111111111111", "eu-west-1") in aws.where()
    assert "iam:GetOpenIDConnectProvider" not in aws.operations()


def test_pod_identity_without_the_cluster() -> None:
    aws = world()
    aws.answers["eks", "ListPodIdentityAssociations"] = lambda *_, **__: (_ for _ in ()).throw(
        error("ResourceNotFoundException")
    )
    assert not gather(POD, aws).pod_identity_associated  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "given",
    [policy("p"), json.dumps(policy("p")), quote(json.dumps(policy("p")))],
    ids=["parsed", "json", "url-encoded json"],
)
def test_documents_as_apis_answer_them(given: Any) -> None:
    assert document(given) == policy("p")


def test_a_document_that_is_no_object_could_not_be_read() -> None:
    assert document("[1]") is None and document("nope") is None and document(None) is None
