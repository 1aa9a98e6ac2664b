"""The IAM side of an access path's facts (driftguard.path_facts): the role, its
trust and identity policies, its permissions boundary, and the OIDC provider, each
read once in the account that holds it.

A managed policy (attached, or the boundary) that cannot be found is left out: AWS
refuses to delete a policy that is attached or set as a boundary (DeleteConflict), so
NoSuchEntity only means it was detached since the role was read, and a policy no
longer attached grants nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

from botocore.exceptions import ClientError

from driftguard.arns import Arn
from driftguard.aws import AwsClients
from driftguard.kinds.base import error_code
from driftguard.path_model import PolicyDocument

__all__ = ["RoleFacts", "document", "oidc_provider_exists", "read_role"]

NO_SUCH_ENTITY: Final = "NoSuchEntity"


@dataclass(frozen=True)
class RoleFacts:
    exists: bool
    trust_policy: PolicyDocument | None = None
    identity_policies: tuple[PolicyDocument, ...] = ()  # inline, then attached
    permissions_boundary: PolicyDocument | None = None
    boundary_arn: str | None = None


def document(value: Any) -> PolicyDocument | None:
    """A policy document as an API answers it: parsed already (boto3 decodes IAM's
    URL-encoded documents), or JSON text, URL-encoded or not. None when it is no JSON
    object (the link then says it could not be read)."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    for text in (value, unquote(value)):
        try:
            parsed = json.loads(text)
        except ValueError:
            continue
        return parsed if isinstance(parsed, dict) else None
    return None


def _missing(exc: ClientError) -> bool:
    return error_code(exc) == NO_SUCH_ENTITY


def read_role(role_arn: str, clients: AwsClients) -> RoleFacts:
    arn = Arn.parse(role_arn)
    name = arn.resource.rsplit("/", 1)[-1]
    iam: Any = clients.in_account(arn.account, "iam")
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if _missing(exc):
            return RoleFacts(exists=False)
        raise
    boundary_arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    attached = [_managed(iam, policy_arn) for policy_arn in _attached(iam, name)]
    return RoleFacts(
        exists=True,
        trust_policy=document(role.get("AssumeRolePolicyDocument")),
        identity_policies=(
            *_inline(iam, name),
            *(policy for policy in attached if policy is not None),
        ),
        permissions_boundary=_managed(iam, boundary_arn) if boundary_arn else None,
        boundary_arn=boundary_arn,
    )


def _inline(iam: Any, role: str) -> Iterator[PolicyDocument]:
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role):
        for policy_name in page.get("PolicyNames", []):
            try:
                answer = iam.get_role_policy(RoleName=role, PolicyName=policy_name)
            except ClientError as exc:
                if _missing(exc):
                    continue  # deleted since it was listed
                raise
            parsed = document(answer.get("PolicyDocument"))
            if parsed is not None:
                yield parsed


def _attached(iam: Any, role: str) -> Iterator[str]:
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role):
        for policy in page.get("AttachedPolicies", []):
            yield str(policy["PolicyArn"])


def _managed(iam: Any, policy_arn: str) -> PolicyDocument | None:
    """A managed policy's default version (customer or AWS managed, read the same way)."""
    try:
        version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
        answer = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return document(answer["PolicyVersion"].get("Document"))


def oidc_provider_exists(provider_arn: str, clients: AwsClients) -> bool:
    iam: Any = clients.in_account(Arn.parse(provider_arn).account, "iam")
    try:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
    except ClientError as exc:
        if _missing(exc):
            return False
        raise
    return True
