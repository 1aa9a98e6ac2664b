"""`adopt-path`, the pure part: what a role's trust policy, a secret's KmsKeyId and a
cluster's Pod Identity associations say about an access path that exists.

Adopting declares what is there, so it refuses (AdoptionRefused, exit 2) whatever it
would have to guess: a trust policy that names several OIDC providers or service
accounts, one without an exact `sub` (itself a finding: any service account of the
cluster may become the role), a role trusted both ways, a secret under the AWS
managed key. Each refusal says which `declare-path` flags state the path instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from driftguard.arns import Arn, role_key
from driftguard.errors import DeclarationError, PolicyParseError
from driftguard.path_model import Irsa, PodIdentity
from driftguard.path_trust import POD_IDENTITY_SERVICE, WEB_IDENTITY, oidc_host
from driftguard.policy import Policy, Statement, action_matches
from driftguard_cli.path_inputs import NAME_RE

__all__ = [
    "AdoptionRefused",
    "KeyLookup",
    "PodIdentityTrust",
    "default_name",
    "key_lookup",
    "pod_identity_from",
    "trusted_access",
]

SUBJECT_RE: Final = re.compile(r"\Asystem:serviceaccount:([^:*?]+):([^:*?]+)\Z")
_DECLARE_IRSA: Final = (
    "driftguard declare-path NAME --role ROLE --secret SECRET --key KEY "
    "--irsa-provider PROVIDER_ARN --namespace NS --service-account SA"
)
_DECLARE_POD: Final = (
    "driftguard declare-path NAME --role ROLE --secret SECRET --key KEY "
    "--pod-identity-cluster CLUSTER_ARN --namespace NS --service-account SA"
)


class AdoptionRefused(DeclarationError):
    """What exists does not say which path to declare (exit 2)."""


@dataclass(frozen=True)
class PodIdentityTrust:
    """The trust policy lets EKS Pod Identity in: which cluster, namespace and service
    account is the associations' business (`pod_identity_from`)."""


def _allows(statement: Statement, action: str) -> bool:
    if statement.actions is not None:
        return any(action_matches(pattern, action) for pattern in statement.actions)
    return not any(action_matches(pattern, action) for pattern in statement.not_actions or ())


def _principals(statement: Statement, kind: str) -> set[str]:
    return {p.value for p in statement.principals or () if p.kind == kind}


def trusted_access(trust: Mapping[str, Any], role_arn: str) -> Irsa | PodIdentityTrust:
    """How pods get the role, as its trust policy says: IRSA (the one OIDC provider and
    the one exact service account) or Pod Identity. AdoptionRefused otherwise."""
    try:
        policy = Policy.parse(trust)
    except PolicyParseError as exc:
        raise AdoptionRefused(f"{role_arn}'s trust policy does not parse: {exc}") from None
    allows = [s for s in policy.statements if s.effect == "Allow"]
    federated = [
        s
        for s in allows
        if _allows(s, WEB_IDENTITY)
        and any(":oidc-provider/" in p for p in _principals(s, "Federated"))
    ]
    pods = [s for s in allows if POD_IDENTITY_SERVICE in _principals(s, "Service")]
    if federated and pods:
        raise AdoptionRefused(
            f"{role_arn} trusts both an OIDC provider (IRSA) and {POD_IDENTITY_SERVICE} "
            f"(Pod Identity): say which path to declare with {_DECLARE_IRSA}, or {_DECLARE_POD}"
        )
    if pods:
        return PodIdentityTrust()
    if not federated:
        raise AdoptionRefused(
            f"{role_arn}'s trust policy lets no OIDC provider ({WEB_IDENTITY}) and not "
            f"{POD_IDENTITY_SERVICE} assume it: no pod can get this role"
        )
    return _irsa(federated, role_arn)


def _irsa(statements: list[Statement], role_arn: str) -> Irsa:
    providers = sorted(
        {p for s in statements for p in _principals(s, "Federated") if ":oidc-provider/" in p}
    )
    if len(providers) > 1:
        raise AdoptionRefused(
            f"{role_arn} trusts {len(providers)} OIDC providers ({', '.join(providers)}): "
            f"declare the path for one with {_DECLARE_IRSA}"
        )
    (provider,) = providers
    key = f"{oidc_host(provider).lower()}:sub"
    subs = [(op, values) for s in statements for op, k, values in s.conditions if k == key]
    loose = [(op, v) for op, values in subs for v in values if op != "StringEquals" or "*" in v]
    exact = sorted({v for op, values in subs if op == "StringEquals" for v in values})
    if loose or not exact:
        how = (
            f"tests {key} with {loose[0][0]} {loose[0][1]!r}"
            if loose
            else f"has no exact {key} condition"
        )
        raise AdoptionRefused(
            f"{role_arn}'s trust policy {how}: any service account of the cluster may "
            "become the role (a finding). Put an exact StringEquals sub in the trust "
            f"policy, or declare the path you mean with {_DECLARE_IRSA}"
        )
    if len(exact) > 1:
        raise AdoptionRefused(
            f"{role_arn} trusts {len(exact)} service accounts ({', '.join(exact)}): "
            f"declare the path for one with {_DECLARE_IRSA}"
        )
    match = SUBJECT_RE.match(exact[0])
    if match is None:
        raise AdoptionRefused(
            f"{role_arn}'s trust policy names {exact[0]!r} as {key}, not "
            f"system:serviceaccount:NAMESPACE:NAME: declare the path with {_DECLARE_IRSA}"
        )
    return Irsa(provider, match[1], match[2])


def pod_identity_from(
    cluster_arn: str, associations: Iterable[Mapping[str, Any]], role_arn: str
) -> PodIdentity:
    """The one association of the cluster (EKS DescribePodIdentityAssociation answers)
    that hands pods the role."""
    found = sorted(
        {
            (str(a["namespace"]), str(a["serviceAccount"]))
            for a in associations
            if role_key(str(a.get("roleArn", ""))) == role_key(role_arn)
        }
    )
    cluster = Arn.parse(cluster_arn).resource.removeprefix("cluster/")
    if not found:
        raise AdoptionRefused(
            f"no Pod Identity association of {cluster} hands out {role_arn}: create one, "
            f"or declare the path with {_DECLARE_POD}"
        )
    if len(found) > 1:
        accounts = ", ".join(f"{ns}/{sa}" for ns, sa in found)
        raise AdoptionRefused(
            f"{cluster} hands {role_arn} to {len(found)} service accounts ({accounts}): "
            f"declare the path for one with {_DECLARE_POD}"
        )
    ((namespace, service_account),) = found
    return PodIdentity(cluster_arn, namespace, service_account)


@dataclass(frozen=True)
class KeyLookup:
    """Where to ask KMS DescribeKey for the ARN of the key a secret names."""

    account: str
    region: str
    key_id: str  # a key ARN, key ID, alias name or alias ARN


def key_lookup(kms_key_id: str | None, secret_arn: str) -> KeyLookup:
    """DescribeSecret's KmsKeyId names a key in the secret's account and region unless
    it is an ARN (a key or an alias of another account)."""
    if not kms_key_id or kms_key_id == "alias/aws/secretsmanager":
        raise AdoptionRefused(
            f"{secret_arn} is encrypted with the AWS managed key aws/secretsmanager, which no "
            "other account may use and whose policy nobody can change: re-encrypt it with a "
            "customer managed key (aws secretsmanager update-secret --kms-key-id KEY_ARN), "
            "then adopt the path again"
        )
    if kms_key_id.startswith("arn:"):
        arn = Arn.parse(kms_key_id)
        return KeyLookup(arn.account, arn.region, kms_key_id)
    secret = Arn.parse(secret_arn)
    return KeyLookup(secret.account, secret.region, kms_key_id)


def default_name(secret_arn: str) -> str:
    """The secret's name (without the six characters Secrets Manager appends), as a
    path name: lower case, anything else a path name may not hold made a hyphen."""
    name = Arn.parse(secret_arn).resource.removeprefix("secret:")
    name = re.sub(r"-[A-Za-z0-9]{6}\Z", "", name).lower()
    slug = re.sub(r"[^a-z0-9._/-]+", "-", name)[:64].strip("._/-")
    if not NAME_RE.match(slug):
        raise AdoptionRefused(f"cannot name the path after {secret_arn}: give --name NAME")
    return slug
