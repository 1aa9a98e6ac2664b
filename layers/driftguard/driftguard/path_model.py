"""What an access path is and what the accounts show about it (driftguard.paths
re-exports these)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from driftguard.vocabulary import Mode

__all__ = [
    "PATH_KIND",
    "AccessPath",
    "Grant",
    "Irsa",
    "PathDeclaration",
    "PathFacts",
    "PodIdentity",
    "PolicyDocument",
    "ReplicaFacts",
]

PolicyDocument = Mapping[str, Any]
# What a path is called where resources have a kind (alerts, replays, plans, the MAC).
PATH_KIND: Final = "access-path"


@dataclass(frozen=True)
class Irsa:
    """IAM Roles for Service Accounts: the pod trades its token with the cluster's OIDC
    provider for the role."""

    oidc_provider_arn: str
    namespace: str
    service_account: str


@dataclass(frozen=True)
class PodIdentity:
    """EKS Pod Identity: the EKS agent assumes the role for an association."""

    cluster_arn: str  # arn:aws:eks:REGION:ACCOUNT:cluster/NAME: where associations live
    namespace: str
    service_account: str


@dataclass(frozen=True)
class AccessPath:
    role_arn: str
    secret_arn: str
    key_arn: str
    access: Irsa | PodIdentity


@dataclass(frozen=True)
class PathDeclaration:
    """A declared access path, signed like a policy declaration (driftguard.signing).

    `mode` says whether driftguard may put a broken link right where a safe fix exists
    (a key scheduled for deletion or disabled); `boundary_arn` is the permissions
    boundary the role must have (None: none required)."""

    name: str
    path: AccessPath
    mode: Mode
    version: int
    declared_by: str
    declared_at: datetime
    boundary_arn: str | None = None
    signature: str = ""  # the declarer's HMAC; "" when unsigned

    def fields(self) -> dict[str, Any]:
        """Everything the signature covers, as plain JSON values."""
        access = self.path.access
        return {
            "what": PATH_KIND,
            "name": self.name,
            "role_arn": self.path.role_arn,
            "secret_arn": self.path.secret_arn,
            "key_arn": self.path.key_arn,
            "access": {"via": via(access)} | vars(access),
            "mode": self.mode.value,
            "version": self.version,
            "boundary_arn": self.boundary_arn,
            "declared_by": self.declared_by,
            "declared_at": self.declared_at.isoformat(),
        }


def via(access: Irsa | PodIdentity) -> str:
    """How the pod gets the role, as declaration files and answers name it."""
    return "irsa" if isinstance(access, Irsa) else "pod-identity"


@dataclass(frozen=True)
class Grant:
    """A KMS grant on the path's key: access beside the key policy (ListGrants)."""

    grant_id: str
    grantee: str
    operations: tuple[str, ...]


@dataclass(frozen=True)
class ReplicaFacts:
    """A replica of the path's secret in another region (DescribeSecret
    ReplicationStatus) and the key that encrypts it there, read in that region: KMS
    does not synchronise a replica key's policy with the primary's."""

    region: str
    status: str  # InSync, InProgress or Failed
    # The replica's key: its ARN, or as ReplicationStatus names it when no key answers
    # to that name; None: the AWS managed key aws/secretsmanager.
    key_id: str | None
    key_state: str | None = None  # DescribeKey KeyState; None: no such key
    key_policy: PolicyDocument | None = None
    status_message: str = ""


@dataclass(frozen=True)
class PathFacts:
    """What the accounts show about a path's links now. Documents are parsed JSON;
    None where there is none (or it could not be read)."""

    region: str  # the secret's region: Secrets Manager calls KMS from there
    role_exists: bool
    trust_policy: PolicyDocument | None = None
    identity_policies: Sequence[PolicyDocument] = ()  # inline and attached
    permissions_boundary: PolicyDocument | None = None
    oidc_provider_exists: bool = False
    # Pod Identity: an association of the cluster maps the namespace and service
    # account to the role.
    pod_identity_associated: bool = False
    secret_exists: bool = False
    secret_deletion_scheduled: bool = False
    secret_kms_key_id: str | None = None  # DescribeSecret KmsKeyId: ARN, key id or alias
    secret_policy: PolicyDocument | None = None
    key_state: str | None = None  # DescribeKey KeyState (Enabled, ...); None: no such key
    key_policy: PolicyDocument | None = None
    key_grants: tuple[Grant, ...] = ()  # listed in the answer; not a link
    boundary_arn: str | None = None  # the role's permissions boundary, as GetRole shows it
    replicas: tuple[ReplicaFacts, ...] = ()  # by region
