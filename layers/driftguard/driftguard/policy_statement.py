"""Statements and atomic grants of the policy model. ``driftguard.policy`` re-exports them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Final, TypeVar

from driftguard.policy_elements import (
    Conditions,
    Principal,
    account_roots,
    canonical_json,
    fail,
    is_mapping,
    kind_of,
    normalize_conditions,
    parse_conditions,
    parse_principals,
    parse_strings,
    principal_label,
    render_conditions,
    render_principals,
    render_values,
)

__all__ = ["MAX_ATOMS", "Grant", "GrantKey", "Statement", "statement_sort_key"]

_T = TypeVar("_T", str, Principal)
_E = TypeVar("_E")

# Above this many atomic grants a comparison falls back to normalized statements, so a
# hostile or generated policy (e.g. 1000 principals x 1000 actions) cannot eat the Lambda.
MAX_ATOMS: Final = 100_000

_STATEMENT_KEYS: Final = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_EXCLUSIVE: Final = (
    ("Principal", "NotPrincipal"),
    ("Action", "NotAction"),
    ("Resource", "NotResource"),
)
_NEGATED_KEYS: Final = frozenset(negative for _, negative in _EXCLUSIVE)

# The fields of a Grant as a plain tuple, in field order: ``Grant(*key)`` is that grant.
# Comparisons work on keys, as Python hashes and compares tuples in C: many times faster
# than dataclass instances, whose __eq__ and __hash__ are Python code.
GrantKey = tuple[
    str,
    Principal | None,
    frozenset[Principal] | None,
    str | None,
    frozenset[str] | None,
    str | None,
    frozenset[str] | None,
    Conditions,
]


@dataclass(frozen=True)
class Grant:
    """One atomic grant: effect x one principal x one action x one resource x conditions.

    ``Not*`` elements are kept whole (``not_principals`` etc.) because "everything except
    A and B" cannot be split into independent parts. A field pair that is entirely ``None``
    means the statement had neither element (e.g. no Principal in an identity policy).
    """

    effect: str
    principal: Principal | None
    not_principals: frozenset[Principal] | None
    action: str | None
    not_actions: frozenset[str] | None
    resource: str | None
    not_resources: frozenset[str] | None
    conditions: Conditions = ()

    def to_statement(self) -> Statement:
        """This grant as a one-principal, one-action, one-resource statement."""
        return Statement(
            sid=None,
            effect=self.effect,
            principals=None if self.principal is None else frozenset({self.principal}),
            not_principals=self.not_principals,
            actions=None if self.action is None else frozenset({self.action}),
            not_actions=self.not_actions,
            resources=None if self.resource is None else frozenset({self.resource}),
            not_resources=self.not_resources,
            conditions=self.conditions,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_statement().to_dict()

    def describe(self) -> str:
        """Readable one-liner, e.g. ``Allow arn:aws:iam::1:root kms:decrypt on *``."""
        if self.principal is not None:
            who = principal_label(self.principal)
        elif self.not_principals is not None:
            who = "NotPrincipal[" + ",".join(sorted(map(principal_label, self.not_principals)))
            who += "]"
        else:
            who = "(no principal)"
        what = self.action if self.action is not None else _not_label("NotAction", self.not_actions)
        where = (
            self.resource
            if self.resource is not None
            else _not_label("NotResource", self.not_resources)
        )
        text = f"{self.effect} {who} {what} on {where}"
        if self.conditions:
            text += " if " + canonical_json(render_conditions(self.conditions))
        return text


def _not_label(name: str, values: frozenset[str] | None) -> str:
    if values is None:
        return f"(no {name.removeprefix('Not')})"
    return f"{name}[" + ",".join(sorted(values)) + "]"


@dataclass(frozen=True)
class Statement:
    """One policy statement. ``None`` means the element is absent; an empty set means it
    was present but empty (which grants nothing)."""

    sid: str | None
    effect: str
    principals: frozenset[Principal] | None = None
    not_principals: frozenset[Principal] | None = None
    actions: frozenset[str] | None = None
    not_actions: frozenset[str] | None = None
    resources: frozenset[str] | None = None
    not_resources: frozenset[str] | None = None
    conditions: Conditions = ()

    def __init__(
        self,
        sid: str | None,
        effect: str,
        principals: frozenset[Principal] | None = None,
        not_principals: frozenset[Principal] | None = None,
        actions: frozenset[str] | None = None,
        not_actions: frozenset[str] | None = None,
        resources: frozenset[str] | None = None,
        not_resources: frozenset[str] | None = None,
        conditions: Conditions = (),
    ) -> None:
        # The generated __init__ of a frozen dataclass makes nine object.__setattr__ calls;
        # one __dict__ update builds a statement in about half the time, and a check builds
        # two per statement it reads. Keep the parameters in step with the fields (one
        # missing here breaks ==, hash and repr).
        self.__dict__.update(
            sid=sid,
            effect=effect,
            principals=principals,
            not_principals=not_principals,
            actions=actions,
            not_actions=not_actions,
            resources=resources,
            not_resources=not_resources,
            conditions=conditions,
        )

    @staticmethod
    def parse(raw: object, where: str = "Statement") -> Statement:
        """Parse one statement object; ``where`` prefixes error messages."""
        if not is_mapping(raw):
            fail(where, f"must be an object, got {kind_of(raw)}")
        if not _STATEMENT_KEYS.issuperset(raw):
            unknown = sorted(str(k) for k in raw if k not in _STATEMENT_KEYS)
            fail(where, f"unknown element(s) {unknown} (allowed: {sorted(_STATEMENT_KEYS)})")
        if not _NEGATED_KEYS.isdisjoint(raw):  # rare: one check for the usual statement
            for positive, negative in _EXCLUSIVE:
                if positive in raw and negative in raw:
                    fail(where, f"has both {positive} and {negative}; use only one")

        sid = raw.get("Sid")
        if sid is not None and not isinstance(sid, str):
            fail(f"{where}.Sid", f"expected a string, got {kind_of(sid)}")
        if "Effect" not in raw:
            fail(where, 'missing Effect ("Allow" or "Deny")')
        effect = raw["Effect"]
        if effect not in ("Allow", "Deny"):
            fail(f"{where}.Effect", f'must be "Allow" or "Deny", got {effect!r}')
        # IAM rejects a statement that names no action; it would grant nothing anyway.
        if "Action" not in raw and "NotAction" not in raw:
            fail(where, "missing Action or NotAction")

        # Conditions first: errors are reported in this order.
        conditions = _element(raw, "Condition", where, parse_conditions) or ()
        return Statement(
            sid=sid,
            effect=str(effect),
            principals=_element(raw, "Principal", where, parse_principals),
            not_principals=_element(raw, "NotPrincipal", where, parse_principals),
            actions=_element(raw, "Action", where, parse_strings),
            not_actions=_element(raw, "NotAction", where, parse_strings),
            resources=_element(raw, "Resource", where, parse_strings),
            not_resources=_element(raw, "NotResource", where, parse_strings),
            conditions=conditions,
        )

    def normalized(self, partition: str = "aws") -> Statement:
        """Lowercase actions, account ids -> root ARNs in ``partition``, canonical conditions."""
        # The constructor, not dataclasses.replace: same result, and replace is slow.
        return type(self)(
            sid=self.sid,
            effect=self.effect,
            principals=_account_roots(self.principals, partition),
            not_principals=_account_roots(self.not_principals, partition),
            actions=_lowered(self.actions),
            not_actions=_lowered(self.not_actions),
            resources=self.resources,
            not_resources=self.not_resources,
            conditions=normalize_conditions(self.conditions),
        )

    def semantic_key(self) -> Statement:
        """The statement without its Sid label (Sid is not semantics)."""
        return self if self.sid is None else replace(self, sid=None)

    def atom_count(self) -> int:
        """How many grants ``grants()`` yields, computed without expanding."""
        count = 1
        for positive in (self.principals, self.actions, self.resources):
            if positive is not None:
                count *= len(positive)
        return count

    def grants(self) -> Iterator[Grant]:
        """Expand into atomic grants (a cross product; mind ``atom_count()``)."""
        return iter(self._grants)

    def grant_keys(self) -> frozenset[GrantKey]:
        """The grants as ``GrantKey`` tuples, for comparing (mind ``atom_count()``)."""
        return self._grant_keys

    # Both expanded at most once per statement: a check asks a statement for its grants
    # several times (coverage, the diff, which statements carry what changed).

    @cached_property
    def _grants(self) -> tuple[Grant, ...]:
        return tuple(Grant(*key) for key in self._expand(ordered=True))

    @cached_property
    def _grant_keys(self) -> frozenset[GrantKey]:
        return frozenset(self._expand(ordered=False))

    def _expand(self, ordered: bool) -> list[GrantKey]:
        # Per element: each value with no Not* set, or no value with the Not* set whole.
        ps, not_ps = _one_by_one(self.principals, self.not_principals, ordered)
        acts, not_acts = _one_by_one(self.actions, self.not_actions, ordered)
        res, not_res = _one_by_one(self.resources, self.not_resources, ordered)
        effect, conditions = self.effect, self.conditions
        return [
            (effect, p, not_ps, a, not_acts, r, not_res, conditions)
            for p in ps
            for a in acts
            for r in res
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready rendering: one value as a string, several as a sorted list."""
        out: dict[str, Any] = {}
        if self.sid is not None:
            out["Sid"] = self.sid
        out["Effect"] = self.effect
        if self.principals is not None:
            out["Principal"] = render_principals(self.principals)
        if self.not_principals is not None:
            out["NotPrincipal"] = render_principals(self.not_principals)
        for key, values in (
            ("Action", self.actions),
            ("NotAction", self.not_actions),
            ("Resource", self.resources),
            ("NotResource", self.not_resources),
        ):
            if values is not None:
                out[key] = render_values(values)
        if self.conditions:
            out["Condition"] = render_conditions(self.conditions)
        return out


def _element(
    raw: Mapping[str, object], key: str, where: str, parse: Callable[[object, str], _E]
) -> _E | None:
    """The element ``key`` of a statement, parsed; None when it is absent."""
    return parse(raw[key], f"{where}.{key}") if key in raw else None


def _one_by_one(
    positive: frozenset[_T] | None, negative: frozenset[_T] | None, ordered: bool
) -> tuple[Iterable[_T | None], frozenset[_T] | None]:
    if positive is None:
        return (None,), negative
    return (sorted(positive) if ordered else positive), None


def _account_roots(
    principals: frozenset[Principal] | None, partition: str
) -> frozenset[Principal] | None:
    return None if principals is None else account_roots(principals, partition)


def _lowered(values: frozenset[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(map(str.lower, values))


def statement_sort_key(statement: Statement) -> str:
    """The canonical order of statements: by their JSON rendering."""
    return canonical_json(statement.to_dict())
