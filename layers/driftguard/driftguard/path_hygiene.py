"""Hygiene around an access path (pure): risks the story warns of that do not break
the path. A key or secret policy that lets an EKS node instance role in (any pod on
the node may then read the secret: the fallback when IRSA or Pod Identity is not
used), and a role without the permissions boundary its declaration asks for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from driftguard.arns import Arn, role_account
from driftguard.errors import PolicyParseError
from driftguard.path_model import PathDeclaration, PathFacts
from driftguard.policy import Policy
from driftguard.vocabulary import PathFinding

__all__ = ["Hygiene", "hygiene", "is_node_role_trust", "named_roles"]

EC2_SERVICE: Final = "ec2.amazonaws.com"


@dataclass(frozen=True)
class Hygiene:
    finding: PathFinding
    detail: str
    fix: str


def _allowed_roles(document: Mapping[str, Any] | None) -> set[str]:
    if document is None:
        return set()
    try:
        policy = Policy.parse(document)
    except PolicyParseError:  # the link itself says so
        return set()
    return {
        p.value
        for s in policy.normalized_statements()
        if s.effect == "Allow"
        for p in s.principals or ()
        if p.kind == "AWS" and role_account(p.value) is not None
    }


def named_roles(facts: PathFacts) -> frozenset[str]:
    """Roles an Allow statement of the key's or the secret's policy names: the roles
    whose trust policies say whether they are node roles."""
    return frozenset(_allowed_roles(facts.key_policy) | _allowed_roles(facts.secret_policy))


def is_node_role_trust(trust: Mapping[str, Any]) -> bool:
    """An EC2 instance role (what EKS nodes run as): EC2 may assume it."""
    try:
        policy = Policy.parse(trust)
    except PolicyParseError:
        return False
    return any(
        s.effect == "Allow" and p.kind == "Service" and p.value == EC2_SERVICE
        for s in policy.normalized_statements()
        for p in s.principals or ()
    )


def hygiene(
    declaration: PathDeclaration, facts: PathFacts, node_roles: Iterable[str] = ()
) -> tuple[Hygiene, ...]:
    """`node_roles`: the roles of `named_roles(facts)` that are node roles."""
    found = [
        Hygiene(
            PathFinding.NODE_ROLE_GRANTED,
            f"{role} is an EC2 instance role (an EKS node's) and the key's or the secret's "
            "policy lets it in: every pod on those nodes may read the secret",
            f"remove {role} from the key and secret policies; pods get access through "
            f"{declaration.path.role_arn} (IRSA or Pod Identity)",
        )
        for role in sorted(set(node_roles))
    ]
    wanted = declaration.boundary_arn
    if facts.role_exists and wanted and facts.boundary_arn != wanted:
        has = f"has {facts.boundary_arn}" if facts.boundary_arn else "has no permissions boundary"
        name = Arn.parse(declaration.path.role_arn).resource.rsplit("/", 1)[-1]
        found.append(
            Hygiene(
                PathFinding.BOUNDARY_MISSING,
                f"{declaration.path.role_arn} {has}; its declaration asks for {wanted}",
                f"aws iam put-role-permissions-boundary --role-name {name} "
                f"--permissions-boundary {wanted}",
            )
        )
    return tuple(found)
