"""What the accounts show about an access path now: the I/O around driftguard.paths.

`gather` reads every link's facts through the remediation role of the account that
holds it (IAM in the role's account, Secrets Manager in the secret's account and
region, KMS in the key's, EKS in the cluster's). It never reads a secret's value.
Each read is made once; the calls are the ones driftguard.path_events.GATHER_ACTIONS
lists (the spoke template grants exactly those).

What is missing is a fact: NoSuchEntity, ResourceNotFoundException or
NotFoundException of the resource itself. Any other refusal (AccessDenied, throttling
after botocore's retries) raises: a path that cannot be read is not a broken path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import ClientError

from driftguard.arns import Arn, role_key
from driftguard.aws import AwsClients
from driftguard.kinds.base import error_code
from driftguard.path_iam import document, oidc_provider_exists, read_role
from driftguard.path_model import (
    AccessPath,
    Grant,
    Irsa,
    PathFacts,
    PodIdentity,
    PolicyDocument,
    ReplicaFacts,
)

__all__ = ["gather"]

# How DescribeSecret and ReplicationStatus may name the AWS managed key.
MANAGED_KEY_ALIAS: Final = "alias/aws/secretsmanager"
SECRET_NOT_FOUND: Final = "ResourceNotFoundException"
KEY_NOT_FOUND: Final = "NotFoundException"
EKS_NOT_FOUND: Final = "ResourceNotFoundException"
# GetResourcePolicy of a secret scheduled for deletion may be refused (the link
# before it already says the secret is going).
SECRET_DELETED: Final = "InvalidRequestException"


def gather(path: AccessPath, clients: AwsClients) -> PathFacts:
    """The facts of every link. A missing role, provider, association, secret or key is
    a fact (False/None); a call AWS refuses or fails raises (a path that cannot be read
    is not a broken path)."""
    role = read_role(path.role_arn, clients)
    secret = _read_secret(path.secret_arn, clients)
    key = _read_key(path.key_arn, clients)
    return PathFacts(
        region=Arn.parse(path.secret_arn).region,
        role_exists=role.exists,
        trust_policy=role.trust_policy,
        identity_policies=role.identity_policies,
        permissions_boundary=role.permissions_boundary,
        boundary_arn=role.boundary_arn,
        oidc_provider_exists=_irsa_bound(path.access, clients),
        pod_identity_associated=_pod_identity_bound(path, clients),
        secret_exists=secret.exists,
        secret_deletion_scheduled=secret.deletion_scheduled,
        secret_kms_key_id=secret.key_id,
        secret_policy=secret.policy,
        key_state=key.state,
        key_policy=key.policy,
        key_grants=key.grants,
        replicas=secret.replicas,
    )


def _answered(exc: ClientError, code: str) -> bool:
    return error_code(exc) == code


# --------------------------------------------------------------------------- binding


def _irsa_bound(access: Irsa | PodIdentity, clients: AwsClients) -> bool:
    return isinstance(access, Irsa) and oidc_provider_exists(access.oidc_provider_arn, clients)


def _pod_identity_bound(path: AccessPath, clients: AwsClients) -> bool:
    """An association of the cluster maps the service account to the path's role (the
    list says which associations name the service account; only Describe names the
    role)."""
    access = path.access
    if not isinstance(access, PodIdentity):
        return False
    cluster = Arn.parse(access.cluster_arn)
    name = cluster.resource.removeprefix("cluster/")
    eks: Any = clients.in_account(cluster.account, "eks", cluster.region)
    try:
        for association_id in _associations(eks, name, access):
            try:
                found = eks.describe_pod_identity_association(
                    clusterName=name, associationId=association_id
                )["association"]
            except ClientError as exc:
                if _answered(exc, EKS_NOT_FOUND):
                    continue  # deleted since it was listed
                raise
            if role_key(str(found.get("roleArn", ""))) == role_key(path.role_arn):
                return True
    except ClientError as exc:
        if _answered(exc, EKS_NOT_FOUND):
            return False  # no such cluster
        raise
    return False


def _associations(eks: Any, cluster: str, access: PodIdentity) -> Iterator[str]:
    pages = eks.get_paginator("list_pod_identity_associations").paginate(
        clusterName=cluster, namespace=access.namespace, serviceAccount=access.service_account
    )
    for page in pages:
        for association in page.get("associations", []):
            yield str(association["associationId"])


# --------------------------------------------------------------------------- secret


@dataclass(frozen=True)
class _Secret:
    exists: bool
    deletion_scheduled: bool = False
    key_id: str | None = None
    policy: PolicyDocument | None = None
    replicas: tuple[ReplicaFacts, ...] = ()


def _read_secret(secret_arn: str, clients: AwsClients) -> _Secret:
    secret = Arn.parse(secret_arn)
    client: Any = clients.in_account(secret.account, "secretsmanager", secret.region)
    try:
        described = client.describe_secret(SecretId=secret_arn)
    except ClientError as exc:
        if _answered(exc, SECRET_NOT_FOUND):
            return _Secret(exists=False)
        raise
    try:
        policy = client.get_resource_policy(SecretId=secret_arn).get("ResourcePolicy")
    except ClientError as exc:
        if not _answered(exc, SECRET_DELETED) or described.get("DeletedDate") is None:
            raise
        policy = None
    named = described.get("KmsKeyId")
    key_id = _key_arn(named, secret.account, secret.region, clients)[0] if named else None
    replicas = tuple(
        _replica(status, secret.account, clients)
        for status in sorted(described.get("ReplicationStatus") or [], key=lambda s: s["Region"])
    )
    return _Secret(
        exists=True,
        deletion_scheduled=described.get("DeletedDate") is not None,
        key_id=key_id,
        policy=document(policy) if policy else None,
        replicas=replicas,
    )


def _replica(status: Mapping[str, Any], account: str, clients: AwsClients) -> ReplicaFacts:
    """One region's copy: its key, found in that region, and that key's own policy."""
    region, named = str(status["Region"]), status.get("KmsKeyId")
    key_arn, state = (
        _key_arn(named, account, region, clients, describe=True) if named else (None, None)
    )
    policy = None
    if key_arn is not None and state is not None:
        key = Arn.parse(key_arn)
        policy = _key_policy(clients.in_account(key.account, "kms", key.region), key_arn)
    return ReplicaFacts(
        region=region,
        status=str(status.get("Status", "")),
        key_id=key_arn,
        key_state=state,
        key_policy=policy,
        status_message=str(status.get("StatusMessage", "")),
    )


def _key_arn(
    named: str, account: str, region: str, clients: AwsClients, *, describe: bool = False
) -> tuple[str | None, str | None]:
    """(the key's ARN, its state) from an ARN, key id, alias name or alias ARN that a
    secret in `account` and `region` names; (None, None) for the AWS managed key. A key
    ARN is taken as is unless its state is wanted (`describe`); a name no key answers
    to is kept as given, with no state."""
    if named == MANAGED_KEY_ALIAS or named.endswith(":" + MANAGED_KEY_ALIAS):
        return None, None
    if named.startswith("arn:") and ":key/" in named and not describe:
        return named, None
    where = Arn.parse(named) if named.startswith("arn:") else None
    kms: Any = clients.in_account(
        where.account if where else account, "kms", where.region if where else region
    )
    try:
        metadata = kms.describe_key(KeyId=named)["KeyMetadata"]
    except ClientError as exc:
        if _answered(exc, KEY_NOT_FOUND):
            return named, None
        raise
    return str(metadata["Arn"]), str(metadata["KeyState"])


# --------------------------------------------------------------------------- key


@dataclass(frozen=True)
class _Key:
    state: str | None = None
    policy: PolicyDocument | None = None
    grants: tuple[Grant, ...] = ()


def _read_key(key_arn: str, clients: AwsClients) -> _Key:
    key = Arn.parse(key_arn)
    kms: Any = clients.in_account(key.account, "kms", key.region)
    try:
        state = str(kms.describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"])
    except ClientError as exc:
        if _answered(exc, KEY_NOT_FOUND):
            return _Key()
        raise
    grants = tuple(
        Grant(str(g["GrantId"]), str(g.get("GranteePrincipal", "")), tuple(g.get("Operations", ())))
        for page in kms.get_paginator("list_grants").paginate(KeyId=key_arn)
        for g in page.get("Grants", [])
    )
    return _Key(state, _key_policy(kms, key_arn), grants)


def _key_policy(kms: Any, key_arn: str) -> PolicyDocument | None:
    return document(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
