"""Whether a resource policy lets one caller call one action (pure, no I/O).

The caller is driftguard's remediation role as AWS sees it: an assumed-role session.
What cannot be evaluated here is decided conservatively: an Allow counts only when it
plainly grants, a Deny counts unless it plainly spares the caller. Refusing a policy at
declare time is cheap; a policy that locks driftguard out can never be restored.

Every statement is normalized with the resource's partition (account ids become root
ARNs in aws-us-gov and aws-cn too) and named as a person finds it: its Sid, else its
position.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from driftguard.arns import Arn
from driftguard.policy import Condition, Policy, Principal, Statement, action_matches
from driftguard.policy import wildcard_covers as _covers

__all__ = ["Caller", "Denial", "allowing", "denials", "label", "public_allows"]

_EVERYONE = Principal("AWS", "*")
# Condition operators that are false for the caller when a value covers its role ARN,
# which makes the whole Deny statement (its conditions are ANDed) skip the caller.
# aws:PrincipalArn always exists, so the IfExists forms mean the same.
_STRING_EXEMPTIONS = frozenset({"StringNotEquals", "StringNotEqualsIfExists"})
_PATTERN_EXEMPTIONS = frozenset({"StringNotLike", "StringNotLikeIfExists"})
_ARN_EXEMPTIONS = frozenset(
    {"ArnNotEquals", "ArnNotLike", "ArnNotEqualsIfExists", "ArnNotLikeIfExists"}
)


@dataclass(frozen=True)
class Caller:
    """A role's session, by the identities a resource policy may name it with."""

    role_arn: str
    root: str  # its account
    session_arn: str

    @classmethod
    def assuming(cls, role_arn: str, session_name: str) -> Caller:
        arn = Arn.parse(role_arn)
        name = arn.resource.rsplit("/", 1)[-1]  # session ARNs leave the role's path out
        prefix = f"arn:{arn.partition}"
        return cls(
            role_arn=role_arn,
            root=f"{prefix}:iam::{arn.account}:root",
            session_arn=f"{prefix}:sts::{arn.account}:assumed-role/{name}/{session_name}",
        )

    @property
    def identities(self) -> frozenset[str]:
        """A Deny naming any of these reaches the session: AWS checks account, role and
        session in turn (IAM user guide, NotPrincipal)."""
        return frozenset({self.root, self.role_arn, self.session_arn})


@dataclass(frozen=True)
class Denial:
    """A Deny statement that takes `actions` away from the caller."""

    statement: str
    actions: tuple[str, ...]
    caller: Caller
    unevaluated: tuple[str, ...] = ()  # conditions driftguard cannot evaluate; () = none

    def explain(self) -> str:
        what = ", ".join(self.actions)
        fix = json.dumps({"ArnNotEquals": {"aws:PrincipalArn": self.caller.role_arn}})
        if not self.unevaluated:
            return (
                f"{self.statement} denies {what} to {self.caller.role_arn}; "
                f"remove it or exempt the role with the condition {fix}"
            )
        return (
            f"{self.statement} denies {what} under conditions driftguard cannot evaluate "
            f"({', '.join(self.unevaluated)}), so it counts as denying them to "
            f"{self.caller.role_arn} (refusing a policy is safer than locking driftguard "
            f"out); exempt the role with the condition {fix}"
        )


def label(index: int, statement: Statement) -> str:
    """How a person finds a statement in the policy they wrote: its Sid or position."""
    return f'statement "{statement.sid}"' if statement.sid else f"Statement[{index}]"


def _statements(policy: Policy, partition: str) -> Iterator[tuple[str, Statement]]:
    for i, statement in enumerate(policy.statements):
        yield label(i, statement), statement.normalized(partition)


def _aws(principals: frozenset[Principal] | None) -> frozenset[str]:
    return frozenset(p.value for p in principals or () if p.kind == "AWS")


def _covers_action(statement: Statement, action: str) -> bool:
    if statement.actions is not None:
        return any(action_matches(pattern, action) for pattern in statement.actions)
    return not any(action_matches(pattern, action) for pattern in statement.not_actions or ())


def _covers_resource(statement: Statement, resource: str) -> bool:
    if statement.resources is not None:
        return any(_covers(pattern, resource) for pattern in statement.resources)
    return not any(_covers(pattern, resource) for pattern in statement.not_resources or ())


def allowing(policy: Policy, caller: Caller, action: str, resource: Arn) -> str | None:
    """The first Allow that grants `action` on `resource` to the caller (directly, through
    its account's root, or to everyone) without conditions, or None. An Allow with
    conditions or with NotPrincipal does not count: driftguard cannot tell it applies."""
    grantees = {"*", caller.root, caller.role_arn}
    for name, statement in _statements(policy, resource.partition):
        if (
            statement.effect == "Allow"
            and not statement.conditions
            and _aws(statement.principals) & grantees
            and _covers_action(statement, action)
            and _covers_resource(statement, resource.text)
        ):
            return name
    return None


def denials(policy: Policy, caller: Caller, actions: Iterable[str], resource: Arn) -> list[Denial]:
    """Every Deny that takes any of `actions` away from the caller. Its Resource is not
    looked at (a Deny counts whatever it names); its conditions spare the caller only
    when one of them excludes the role's ARN from aws:PrincipalArn."""
    wanted = sorted(actions)
    found: list[Denial] = []
    for name, statement in _statements(policy, resource.partition):
        denied = tuple(a for a in wanted if _covers_action(statement, a))
        if statement.effect != "Deny" or not denied:
            continue
        if statement.principals is not None:
            reaches = bool(_aws(statement.principals) & (caller.identities | {"*"}))
        else:
            # NotPrincipal spares a session only when it names all three identities.
            reaches = not caller.identities <= _aws(statement.not_principals)
        if not reaches or any(_exempts(c, caller) for c in statement.conditions):
            continue
        unevaluated = tuple(f"{op} {key}" for op, key, _ in statement.conditions)
        found.append(Denial(name, denied, caller, unevaluated))
    return found


def _exempts(condition: Condition, caller: Caller) -> bool:
    """Whether this condition is false for the caller's session."""
    operator, key, values = condition
    if key != "aws:principalarn":
        return False
    if operator in _STRING_EXEMPTIONS:
        return caller.role_arn in values
    if operator in _PATTERN_EXEMPTIONS:
        return any(_covers(value, caller.role_arn) for value in values)
    if operator in _ARN_EXEMPTIONS:
        return any(_arn_covers(value, caller.role_arn) for value in values)
    return False


def _arn_covers(pattern: str, arn: str) -> bool:
    """ARN condition matching: each of the six colon-separated parts on its own."""
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(given) == 6 and all(map(_covers, wanted, given))


def public_allows(policy: Policy, partition: str) -> list[str]:
    """Allow statements that grant everyone without a condition: what Secrets Manager's
    BlockPublicPolicy refuses. An Allow with NotPrincipal grants everyone else."""
    return [
        name
        for name, statement in _statements(policy, partition)
        if statement.effect == "Allow"
        and not statement.conditions
        and (_EVERYONE in (statement.principals or ()) or statement.not_principals is not None)
    ]
