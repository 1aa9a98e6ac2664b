"""Every way the story's access path can break, in the sandbox: someone makes the call a
person would make, and the one check (driftguard.path_check) names the right first
broken link, with a fix that names the concrete thing to put back.

The path is declared in detect mode and its policies are not (`undeclared_story`), so
nothing driftguard does on the events puts a link right before the check looks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from driftguard.path_model import Grant, PathDeclaration
from driftguard.state import StateStore
from driftguard.vocabulary import Link, Mode
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import (
    DATA,
    OIDC_HOST,
    POD_ROLE_ARN,
    Story,
    irsa_trust_policy,
    key_policy,
    pod_role_identity_policy,
    secret_policy,
)
from tests.support.cli import run_cli
from tests.support.paths import (
    CLUSTER,
    check_story_path,
    declare_story_path,
    use_pod_identity,
)

SUBJECT = "system:serviceaccount:testnamespace:testapp"
VIA = "secretsmanager.us-east-1.amazonaws.com"
OUTSIDER = "arn:aws:iam::444455556666:root"
REPLICA_REGION = "us-west-2"


def trust_with(**conditions: Any) -> str:
    """pod-role's trust with its StringEquals conditions replaced (None drops one)."""
    trust = irsa_trust_policy()
    equals = trust["Statement"][0]["Condition"]["StringEquals"]
    for key, value in conditions.items():
        name = f"{OIDC_HOST}:{key}"
        equals.pop(name) if value is None else equals.__setitem__(name, value)
    return json.dumps(trust)


def other_provider_trust() -> str:
    trust = irsa_trust_policy()
    other = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/OTHER"
    trust["Statement"][0]["Principal"] = {"Federated": other}
    return json.dumps(trust)


def key_policy_without(sid: str) -> str:
    policy = key_policy()
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != sid]
    return json.dumps(policy)


def key_policy_via(service: str) -> str:
    policy = key_policy()
    for statement in policy["Statement"]:
        if statement["Sid"] == "PodRoleDecryptsTestsecret":
            statement["Condition"]["StringEquals"]["kms:ViaService"] = service
    return json.dumps(policy)


# --------------------------------------------------------------------------- the breaks


def update_trust(document: Callable[[], str]) -> Callable[[Story], None]:
    def update(story: Story) -> None:
        story.iam.update_assume_role_policy(RoleName="pod-role", PolicyDocument=document())

    return update


def delete_provider(story: Story) -> None:
    provider = f"arn:aws:iam::111111111111:oidc-provider/{OIDC_HOST}"
    story.iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider)


def delete_identity_policy(story: Story) -> None:
    story.iam.delete_role_policy(RoleName="pod-role", PolicyName="read-testsecret")


def detach_managed_policy(story: Story) -> None:
    """The role's access comes from a managed policy, which someone detaches."""
    arn = story.iam.create_policy(
        PolicyName="read-testsecret-managed",
        PolicyDocument=json.dumps(pod_role_identity_policy(story.secret_arn, story.key_arn)),
    )["Policy"]["Arn"]
    story.iam.attach_role_policy(RoleName="pod-role", PolicyArn=arn)
    delete_identity_policy(story)
    story.iam.detach_role_policy(RoleName="pod-role", PolicyArn=arn)


def narrow_boundary(story: Story) -> None:
    """A permissions boundary that lets the role read secrets but not decrypt."""
    only_secrets = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}],
    }
    arn = story.iam.create_policy(
        PolicyName="workload-boundary", PolicyDocument=json.dumps(only_secrets)
    )["Policy"]["Arn"]
    story.iam.put_role_permissions_boundary(RoleName="pod-role", PermissionsBoundary=arn)


def delete_secret_policy(story: Story) -> None:
    story.secrets.delete_resource_policy(SecretId=story.secret_arn)


def secret_policy_for_someone_else(story: Story) -> None:
    policy = secret_policy()
    policy["Statement"][0]["Principal"] = {"AWS": OUTSIDER}
    story.secrets.put_resource_policy(SecretId=story.secret_arn, ResourcePolicy=json.dumps(policy))


def reencrypt_secret(story: Story) -> None:
    """The data team moves the secret to a key of its own account."""
    kms = story.data_admin.client("kms")
    own = kms.create_key(Description="data team key")["KeyMetadata"]["Arn"]
    story.secrets.update_secret(SecretId=story.secret_arn, KmsKeyId=own)


def schedule_secret_deletion(story: Story) -> None:
    story.secrets.delete_secret(SecretId=story.secret_arn, RecoveryWindowInDays=7)


def disable_key(story: Story) -> None:
    story.kms.disable_key(KeyId=story.key_arn)


def put_key_policy(document: Callable[[], str]) -> Callable[[Story], None]:
    def put(story: Story) -> None:
        story.kms.put_key_policy(KeyId=story.key_arn, PolicyName="default", Policy=document())

    return put


def replicate_under_a_foreign_key(story: Story) -> str:
    """The data team replicates the secret to us-west-2 under a key the security team
    made there, whose policy only lets the data account encrypt; pod-role's policies
    cover the replica. Returns the replica's key."""
    replica_kms = story.security.client("kms", region_name=REPLICA_REGION)
    policy = key_policy_without("PodRoleDecryptsTestsecret").replace("us-east-1", REPLICA_REGION)
    key = replica_kms.create_key(Description="testsecret replica key", Policy=policy)
    replica_key = str(key["KeyMetadata"]["Arn"])
    replica_secret = story.secret_arn.replace("us-east-1", REPLICA_REGION)
    identity = pod_role_identity_policy(story.secret_arn, story.key_arn)
    for statement in identity["Statement"]:
        statement["Resource"] = [
            statement["Resource"],
            {
                "secretsmanager:GetSecretValue": replica_secret,
                "kms:Decrypt": replica_key,
            }[statement["Action"]],
        ]
    story.iam.put_role_policy(
        RoleName="pod-role", PolicyName="read-testsecret", PolicyDocument=json.dumps(identity)
    )
    story.secrets.replicate_secret_to_regions(
        SecretId=story.secret_arn,
        AddReplicaRegions=[{"Region": REPLICA_REGION, "KmsKeyId": replica_key}],
    )
    return replica_key


@dataclass(frozen=True)
class Way:
    """One way the chain breaks: the call, the first broken link, and what the fix
    must name (`{secret}`, `{key}` and `{replica_key}` filled in from the story)."""

    id: str
    breaks: Callable[[Story], Any]
    link: Link
    fix_names: tuple[str, ...]
    reason_names: tuple[str, ...] = ()


WAYS = [
    Way("role deleted", Story.delete_pod_role, Link.ROLE_EXISTS, (POD_ROLE_ARN,)),
    Way(
        "trust loses sub",
        update_trust(lambda: trust_with(sub=None)),
        Link.TRUST,
        (SUBJECT,),
        (":sub condition",),
    ),
    Way(
        "trust gains a wildcard service account",
        Story.widen_trust,
        Link.TRUST,
        (SUBJECT,),
        ("wildcard",),
    ),
    Way(
        "trust names another service account",
        update_trust(lambda: trust_with(sub="system:serviceaccount:other:app")),
        Link.TRUST,
        (SUBJECT,),
        ("system:serviceaccount:other:app",),
    ),
    Way(
        "trust names another principal",
        update_trust(other_provider_trust),
        Link.TRUST,
        (SUBJECT, f"oidc-provider/{OIDC_HOST}"),
    ),
    Way(
        "trust wrong aud",
        update_trust(lambda: trust_with(aud="sts.example.com")),
        Link.TRUST,
        ('"sts.amazonaws.com"',),
        (":aud",),
    ),
    Way(
        "oidc provider deleted",
        delete_provider,
        Link.BINDING,
        ("create-open-id-connect-provider", f"https://{OIDC_HOST}"),
    ),
    Way(
        "inline identity policy deleted",
        delete_identity_policy,
        Link.IDENTITY_POLICY,
        ("secretsmanager:GetSecretValue", "{secret}", "kms:Decrypt", "{key}"),
    ),
    Way(
        "managed identity policy detached",
        detach_managed_policy,
        Link.IDENTITY_POLICY,
        ("secretsmanager:GetSecretValue", "{secret}", "kms:Decrypt", "{key}"),
    ),
    Way(
        "boundary does not allow decrypt",
        narrow_boundary,
        Link.IDENTITY_POLICY,
        ("boundary", "kms:Decrypt", "{key}"),
        ("permissions boundary",),
    ),
    Way(
        "secret policy removed",
        delete_secret_policy,
        Link.SECRET_POLICY,
        (POD_ROLE_ARN, "secretsmanager:GetSecretValue"),
    ),
    Way(
        "secret policy names someone else",
        secret_policy_for_someone_else,
        Link.SECRET_POLICY,
        (POD_ROLE_ARN, "secretsmanager:GetSecretValue"),
    ),
    Way(
        "secret re-encrypted with another key",
        reencrypt_secret,
        Link.SECRET_KEY,
        ("update-secret", "--kms-key-id {key}"),
        (f":{DATA}:key/",),
    ),
    Way(
        "secret scheduled for deletion",
        schedule_secret_deletion,
        Link.SECRET_EXISTS,
        ("restore-secret", "{secret}"),
    ),
    Way("key disabled", disable_key, Link.KEY_STATE, ("enable-key --key-id {key}",), ("Disabled",)),
    Way(
        "key scheduled for deletion",
        Story.schedule_key_deletion,
        Link.KEY_STATE,
        ("cancel-key-deletion --key-id {key}", "enable-key"),
        ("PendingDeletion",),
    ),
    Way(
        "key policy loses the role",
        put_key_policy(lambda: key_policy_without("PodRoleDecryptsTestsecret")),
        Link.KEY_POLICY,
        (POD_ROLE_ARN, "kms:Decrypt", VIA),
    ),
    Way(
        "key policy via another region",
        put_key_policy(lambda: key_policy_via("secretsmanager.eu-west-1.amazonaws.com")),
        Link.KEY_POLICY,
        (POD_ROLE_ARN, VIA),
    ),
    Way(
        "replica key policy does not allow",
        replicate_under_a_foreign_key,
        Link.REPLICA_KEYS,
        ("{replica_key}", POD_ROLE_ARN, f"secretsmanager.{REPLICA_REGION}.amazonaws.com"),
        (REPLICA_REGION,),
    ),
]


@pytest.fixture
def declared(sandbox: Sandbox, store: StateStore, undeclared_story: Story) -> PathDeclaration:
    """The story's IRSA path, declared in detect mode, intact."""
    declaration = declare_story_path(sandbox, store, undeclared_story, mode=Mode.DETECT)
    verdict = check_story_path(sandbox, declaration)
    assert verdict.broken is None, verdict.broken
    return declaration


@dataclass(frozen=True)
class Answer:
    """What `driftguard verify-path NAME --json` said about the first broken link."""

    link: Link
    reason: str
    fix: str


def verify_path(name: str) -> Answer | None:
    """`driftguard verify-path NAME --json`, as a pipeline runs it: exit 1 and the first
    broken link, or exit 0 and None."""
    code, output = run_cli("verify-path", name, "--json")
    answer = json.loads(output)  # one path: one object (`--all`: a list)
    broken = answer["first_broken"]
    assert code == (1 if broken else 0), output
    return Answer(Link(broken["link"]), broken["reason"], broken["fix"]) if broken else None


@pytest.mark.parametrize("way", WAYS, ids=[way.id for way in WAYS])
def test_verify_path_names_the_first_broken_link_and_its_fix(
    sandbox: Sandbox, undeclared_story: Story, declared: PathDeclaration, way: Way
) -> None:
    story = undeclared_story
    made = way.breaks(story)
    broken = verify_path(declared.name)

    assert broken is not None, f"{way.id}: every link still holds"
    assert broken.link is way.link, broken.reason
    names = {"secret": story.secret_arn, "key": story.key_arn, "replica_key": made}
    missing = [n.format(**names) for n in way.fix_names if n.format(**names) not in broken.fix]
    assert not missing, f"the fix {broken.fix!r} does not name {missing}"
    unsaid = [n for n in way.reason_names if n not in broken.reason]
    assert not unsaid, f"the reason {broken.reason!r} does not say {unsaid}"


def test_the_story_path_holds_link_by_link(sandbox: Sandbox, declared: PathDeclaration) -> None:
    verdict = check_story_path(sandbox, declared)
    assert [link.link for link in verdict.links] == list(Link)
    assert all(link.ok and not link.fix for link in verdict.links), verdict.links
    assert verdict.grants == ()
    reasons = {link.link: link.reason for link in verdict.links}
    assert reasons[Link.REPLICA_KEYS] == "no replicas"


def test_a_grant_on_the_key_is_listed(
    sandbox: Sandbox, undeclared_story: Story, declared: PathDeclaration
) -> None:
    story = undeclared_story
    grant_id = story.kms.create_grant(
        KeyId=story.key_arn, GranteePrincipal=OUTSIDER, Operations=["Decrypt", "DescribeKey"]
    )["GrantId"]
    verdict = check_story_path(sandbox, declared)
    assert verdict.grants == (Grant(grant_id, OUTSIDER, ("Decrypt", "DescribeKey")),)
    assert verdict.broken is None  # access beside the policy: listed, not a broken link


def test_pod_identity_association_deleted(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story
) -> None:
    story = undeclared_story
    association = use_pod_identity(story)
    declaration = declare_story_path(sandbox, store, story, mode=Mode.DETECT, via="pod-identity")
    assert check_story_path(sandbox, declaration).broken is None

    story.platform.client("eks").delete_pod_identity_association(
        clusterName=CLUSTER, associationId=association
    )

    broken = verify_path(declaration.name)
    assert broken is not None and broken.link is Link.BINDING, broken
    assert "create-pod-identity-association" in broken.fix
    assert f"--cluster-name {CLUSTER}" in broken.fix and POD_ROLE_ARN in broken.fix


def test_the_replica_of_the_story_holds_under_its_own_key(
    sandbox: Sandbox, undeclared_story: Story, declared: PathDeclaration
) -> None:
    """The counterpart of the replica break: the same replica, with a key policy that
    lets pod-role decrypt in us-west-2, keeps the path."""
    story = undeclared_story
    replica_key = replicate_under_a_foreign_key(story)
    policy = json.loads(key_policy_via(f"secretsmanager.{REPLICA_REGION}.amazonaws.com"))
    policy = json.loads(json.dumps(policy).replace("us-east-1", REPLICA_REGION))
    replica_kms = story.security.client("kms", region_name=REPLICA_REGION)
    replica_kms.put_key_policy(KeyId=replica_key, PolicyName="default", Policy=json.dumps(policy))

    verdict = check_story_path(sandbox, declared)
    assert verdict.broken is None, verdict.broken
    reasons = {link.link: link.reason for link in verdict.links}
    assert replica_key in reasons[Link.REPLICA_KEYS]
