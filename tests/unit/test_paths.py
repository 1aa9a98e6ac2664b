"""Access paths, link by link: every way the chain breaks names the right first broken
link and a fix that says what to add; the ways it still holds do not break it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from driftguard.path_model import ReplicaFacts
from driftguard.paths import AccessPath, Irsa, PathFacts, PodIdentity, first_broken, verify
from driftguard.vocabulary import LINK_SUBJECT, Link

REGION = "eu-west-1"
ROLE = "arn:aws:iam::111111111111:role/payments-app"
ROOT = "arn:aws:iam::111111111111:root"
HOST = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123"
PROVIDER = f"arn:aws:iam::111111111111:oidc-provider/{HOST}"
SECRET = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:payments/db-AbCdEf"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:eu-west-1:333333333333:key/{KEY_ID}"
SUBJECT = "system:serviceaccount:payments:app"
VIA = f"secretsmanager.{REGION}.amazonaws.com"

IRSA_PATH = AccessPath(ROLE, SECRET, KEY, Irsa(PROVIDER, "payments", "app"))
POD_PATH = AccessPath(
    ROLE,
    SECRET,
    KEY,
    PodIdentity("arn:aws:eks:eu-west-1:111111111111:cluster/prod", "payments", "app"),
)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def irsa_trust(conditions: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": conditions
        if conditions is not None
        else {"StringEquals": {f"{HOST}:sub": SUBJECT, f"{HOST}:aud": "sts.amazonaws.com"}},
    }
    return doc(statement | overrides)


POD_TRUST = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
)
READ_SECRET = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET}
DECRYPT = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}


def grant(principal: str, action: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": action,
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


def via(service: str) -> dict[str, Any]:
    return {"StringEquals": {"kms:ViaService": service}}


GOOD = PathFacts(
    region=REGION,
    role_exists=True,
    trust_policy=irsa_trust(),
    identity_policies=(doc(READ_SECRET), doc(DECRYPT)),
    oidc_provider_exists=True,
    secret_exists=True,
    secret_kms_key_id=KEY,
    secret_policy=doc(grant(ROLE, "secretsmanager:GetSecretValue")),
    key_state="Enabled",
    key_policy=doc(grant(ROLE, "kms:Decrypt", via(VIA))),
)
POD_GOOD = replace(
    GOOD, trust_policy=POD_TRUST, oidc_provider_exists=False, pod_identity_associated=True
)

OTHER_ROLE = "arn:aws:iam::444444444444:role/other"

# A replica in another region, encrypted there with a key of its own.
REPLICA_REGION = "eu-central-1"
REPLICA_SECRET = SECRET.replace(REGION, REPLICA_REGION)
REPLICA_KEY = f"arn:aws:kms:{REPLICA_REGION}:333333333333:key/mrk-5678"
REPLICA_VIA = f"secretsmanager.{REPLICA_REGION}.amazonaws.com"
REPLICA = ReplicaFacts(
    region=REPLICA_REGION,
    status="InSync",
    key_id=REPLICA_KEY,
    key_state="Enabled",
    key_policy=doc(grant(ROLE, "kms:Decrypt", via(REPLICA_VIA))),
)
REPLICATED = replace(
    GOOD,
    identity_policies=(
        doc(READ_SECRET, READ_SECRET | {"Resource": REPLICA_SECRET}),
        doc(DECRYPT, DECRYPT | {"Resource": REPLICA_KEY}),
    ),
    replicas=(REPLICA,),
)


def replicated(**changes: Any) -> PathFacts:
    return replace(REPLICATED, replicas=(replace(REPLICA, **changes),))


# (id, the replica's facts, what the fix must mention)
REPLICA_BREAKS: list[tuple[str, PathFacts, tuple[str, ...]]] = [
    (
        "replica key policy names another role",
        replicated(key_policy=doc(grant(OTHER_ROLE, "kms:Decrypt", via(REPLICA_VIA)))),
        (REPLICA_KEY, ROLE, "kms:Decrypt", REPLICA_VIA),
    ),
    (
        "replica key policy copied from the primary's region",
        replicated(key_policy=doc(grant(ROLE, "kms:Decrypt", via(VIA)))),
        (REPLICA_KEY, REPLICA_VIA),
    ),
    ("replica key policy unreadable", replicated(key_policy=None), (REPLICA_KEY, REPLICA_VIA)),
    (
        "replica key disabled",
        replicated(key_state="Disabled"),
        ("enable-key", f"--region {REPLICA_REGION}", REPLICA_KEY),
    ),
    (
        "replica key pending deletion",
        replicated(key_state="PendingDeletion"),
        ("cancel-key-deletion", f"--region {REPLICA_REGION}", REPLICA_KEY),
    ),
    (
        "replica key gone",
        replicated(key_state=None),
        ("replicate-secret-to-regions", f"Region={REPLICA_REGION}"),
    ),
    (
        "replica on the AWS managed key",
        replicated(key_id=None, key_state=None, key_policy=None),
        ("replicate-secret-to-regions", f"Region={REPLICA_REGION}", ROLE),
    ),
    (
        "replication failed",
        replicated(status="Failed", status_message="a secret of that name exists"),
        ("replicate-secret-to-regions", f"Region={REPLICA_REGION},KmsKeyId={REPLICA_KEY}"),
    ),
    (
        "identity does not reach the replica",
        replace(REPLICATED, identity_policies=GOOD.identity_policies),
        (REPLICA_SECRET, REPLICA_KEY, REPLICA_VIA),
    ),
]
DENY_DECRYPT = {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}

# The role's policies, each missing part of what the path needs.
IDENTITY_BREAKS: list[tuple[str, dict[str, Any]]] = [
    ("identity cannot read the secret", {"identity_policies": (doc(DECRYPT),)}),
    ("identity cannot decrypt", {"identity_policies": (doc(READ_SECRET),)}),
    (
        "identity denies decrypt",
        {"identity_policies": (doc(READ_SECRET, DECRYPT), doc(DENY_DECRYPT))},
    ),
    (
        "identity decrypts only through another region",
        {
            "identity_policies": (
                doc(READ_SECRET, DECRYPT | {"Condition": via("secretsmanager.x.com")}),
            )
        },
    ),
    ("boundary does not allow decrypt", {"permissions_boundary": doc(READ_SECRET)}),
]

# (id, path, facts, first broken link, what its fix must mention)
BREAKS: list[tuple[str, AccessPath, PathFacts, Link, tuple[str, ...]]] = [
    ("role missing", IRSA_PATH, replace(GOOD, role_exists=False), Link.ROLE_EXISTS, (ROLE,)),
    # TRUST, IRSA: the expected statement, whole, is the fix.
    *(
        (name, IRSA_PATH, replace(GOOD, trust_policy=trust), Link.TRUST, ("StringEquals", SUBJECT))
        for name, trust in [
            ("trust unreadable", None),
            ("trust names another provider", irsa_trust(Principal={"Federated": "arn:x"})),
            ("trust without web identity", irsa_trust(Action="sts:AssumeRole")),
            (
                "trust wildcard service account",
                irsa_trust({"StringLike": {f"{HOST}:sub": "system:serviceaccount:payments:*"}}),
            ),
            (
                "trust sub missing",
                irsa_trust({"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"}}),
            ),
            (
                "trust names another service account",
                irsa_trust({"StringEquals": {f"{HOST}:sub": "system:serviceaccount:x:y"}}),
            ),
            (
                "trust lets another service account in too",
                irsa_trust(
                    {
                        "StringEquals": {
                            f"{HOST}:sub": [SUBJECT, "system:serviceaccount:x:y"],
                            f"{HOST}:aud": "sts.amazonaws.com",
                        }
                    }
                ),
            ),
            ("trust aud missing", irsa_trust({"StringEquals": {f"{HOST}:sub": SUBJECT}})),
            (
                "trust aud wrong",
                irsa_trust({"StringEquals": {f"{HOST}:sub": SUBJECT, f"{HOST}:aud": "other"}}),
            ),
        ]
    ),
    # TRUST, Pod Identity
    (
        "pod identity trust is an IRSA trust",
        POD_PATH,
        replace(POD_GOOD, trust_policy=irsa_trust()),
        Link.TRUST,
        ("pods.eks.amazonaws.com", "sts:TagSession"),
    ),
    (
        "pod identity trust without TagSession",
        POD_PATH,
        replace(POD_GOOD, trust_policy=irsa_trust(Principal={"Service": "pods.eks.amazonaws.com"})),
        Link.TRUST,
        ("sts:AssumeRole", "sts:TagSession"),
    ),
    (
        "oidc provider deleted",
        IRSA_PATH,
        replace(GOOD, oidc_provider_exists=False),
        Link.BINDING,
        ("create-open-id-connect-provider", HOST),
    ),
    (
        "pod identity association deleted",
        POD_PATH,
        replace(POD_GOOD, pod_identity_associated=False),
        Link.BINDING,
        ("create-pod-identity-association", "--cluster-name prod", "--service-account app"),
    ),
    *(
        (
            name,
            IRSA_PATH,
            replace(GOOD, **facts),
            Link.IDENTITY_POLICY,
            ("secretsmanager:GetSecretValue", "kms:Decrypt", SECRET, KEY),
        )
        for name, facts in IDENTITY_BREAKS
    ),
    ("secret deleted", IRSA_PATH, replace(GOOD, secret_exists=False), Link.SECRET_EXISTS, ()),
    (
        "secret scheduled for deletion",
        IRSA_PATH,
        replace(GOOD, secret_deletion_scheduled=True),
        Link.SECRET_EXISTS,
        ("restore-secret", SECRET),
    ),
    *(
        (
            name,
            IRSA_PATH,
            replace(GOOD, secret_policy=policy),
            Link.SECRET_POLICY,
            (ROLE, "secretsmanager:GetSecretValue"),
        )
        for name, policy in [
            ("secret has no policy", None),
            ("secret policy names another role", doc(grant(OTHER_ROLE, "secretsmanager:*"))),
            (
                "secret policy denies the role",
                doc(
                    grant(ROLE, "secretsmanager:GetSecretValue"),
                    {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"},
                ),
            ),
        ]
    ),
    *(
        (
            name,
            IRSA_PATH,
            replace(GOOD, secret_kms_key_id=key),
            Link.SECRET_KEY,
            ("--kms-key-id", KEY),
        )
        for name, key in [
            ("secret encrypted with another key", KEY.replace("1234abcd", "9999abcd")),
            ("secret encrypted with the AWS managed key", None),
            ("secret names an alias", "alias/payments"),
        ]
    ),
    (
        "key disabled",
        IRSA_PATH,
        replace(GOOD, key_state="Disabled"),
        Link.KEY_STATE,
        ("enable-key",),
    ),
    (
        "key pending deletion",
        IRSA_PATH,
        replace(GOOD, key_state="PendingDeletion"),
        Link.KEY_STATE,
        ("cancel-key-deletion", "enable-key", KEY),
    ),
    ("key gone", IRSA_PATH, replace(GOOD, key_state=None), Link.KEY_STATE, ("existing key",)),
    *(
        (
            name,
            IRSA_PATH,
            replace(GOOD, key_policy=policy),
            Link.KEY_POLICY,
            (ROLE, "kms:Decrypt", "kms:ViaService", VIA),
        )
        for name, policy in [
            ("key has no policy", None),
            ("key policy names another role", doc(grant(OTHER_ROLE, "kms:Decrypt"))),
            ("key policy does not allow decrypt", doc(grant(ROLE, "kms:Encrypt"))),
            (
                "key policy via another region",
                doc(grant(ROLE, "kms:Decrypt", via("secretsmanager.us-east-1.amazonaws.com"))),
            ),
            (
                "key policy via another service",
                doc(grant(ROLE, "kms:*", via("ec2.eu-west-1.amazonaws.com"))),
            ),
        ]
    ),
    *(
        (name, IRSA_PATH, facts, Link.REPLICA_KEYS, mentions)
        for name, facts, mentions in REPLICA_BREAKS
    ),
]

# Ways of writing a working path that must not read as broken.
HOLDS: list[tuple[str, AccessPath, PathFacts]] = [
    ("all good, IRSA", IRSA_PATH, GOOD),
    ("all good, Pod Identity", POD_PATH, POD_GOOD),
    (
        "identity wildcards",
        IRSA_PATH,
        replace(
            GOOD,
            identity_policies=(
                doc(
                    {"Effect": "Allow", "Action": ["secretsmanager:*", "kms:De*"], "Resource": "*"}
                ),
            ),
        ),
    ),
    (
        "identity deny that spares Secrets Manager",
        IRSA_PATH,
        replace(
            GOOD,
            identity_policies=(
                *GOOD.identity_policies,
                doc(DENY_DECRYPT | {"Condition": {"StringNotEquals": {"kms:ViaService": VIA}}}),
            ),
        ),
    ),
    (
        "boundary that allows all",
        IRSA_PATH,
        replace(GOOD, permissions_boundary=doc(READ_SECRET, DECRYPT)),
    ),
    ("secret names the key by its id", IRSA_PATH, replace(GOOD, secret_kms_key_id=KEY_ID)),
    ("a replica whose key lets the role decrypt", IRSA_PATH, REPLICATED),
    (
        "a replica in flight",
        IRSA_PATH,
        replace(REPLICATED, replicas=(replace(REPLICA, status="InProgress"),)),
    ),
    (
        "secret policy grants the role's account",
        IRSA_PATH,
        replace(GOOD, secret_policy=doc(grant("111111111111", "secretsmanager:GetSecretValue"))),
    ),
    (
        "key policy grants the role's root",
        IRSA_PATH,
        replace(GOOD, key_policy=doc(grant(ROOT, "kms:*"))),
    ),
    (
        "key policy grants everyone through Secrets Manager",
        IRSA_PATH,
        replace(GOOD, key_policy=doc(grant("*", "kms:Decrypt", via(VIA)))),
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "facts", "link", "mentions"), BREAKS, ids=[b[0] for b in BREAKS]
)
def test_the_first_broken_link_and_its_fix(
    name: str, path: AccessPath, facts: PathFacts, link: Link, mentions: tuple[str, ...]
) -> None:
    broken = first_broken(verify(path, facts))
    assert broken is not None, f"{name}: the path reads as working"
    assert broken.link is link, broken.reason
    assert broken.fix and broken.reason
    missing = [m for m in mentions if m not in broken.fix]
    assert not missing, f"the fix {broken.fix!r} does not mention {missing}"


@pytest.mark.parametrize(("name", "path", "facts"), HOLDS, ids=[h[0] for h in HOLDS])
def test_a_working_path_has_no_broken_link(name: str, path: AccessPath, facts: PathFacts) -> None:
    results = verify(path, facts)
    assert [r.link for r in results] == list(Link), "every link, in chain order"
    assert first_broken(results) is None, [r.reason for r in results if not r.ok]
    assert all(r.reason and not r.fix for r in results)


def test_every_link_can_break() -> None:
    """The table reaches every link, so no rule is left without a test."""
    assert {row[3] for row in BREAKS} == set(Link) == set(LINK_SUBJECT)


def test_the_trust_fix_is_the_whole_statement() -> None:
    broken = first_broken(verify(IRSA_PATH, replace(GOOD, trust_policy=irsa_trust({}))))
    assert broken is not None and broken.link is Link.TRUST
    statement = json.loads(broken.fix.split(": ", 1)[1])
    assert statement == irsa_trust()["Statement"][0]


# Why the trust link broke: a wildcard and a missing sub are named as such.
TRUST_REASONS = [
    ({"StringLike": {f"{HOST}:sub": "system:serviceaccount:payments:*"}}, "wildcard"),
    ({"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"}}, f"no {HOST.lower()}:sub condition"),
    ({"StringLike": {f"{HOST}:sub": SUBJECT}}, "not StringEquals"),
    ({"StringEquals": {f"{HOST}:sub": SUBJECT}}, ":aud"),
]


@pytest.mark.parametrize(("conditions", "reason"), TRUST_REASONS, ids=[r for _, r in TRUST_REASONS])
def test_the_trust_reason_names_the_problem(conditions: dict[str, Any], reason: str) -> None:
    broken = first_broken(verify(IRSA_PATH, replace(GOOD, trust_policy=irsa_trust(conditions))))
    assert broken is not None and broken.link is Link.TRUST
    assert reason in broken.reason
