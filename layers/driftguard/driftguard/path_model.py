"""What an access path is and what the accounts show about it (driftguard.paths
re-exports these)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["AccessPath", "Irsa", "PathFacts", "PodIdentity", "PolicyDocument"]

PolicyDocument = Mapping[str, Any]


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

    cluster: str
    namespace: str
    service_account: str


@dataclass(frozen=True)
class AccessPath:
    role_arn: str
    secret_arn: str
    key_arn: str
    access: Irsa | PodIdentity


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
    secret_exists: bool = False
    secret_deletion_scheduled: bool = False
    secret_kms_key_id: str | None = None  # DescribeSecret KmsKeyId: ARN, key id or alias
    secret_policy: PolicyDocument | None = None
    key_state: str | None = None  # DescribeKey KeyState (Enabled, ...); None: no such key
    key_policy: PolicyDocument | None = None
