"""Which declared access paths a CloudTrail call touches, and the safe fix it calls for.
Pure: the path watch (driftguard.path_watch) does the I/O around it.

Each call names one link's resource, the way CloudTrail records it: a key by id, ARN
or alias (`keyId`, `resources[].ARN`), a secret by name, partial or full ARN
(`secretId`, `responseElements.arn`/`aRN`), a role by name (`roleName`), an OIDC
provider by ARN or URL, a cluster by name. A call that names its resource in no way
driftguard can match (an alias, a grant retired by token) touches every path whose
resource of that kind is in the call's account and region: re-verifying one path too
many costs a few reads, missing one costs an outage nobody is told of.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from driftguard.arns import Arn
from driftguard.dispatch import ignore_reason
from driftguard.errors import UnknownResourceKindError
from driftguard.events import CloudTrailDetail
from driftguard.path_model import AccessPath, Irsa, PathDeclaration, PodIdentity
from driftguard.vocabulary import Link, Mode

__all__ = [
    "FIXING_EVENTS",
    "FIX_ACTIONS",
    "GATHER_ACTIONS",
    "PATH_EVENTS",
    "Named",
    "fix_calls",
    "may_fix",
    "named",
    "not_watched",
    "touched",
    "touches",
]

KMS, SECRETS, IAM, EKS = (
    "kms.amazonaws.com",
    "secretsmanager.amazonaws.com",
    "iam.amazonaws.com",
    "eks.amazonaws.com",
)

# Per event source, the calls that may break or heal a path, and the link each touches.
PATH_EVENTS: Final[Mapping[str, Mapping[str, Link]]] = MappingProxyType(
    {
        KMS: MappingProxyType(
            {
                "ScheduleKeyDeletion": Link.KEY_STATE,
                "CancelKeyDeletion": Link.KEY_STATE,
                "DisableKey": Link.KEY_STATE,
                "EnableKey": Link.KEY_STATE,
                "PutKeyPolicy": Link.KEY_POLICY,
                # Access beside the key policy: the verdict lists the key's grants.
                "CreateGrant": Link.KEY_POLICY,
                "RevokeGrant": Link.KEY_POLICY,
                "RetireGrant": Link.KEY_POLICY,
                # A replica key has a policy of its own, which KMS does not synchronise.
                "ReplicateKey": Link.KEY_POLICY,
            }
        ),
        SECRETS: MappingProxyType(
            {
                "UpdateSecret": Link.SECRET_KEY,
                "DeleteSecret": Link.SECRET_EXISTS,
                "RestoreSecret": Link.SECRET_EXISTS,
                "PutResourcePolicy": Link.SECRET_POLICY,
                "DeleteResourcePolicy": Link.SECRET_POLICY,
                "ReplicateSecretToRegions": Link.SECRET_EXISTS,
                "RemoveRegionsFromReplication": Link.SECRET_EXISTS,
            }
        ),
        IAM: MappingProxyType(
            {
                "CreateRole": Link.ROLE_EXISTS,
                "DeleteRole": Link.ROLE_EXISTS,
                "UpdateAssumeRolePolicy": Link.TRUST,
                "AttachRolePolicy": Link.IDENTITY_POLICY,
                "DetachRolePolicy": Link.IDENTITY_POLICY,
                "PutRolePolicy": Link.IDENTITY_POLICY,
                "DeleteRolePolicy": Link.IDENTITY_POLICY,
                "PutRolePermissionsBoundary": Link.IDENTITY_POLICY,
                "DeleteRolePermissionsBoundary": Link.IDENTITY_POLICY,
                # A new default version of a managed policy some path role may have.
                "CreatePolicyVersion": Link.IDENTITY_POLICY,
                "SetDefaultPolicyVersion": Link.IDENTITY_POLICY,
                "CreateOpenIDConnectProvider": Link.BINDING,
                "DeleteOpenIDConnectProvider": Link.BINDING,
            }
        ),
        EKS: MappingProxyType(
            {
                "CreatePodIdentityAssociation": Link.BINDING,
                "DeletePodIdentityAssociation": Link.BINDING,
            }
        ),
    }
)

# The safe fixes (enforce mode): by the key's state, the calls that enable it again.
# CancelKeyDeletion leaves the key disabled, so EnableKey follows it.
FIXING_EVENTS: Final = frozenset({"ScheduleKeyDeletion", "DisableKey"})
KEY_FIXES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"PendingDeletion": ("CancelKeyDeletion", "EnableKey"), "Disabled": ("EnableKey",)}
)
FIX_ACTIONS: Final = frozenset(f"kms:{call}" for calls in KEY_FIXES.values() for call in calls)
# What driftguard.path_facts.gather reads through the remediation role (the spoke
# template grants exactly these, tests/contract/test_templates.py).
GATHER_ACTIONS: Final = frozenset(
    {
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:GetOpenIDConnectProvider",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetResourcePolicy",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:ListGrants",
        "eks:ListPodIdentityAssociations",
        "eks:DescribePodIdentityAssociation",
    }
)


@dataclass(frozen=True)
class Named:
    """The resource one call changed, as the call names it. `ids` empty: it names none
    driftguard can match (every resource of the kind in the account and region)."""

    source: str  # the event source: which service's resource
    link: Link
    account: str
    region: str
    ids: frozenset[str]


def not_watched(detail: CloudTrailDetail, remediation_role_name: str) -> str | None:
    """Why the path watch leaves this call alone (None: it looks). driftguard's own
    calls are left alone too: the watch verifies its own fixes as it makes them, and a
    restore of a key, secret or trust policy is followed by the watch in the same
    invocation as the call that led to it (driftguard.runtime)."""
    if detail.event_name not in PATH_EVENTS.get(detail.event_source, {}):
        return f"{detail.event_name} touches no access path"
    return ignore_reason(detail, remediation_role_name)


def named(detail: CloudTrailDetail) -> Named | None:
    """What the call changed; None when it changed nothing a path stands on (an
    UpdateSecret that keeps its key, a policy version that is not the default)."""
    link = PATH_EVENTS.get(detail.event_source, {}).get(detail.event_name)
    if link is None:
        return None
    request = detail.request_parameters or {}
    response = detail.response_elements or {}
    name = detail.event_name
    if name == "UpdateSecret" and not request.get("kmsKeyId"):
        return None
    if name == "CreatePolicyVersion" and request.get("setAsDefault") not in (True, "true"):
        return None
    ids = _ids(detail.event_source, link, name, request, response, detail.resources or [])
    return Named(
        detail.event_source,
        link,
        detail.recipient_account_id,
        detail.aws_region,
        frozenset(i for i in ids if isinstance(i, str) and i),
    )


def _ids(
    source: str,
    link: Link,
    name: str,
    request: Mapping[str, Any],
    response: Mapping[str, Any],
    resources: list[dict[str, Any]],
) -> Iterable[Any]:
    if source == KMS:
        listed = [r.get("ARN") for r in resources if r.get("type") == "AWS::KMS::Key"]
        return [request.get("keyId"), response.get("keyId"), *listed]
    if source == SECRETS:
        return [request.get("secretId"), response.get("arn"), response.get("aRN")]
    if source == EKS:
        return [request.get("clusterName"), request.get("name")]
    if link is Link.BINDING:  # an OIDC provider: its ARN, or (created) its URL
        url = str(request.get("url") or "")
        host = url.split("://", 1)[-1].rstrip("/") if url else None
        return [
            request.get("openIDConnectProviderArn"),
            response.get("openIDConnectProviderArn"),
            host,
        ]
    if name in ("CreatePolicyVersion", "SetDefaultPolicyVersion"):
        return []  # a managed policy of the account: any of its roles may have it
    return [request.get("roleName")]


def touches(path: AccessPath, what: Named) -> bool:
    """Whether the call changed a resource the path stands on."""
    if what.source == KMS:
        return _same_key(path.key_arn, what)
    if what.source == SECRETS:
        return _same_secret(path.secret_arn, what)
    if what.source == EKS:
        return isinstance(path.access, PodIdentity) and _same_cluster(path.access, what)
    if what.link is Link.BINDING:
        return isinstance(path.access, Irsa) and _same_provider(path.access, what)
    return _same_role(path.role_arn, what)


def touched(
    declarations: Iterable[PathDeclaration], detail: CloudTrailDetail
) -> list[PathDeclaration]:
    """The declared paths the call touches, in the order given."""
    what = named(detail)
    if what is None:
        return []
    return [d for d in declarations if touches(d.path, what)]


def may_fix(declaration: PathDeclaration, detail: CloudTrailDetail) -> bool:
    """Whether this call, on this path, calls for the safe fix: the path is in enforce
    mode and someone scheduled its key's deletion or disabled it. (Which calls put it
    right depends on the key's state now: `fix_calls`.)"""
    what = named(detail)
    return (
        declaration.mode is Mode.ENFORCE
        and detail.event_name in FIXING_EVENTS
        and what is not None
        and what.source == KMS
        and _same_key(declaration.path.key_arn, what)
    )


def grant_of(detail: CloudTrailDetail) -> dict[str, Any] | None:
    """What a CreateGrant call granted: grantee, operations, grant id (as recorded)."""
    if detail.event_name != "CreateGrant":
        return None
    request, response = detail.request_parameters or {}, detail.response_elements or {}
    operations = request.get("operations")
    return {
        "grantee": str(request.get("granteePrincipal") or "")[:2048],
        "operations": [str(o) for o in operations] if isinstance(operations, list) else [],
        "grant_id": str(response.get("grantId") or "")[:128],
    }


def replica_of(detail: CloudTrailDetail) -> str | None:
    """The replica key a ReplicateKey call made (responseElements.replicaKeyMetadata)."""
    if detail.event_name != "ReplicateKey":
        return None
    metadata = (detail.response_elements or {}).get("replicaKeyMetadata")
    arn = metadata.get("arn") if isinstance(metadata, dict) else None
    return arn if isinstance(arn, str) and _parse(arn) is not None else None


def fix_calls(key_state: str | None) -> tuple[str, ...]:
    """The KMS calls that enable a key in this state again (none: nothing to do)."""
    return KEY_FIXES.get(key_state or "", ())


# --------------------------------------------------------------------------- matching


def _parse(arn: str) -> Arn | None:
    try:
        return Arn.parse(arn)
    except UnknownResourceKindError:
        return None


def _same_place(arn: Arn, what: Named, *, regional: bool = True) -> bool:
    return arn.account == what.account and (not regional or arn.region == what.region)


def _same_key(key_arn: str, what: Named) -> bool:
    key = _parse(key_arn)
    if key is None:
        return False
    key_id = key.resource.split("/", 1)[-1]
    here = _same_place(key, what)
    if not what.ids:
        return here
    for given in what.ids:
        if given == key_arn or (here and given == key_id):
            return True
        if here and (given.startswith("alias/") or ":alias/" in given):
            return True  # an alias may name this key: look
    return False


def _same_secret(secret_arn: str, what: Named) -> bool:
    secret = _parse(secret_arn)
    if secret is None:
        return False
    if not what.ids:
        return _same_place(secret, what)
    full_name = secret.resource.split(":", 1)[-1]  # NAME-AbCdEf
    # Secrets Manager appends six random characters; a partial ARN or a name leaves them out.
    short_name = full_name[:-7] if len(full_name) > 7 and full_name[-7] == "-" else full_name
    partial_arn = secret_arn[: len(secret_arn) - (len(full_name) - len(short_name))]
    for given in what.ids:
        if given in (secret_arn, partial_arn):
            return True
        if not given.startswith("arn:") and given in (full_name, short_name):
            return _same_place(secret, what)
    return False


def _same_role(role_arn: str, what: Named) -> bool:
    role = _parse(role_arn)
    if role is None or role.account != what.account:
        return False
    if not what.ids:
        return True
    name = role.resource.rsplit("/", 1)[-1].lower()  # unique whatever the case
    return any(given.lower() == name for given in what.ids)


def _same_provider(access: Irsa, what: Named) -> bool:
    provider = _parse(access.oidc_provider_arn)
    if provider is None or provider.account != what.account:
        return False
    if not what.ids:
        return True
    host = provider.resource.split("/", 1)[-1]
    return any(given in (access.oidc_provider_arn, host) for given in what.ids)


def _same_cluster(access: PodIdentity, what: Named) -> bool:
    cluster = _parse(access.cluster_arn)
    if cluster is None or not _same_place(cluster, what):
        return False
    return not what.ids or cluster.resource.split("/", 1)[-1] in what.ids
