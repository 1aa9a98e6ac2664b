"""`adopt-path`, the reads: a role, a secret, its key and a cluster's Pod Identity
associations, each through the remediation role of the account that holds it (as
`adopt` reads live policies). What they say is decided in `path_adopt` (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from driftguard.arns import Arn
from driftguard.aws import AwsClients
from driftguard.errors import ResourceNotFoundError
from driftguard.kinds.base import error_code
from driftguard.path_model import AccessPath, Irsa, PodIdentity
from driftguard_cli.path_adopt import (
    AdoptionRefused,
    KeyLookup,
    PodIdentityTrust,
    key_lookup,
    pod_identity_from,
    trusted_access,
)

__all__ = ["Found", "read_existing"]


@dataclass(frozen=True)
class Found:
    path: AccessPath
    boundary_arn: str | None  # the role's permissions boundary now


def read_existing(
    clients: AwsClients, role_arn: str, secret_arn: str, cluster_arn: str | None
) -> Found:
    role = _role(clients, role_arn)
    trust = _document(role["AssumeRolePolicyDocument"])
    access = _access(clients, trusted_access(trust, role_arn), role_arn, cluster_arn)
    secret = _secret(clients, secret_arn)
    key_arn = _key_arn(clients, key_lookup(secret.get("KmsKeyId"), secret_arn), secret_arn)
    boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
    return Found(AccessPath(str(role["Arn"]), str(secret["ARN"]), key_arn, access), boundary)


def _access(
    clients: AwsClients,
    trusted: Irsa | PodIdentityTrust,
    role_arn: str,
    cluster_arn: str | None,
) -> Irsa | PodIdentity:
    if isinstance(trusted, Irsa):
        if cluster_arn is not None:
            raise AdoptionRefused(
                f"{role_arn} is handed out through IRSA ({trusted.oidc_provider_arn}), not "
                "EKS Pod Identity: leave --cluster out"
            )
        return trusted
    if cluster_arn is None:
        raise AdoptionRefused(
            f"{role_arn} is handed out through EKS Pod Identity: give --cluster CLUSTER_ARN, "
            "the cluster whose association maps a service account to it"
        )
    return pod_identity_from(cluster_arn, _associations(clients, cluster_arn), role_arn)


def _document(document: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """boto3 decodes a trust policy; a raw answer is URL-encoded JSON."""
    if isinstance(document, str):
        parsed: Mapping[str, Any] = json.loads(unquote(document))
        return parsed
    return document


def _role(clients: AwsClients, role_arn: str) -> Mapping[str, Any]:
    arn = Arn.parse(role_arn)
    iam: Any = clients.in_account(arn.account, "iam")
    try:
        role: Mapping[str, Any] = iam.get_role(RoleName=arn.resource.rsplit("/", 1)[-1])["Role"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            raise ResourceNotFoundError(f"role {role_arn} does not exist") from None
        raise
    return role


def _secret(clients: AwsClients, secret_arn: str) -> Mapping[str, Any]:
    arn = Arn.parse(secret_arn)
    secrets: Any = clients.in_account(arn.account, "secretsmanager", arn.region)
    try:
        secret: Mapping[str, Any] = secrets.describe_secret(SecretId=secret_arn)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise ResourceNotFoundError(f"secret {secret_arn} does not exist") from None
        raise
    return secret


def _key_arn(clients: AwsClients, lookup: KeyLookup, secret_arn: str) -> str:
    kms: Any = clients.in_account(lookup.account, "kms", lookup.region)
    try:
        return str(kms.describe_key(KeyId=lookup.key_id)["KeyMetadata"]["Arn"])
    except ClientError as exc:
        if error_code(exc) == "NotFoundException":
            raise AdoptionRefused(
                f"{secret_arn} is encrypted with {lookup.key_id}, which does not exist in "
                f"{lookup.account} {lookup.region}: the path is broken already"
            ) from None
        raise


def _associations(clients: AwsClients, cluster_arn: str) -> Iterator[Mapping[str, Any]]:
    """Every Pod Identity association of the cluster, described (the listing does not
    say which role each hands out)."""
    arn = Arn.parse(cluster_arn)
    name = arn.resource.removeprefix("cluster/")
    eks: Any = clients.in_account(arn.account, "eks", arn.region)
    try:
        pages = list(eks.get_paginator("list_pod_identity_associations").paginate(clusterName=name))
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise ResourceNotFoundError(f"cluster {cluster_arn} does not exist") from None
        raise
    for page in pages:
        for summary in page.get("associations", ()):
            yield eks.describe_pod_identity_association(
                clusterName=name, associationId=summary["associationId"]
            )["association"]
