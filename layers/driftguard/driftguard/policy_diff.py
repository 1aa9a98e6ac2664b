"""What changed between a declared and a live policy. ``driftguard.policy`` re-exports it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from driftguard.policy_elements import Conditions, canonical_json, principal_label
from driftguard.policy_statement import MAX_ATOMS, Grant, GrantKey, Statement

if TYPE_CHECKING:
    from driftguard.policy import Policy

__all__ = ["PolicyDiff", "diff"]


@dataclass(frozen=True)
class PolicyDiff:
    """What changed from ``declared`` to ``live``.

    ``added_*`` are present only in live, ``removed_*`` only in declared. Principals and
    actions are taken from Allow statements only (Principal and Action elements; AWS
    principals read as their value, other kinds as ``Kind:value``). ``atomic`` is False when
    a policy was too large to expand (``MAX_ATOMS``): grants are then left empty and
    statements are compared as normalized statements.
    """

    added_statements: tuple[dict[str, Any], ...] = field(default=(), hash=False)
    removed_statements: tuple[dict[str, Any], ...] = field(default=(), hash=False)
    added_principals: frozenset[str] = frozenset()
    removed_principals: frozenset[str] = frozenset()
    added_actions: frozenset[str] = frozenset()
    removed_actions: frozenset[str] = frozenset()
    added_grants: frozenset[Grant] = frozenset()
    removed_grants: frozenset[Grant] = frozenset()
    atomic: bool = True

    @property
    def is_empty(self) -> bool:
        return not (
            self.added_statements
            or self.removed_statements
            or self.added_principals
            or self.removed_principals
            or self.added_actions
            or self.removed_actions
            or self.added_grants
            or self.removed_grants
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; every list sorted so the output is deterministic. ``summary`` holds
        ``summary_lines()`` (empty list when nothing changed)."""

        def grants(gs: frozenset[Grant]) -> list[dict[str, Any]]:
            return sorted((g.to_dict() for g in gs), key=canonical_json)

        return {
            "added_statements": list(self.added_statements),
            "removed_statements": list(self.removed_statements),
            "added_principals": sorted(self.added_principals),
            "removed_principals": sorted(self.removed_principals),
            "added_actions": sorted(self.added_actions),
            "removed_actions": sorted(self.removed_actions),
            "added_grants": grants(self.added_grants),
            "removed_grants": grants(self.removed_grants),
            "atomic": self.atomic,
            "summary": list(self.summary_lines()),
        }

    def summary(self) -> str:
        """One line per change (``+`` only in live, ``-`` only in declared), or
        ``no changes``."""
        return "\n".join(self.summary_lines()) or "no changes"

    def summary_lines(self) -> tuple[str, ...]:
        """The lines of ``summary()``; empty when nothing changed."""
        lines: list[str] = []
        for sign, principals in (("+", self.added_principals), ("-", self.removed_principals)):
            lines += [f"{sign} principal {p}" for p in sorted(principals)]
        for sign, actions in (("+", self.added_actions), ("-", self.removed_actions)):
            lines += [f"{sign} action {a}" for a in sorted(actions)]
        for sign, gs in (("+", self.added_grants), ("-", self.removed_grants)):
            lines += sorted(f"{sign} grant {g.describe()}" for g in gs)
        if not self.atomic:
            # Without atoms the statements are the only complete record of the change.
            for sign, stmts in (("+", self.added_statements), ("-", self.removed_statements)):
                lines += [f"{sign} statement {canonical_json(s)}" for s in stmts]
        return tuple(lines)


def _allow_principals(statements: Iterable[Statement]) -> frozenset[str]:
    return frozenset(
        principal_label(p) for s in statements if s.effect == "Allow" for p in s.principals or ()
    )


def _allow_actions(statements: Iterable[Statement]) -> frozenset[str]:
    return frozenset(a for s in statements if s.effect == "Allow" for a in s.actions or ())


def _lacking(
    ours: frozenset[Statement], theirs: frozenset[Statement]
) -> dict[Statement, frozenset[GrantKey]]:
    """Our statements with grants none of ``theirs`` has, and those grants (as keys).

    Expands as few statements as it can: one they also have is skipped whole, and of theirs
    only those that can share a grant with one of ours are expanded, into one set that each
    of our grants is looked up in once.
    """
    pending = ours - theirs
    if not pending:
        return {}
    by_shape: dict[tuple[str, Conditions], list[Statement]] = defaultdict(list)
    for s in pending:
        by_shape[(s.effect, s.conditions)].append(s)
    sharing = [
        t
        for t in theirs
        if any(_may_share(s, t) for s in by_shape.get((t.effect, t.conditions), ()))
    ]
    their_keys = frozenset().union(*(t.grant_keys() for t in sharing))
    lacking = {s: s.grant_keys() - their_keys for s in pending}
    return {s: keys for s, keys in lacking.items() if keys}


def _may_share(s: Statement, t: Statement) -> bool:
    """Whether two statements with the same effect and conditions have a grant in common."""
    return (
        _meet(s.principals, s.not_principals, t.principals, t.not_principals)
        and _meet(s.actions, s.not_actions, t.actions, t.not_actions)
        and _meet(s.resources, s.not_resources, t.resources, t.not_resources)
    )


def _meet(
    s_values: frozenset[Any] | None,
    s_not: frozenset[Any] | None,
    t_values: frozenset[Any] | None,
    t_not: frozenset[Any] | None,
) -> bool:
    """Whether an element (e.g. Principal, NotPrincipal) of two statements yields a common
    part of a grant: a value both list, or no value and the same Not* set on both sides."""
    if s_values is None or t_values is None:
        return s_values is None and t_values is None and s_not == t_not
    return not s_values.isdisjoint(t_values)


def _render(statements: Iterable[Statement]) -> tuple[dict[str, Any], ...]:
    return tuple(sorted((s.to_dict() for s in statements), key=canonical_json))


def diff(declared: Policy, live: Policy) -> PolicyDiff:
    """Differences between a declared and a live policy, insensitive to reshaping."""
    d, lv = declared.normalized_statements(), live.normalized_statements()
    atomic = declared.atom_count() <= MAX_ATOMS and live.atom_count() <= MAX_ATOMS

    if atomic:
        gained, lost = _lacking(lv, d), _lacking(d, lv)
        # A statement is reported only if it brings a grant the other side lacks, so a
        # split or merged statement is not a change.
        added, removed = _render(gained), _render(lost)
        added_grants = frozenset(Grant(*key) for keys in gained.values() for key in keys)
        removed_grants = frozenset(Grant(*key) for keys in lost.values() for key in keys)
    else:
        d_semantic, l_semantic = declared.semantic_statements(), live.semantic_statements()
        added = _render(s for s in lv if s.semantic_key() not in d_semantic)
        removed = _render(s for s in d if s.semantic_key() not in l_semantic)
        added_grants = removed_grants = frozenset()

    d_principals, l_principals = _allow_principals(d), _allow_principals(lv)
    d_actions, l_actions = _allow_actions(d), _allow_actions(lv)
    return PolicyDiff(
        added_statements=added,
        removed_statements=removed,
        added_principals=l_principals - d_principals,
        removed_principals=d_principals - l_principals,
        added_actions=l_actions - d_actions,
        removed_actions=d_actions - l_actions,
        added_grants=added_grants,
        removed_grants=removed_grants,
        atomic=atomic,
    )
