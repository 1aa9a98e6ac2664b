"""Whether policies allow one request of an access path (pure, no I/O).

A request is what the pod's role does along the path: GetSecretValue on the secret, and
kms:Decrypt on the key through Secrets Manager. Its condition context is known (which
role, which service, which secret), so the common conditions can be evaluated. What
cannot be evaluated is read the way that does not promise access: an Allow counts only
when its conditions hold, a Deny counts unless they plainly fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from driftguard.access import label
from driftguard.arns import Arn
from driftguard.policy import Condition, Policy, Statement, action_matches, wildcard_covers

__all__ = ["Request", "Verdict", "decide", "principal_ids"]

_Match = Callable[[str, str], bool]


def _equals(pattern: str, value: str) -> bool:
    return pattern == value


def _equals_ignoring_case(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


# The operators a path's conditions use, positive form (the Not forms negate them).
_STRING_MATCH: Final[Mapping[str, _Match]] = {
    "stringequals": _equals,
    "stringequalsignorecase": _equals_ignoring_case,
    "stringlike": wildcard_covers,
    "arnequals": _equals,
    "arnlike": wildcard_covers,
}


@dataclass(frozen=True)
class Request:
    """One call of the path: `action` on `resource` by `role_arn`, with `context`
    (lowercased condition keys -> the value the request carries)."""

    role_arn: str
    action: str
    resource: str
    context: Mapping[str, str]

    @property
    def partition(self) -> str:
        return Arn.parse(self.resource).partition


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    why: str  # which statement allows or denies, or what is missing


def principal_ids(role_arn: str) -> frozenset[str]:
    """Who a resource policy may name to mean the role: itself, its account, everyone."""
    arn = Arn.parse(role_arn)
    return frozenset({role_arn, f"arn:{arn.partition}:iam::{arn.account}:root", "*"})


def decide(
    policies: Iterable[tuple[str, Policy]], request: Request, principals: frozenset[str] | None
) -> Verdict:
    """Allowed when some statement allows and none denies. `principals`: who the
    policies must name (resource policies), None for identity policies."""
    allowing = ""
    for name, policy in policies:
        for i, raw in enumerate(policy.statements):
            statement = raw.normalized(request.partition)
            where = f"{name} {label(i, statement)}"
            if not _reaches(statement, request, principals):
                continue
            if statement.effect == "Deny" and _conditions(statement, request) is not False:
                return Verdict(False, f"{where} denies {request.action}")
            if statement.effect == "Allow" and not allowing and _conditions(statement, request):
                allowing = where
    if allowing:
        return Verdict(True, f"{allowing} allows {request.action}")
    return Verdict(False, f"nothing allows {request.action} on {request.resource}")


def _reaches(statement: Statement, request: Request, principals: frozenset[str] | None) -> bool:
    if not _covers(statement.actions, statement.not_actions, request.action, action_matches):
        return False
    if not _covers(statement.resources, statement.not_resources, request.resource, wildcard_covers):
        return False
    if principals is None:
        return True
    if statement.principals is not None:
        return any(p.kind == "AWS" and p.value in principals for p in statement.principals)
    # NotPrincipal: an Allow naming "everyone but" is not a grant driftguard can vouch for.
    if statement.effect == "Allow":
        return False
    return request.role_arn not in {p.value for p in statement.not_principals or ()}


def _covers(
    positive: frozenset[str] | None,
    negative: frozenset[str] | None,
    value: str,
    match: _Match,
) -> bool:
    if positive is not None:
        return any(match(pattern, value) for pattern in positive)
    return not any(match(pattern, value) for pattern in negative or ())


def _conditions(statement: Statement, request: Request) -> bool | None:
    """True when every condition holds, False when one fails, None when one cannot be
    evaluated (and none fails)."""
    answer: bool | None = True
    for condition in statement.conditions:
        held = _holds(condition, request.context)
        if held is False:
            return False
        if held is None:
            answer = None
    return answer


def _holds(condition: Condition, context: Mapping[str, str]) -> bool | None:
    operator, key, values = condition
    op = operator.lower()
    if_exists = op.endswith("ifexists")
    op = op.removesuffix("ifexists")
    negated = op.startswith(("stringnot", "arnnot"))
    op = op.replace("stringnot", "string").replace("arnnot", "arn")
    match = _STRING_MATCH.get(op)
    if match is None:
        return None
    if key not in context:
        # A missing key: IfExists and the negated operators hold, the others fail.
        return if_exists or negated
    found = any(match(pattern, context[key]) for pattern in values)
    return not found if negated else found
