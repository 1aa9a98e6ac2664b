"""The TRUST link of an access path: the role's trust policy lets exactly the path's
service account assume it (pure, no I/O).

IRSA: the cluster's OIDC provider as Federated principal, sts:AssumeRoleWithWebIdentity,
and under StringEquals `<host>:sub` = `system:serviceaccount:NS:SA` (that one value,
no wildcard) and `<host>:aud` = `sts.amazonaws.com`. Without an exact `sub`, any pod
of the cluster, or of any cluster sharing the provider, may become the role.
Pod Identity: the service principal pods.eks.amazonaws.com with sts:AssumeRole and
sts:TagSession (which service account is the association's business, not the policy's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from driftguard.access import label
from driftguard.policy import Condition, Policy, Principal, Statement, action_matches

if TYPE_CHECKING:
    from driftguard.paths import Irsa, PodIdentity

__all__ = ["Check", "irsa_statement", "irsa_trust", "pod_identity_statement", "pod_identity_trust"]

WEB_IDENTITY: Final = "sts:AssumeRoleWithWebIdentity"
POD_IDENTITY_SERVICE: Final = "pods.eks.amazonaws.com"
POD_IDENTITY_ACTIONS: Final = ("sts:AssumeRole", "sts:TagSession")
AUDIENCE: Final = "sts.amazonaws.com"


@dataclass(frozen=True)
class Check:
    """One link's verdict, before it is named (driftguard.paths.LinkResult)."""

    ok: bool
    reason: str
    fix: str = ""


def oidc_host(provider_arn: str) -> str:
    """`arn:aws:iam::1:oidc-provider/oidc.eks.R.amazonaws.com/id/X` -> the part after
    `oidc-provider/`: the prefix of the provider's condition keys."""
    return provider_arn.split(":oidc-provider/", 1)[-1]


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def irsa_statement(access: Irsa) -> dict[str, Any]:
    host = oidc_host(access.oidc_provider_arn)
    return {
        "Effect": "Allow",
        "Principal": {"Federated": access.oidc_provider_arn},
        "Action": WEB_IDENTITY,
        "Condition": {
            "StringEquals": {
                f"{host}:sub": service_account_subject(access.namespace, access.service_account),
                f"{host}:aud": AUDIENCE,
            }
        },
    }


def pod_identity_statement() -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": POD_IDENTITY_SERVICE},
        "Action": list(POD_IDENTITY_ACTIONS),
    }


def _fix(statement: dict[str, Any]) -> str:
    return f"put this statement in the role's trust policy: {json.dumps(statement)}"


def irsa_trust(access: Irsa, trust: Policy) -> Check:
    fix = _fix(irsa_statement(access))
    provider = Principal("Federated", access.oidc_provider_arn)
    candidates = [
        (label(i, s), s)
        for i, s in enumerate(trust.statements)
        if s.effect == "Allow" and provider in (s.principals or ()) and _allows(s, WEB_IDENTITY)
    ]
    if not candidates:
        return Check(False, f"no statement lets {access.oidc_provider_arn} {WEB_IDENTITY}", fix)
    for name, statement in candidates:
        problem = _irsa_problem(access, statement.conditions)
        if problem:
            return Check(False, f"{name} {problem}", fix)
    subject = service_account_subject(access.namespace, access.service_account)
    return Check(True, f"only {subject} may assume the role through its OIDC provider")


def _irsa_problem(access: Irsa, conditions: tuple[Condition, ...]) -> str:
    """What lets a pod other than the path's in ("" when nothing does)."""
    host = oidc_host(access.oidc_provider_arn).lower()
    subject = service_account_subject(access.namespace, access.service_account)
    subs = [(op, values) for op, key, values in conditions if key == f"{host}:sub"]
    auds = [(op, values) for op, key, values in conditions if key == f"{host}:aud"]
    for op, values in subs:
        if any("*" in v or "?" in v for v in values):
            matching = ", ".join(values)
            return f"lets any service account matching {matching} in ({op} with a wildcard)"
        if op != "StringEquals":
            return f"tests {host}:sub with {op}, not StringEquals"
    if not subs:
        return f"has no {host}:sub condition: any service account of the cluster may assume it"
    named = {v for _, vs in subs for v in vs}
    if subject not in named:
        return f"lets {', '.join(sorted(named))} in, not {subject}"
    if named != {subject}:
        return f"also lets {', '.join(sorted(named - {subject}))} in"
    if [(op, set(vs)) for op, vs in auds] != [("StringEquals", {AUDIENCE})]:
        return f"does not require {host}:aud = {AUDIENCE} under StringEquals"
    return ""


def pod_identity_trust(access: PodIdentity, trust: Policy) -> Check:
    service = Principal("Service", POD_IDENTITY_SERVICE)
    statements = [
        s for s in trust.statements if s.effect == "Allow" and service in (s.principals or ())
    ]
    missing = [a for a in POD_IDENTITY_ACTIONS if not any(_allows(s, a) for s in statements)]
    if missing:
        return Check(
            False,
            f"{POD_IDENTITY_SERVICE} may not {' or '.join(missing)}",
            _fix(pod_identity_statement()),
        )
    return Check(
        True,
        f"{POD_IDENTITY_SERVICE} may assume the role for {access.cluster_arn} "
        f"{access.namespace}/{access.service_account}",
    )


def _allows(statement: Statement, action: str) -> bool:
    if statement.actions is not None:
        return any(action_matches(pattern, action) for pattern in statement.actions)
    return not any(action_matches(pattern, action) for pattern in statement.not_actions or ())
