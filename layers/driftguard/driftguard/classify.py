"""Classify how a live policy drifted from its declared state. Pure.

Both policies are cut into comparison units: atomic grants (one principal, one action, one
resource), or, when a policy is too large to expand (``MAX_ATOMS``), statements split per
principal. A unit is *covered* by the other side when one statement there, with the same
effect and equal conditions, grants at least as much:

* principal: same principal, or ``{"AWS": "*"}`` (covers any principal, also a NotPrincipal
  unit); an account root ARN covers only itself (conservative: we do not reason about what
  the account delegates). NotPrincipal D covers NotPrincipal L when D is a subset of L.
* action: an IAM pattern (``*``, ``?``; lowercase) matching the unit's action. The unit's
  own wildcards are honoured: ``kms:*`` covers ``kms:describe*``, ``kms:get?`` does not
  cover ``kms:get*``. Unlike ``fnmatch``, ``[...]`` is literal. NotAction is handled for
  literal actions and NotAction-vs-NotAction.
* resource: the same pattern rules, case-sensitive; ``*`` covers any resource.
* anything we cannot prove covered counts as not covered, so a doubt is reported as drift
  rather than hidden.

Unique-ID principals (``AROA…``/``AIDA…``) match nobody, so they are dropped from Principal
and NotPrincipal on both sides before comparing; any in live is ORPHANED_PRINCIPAL (also
when the declaration has it too: it can never be put back). A declared unit for a role/user
ARN that live lacks is *explained* (orphaned, not narrowed/widened) when live has a
unique-ID unit with the same effect/action/resource/conditions, at most one ARN per unique
ID (IDs never map back to ARNs, so we cannot tell which ARN became which ID; if there are
more lost ARNs than IDs for the same grant, all of them are reported). The explanation looks
at Principal only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Final

from driftguard.policy import (
    Conditions,
    Grant,
    GrantKey,
    Policy,
    PolicyDiff,
    Principal,
    Statement,
    diff,
    is_principal_arn,
    is_unique_id,
    wildcard_covers,
)
from driftguard.vocabulary import FINDING_SEVERITY, Finding, Severity

__all__ = ["Classification", "classify"]

_EVERYONE: Final = Principal("AWS", "*")


@dataclass(frozen=True)
class Classification:
    """Outcome of ``classify``. ``diff`` is None only when the live policy is missing."""

    findings: frozenset[Finding]
    diff: PolicyDiff | None
    orphaned_ids: frozenset[str] = frozenset()

    @property
    def in_sync(self) -> bool:
        return not self.findings

    @property
    def severity(self) -> Severity:
        """That of the worst finding (vocabulary.FINDING_SEVERITY); NONE when in sync."""
        return max(
            (FINDING_SEVERITY[f] for f in self.findings),
            key=lambda severity: severity.rank,
            default=Severity.NONE,
        )


# --------------------------------------------------------------------------- coverage


def _is_pattern(value: str) -> bool:
    return "*" in value or "?" in value


@lru_cache(maxsize=4096)
def _wildcards(values: frozenset[str]) -> tuple[str, ...]:
    return tuple(v for v in values if _is_pattern(v))


def _set_covers(patterns: frozenset[str], target: str) -> bool:
    return target in patterns or any(wildcard_covers(p, target) for p in _wildcards(patterns))


def _names_cover(
    d_pos: frozenset[str] | None,
    d_neg: frozenset[str] | None,
    u_pos: frozenset[str] | None,
    u_neg: frozenset[str] | None,
) -> bool:
    """Does the (Action|Resource, Not…) pair ``d`` grant everything the pair ``u`` grants?"""
    if u_pos is not None:
        if not u_pos:
            return True  # an empty list grants nothing
        if d_pos is not None:
            return all(_set_covers(d_pos, x) for x in u_pos)
        if d_neg is not None:
            # "everything except d_neg" covers x only if we can see x is not excluded.
            return all(
                not _is_pattern(x) and not any(wildcard_covers(n, x) for n in d_neg) for x in u_pos
            )
        return False
    if u_neg is not None:
        if d_pos is not None:
            return "*" in d_pos
        if d_neg is not None:
            # everything except D >= everything except L  <=  each of D is within L
            return all(any(wildcard_covers(x, n) for x in u_neg) for n in d_neg)
        return False
    return d_pos is None and d_neg is None


def _principals_cover(d: Statement, u: Statement) -> bool:
    if u.principals is not None:
        if not u.principals:
            return True
        if d.principals is None:
            return False  # NotPrincipal never proves a listed principal is granted
        return _EVERYONE in d.principals or u.principals <= d.principals
    if u.not_principals is not None:
        if d.principals is not None:
            return _EVERYONE in d.principals
        return d.not_principals is not None and d.not_principals <= u.not_principals
    return d.principals is None and d.not_principals is None


def _covers(d: Statement, u: Statement) -> bool:
    """``d`` grants everything ``u`` grants (effect and conditions already equal)."""
    return (
        _principals_cover(d, u)
        and _names_cover(d.actions, d.not_actions, u.actions, u.not_actions)
        and _names_cover(d.resources, d.not_resources, u.resources, u.not_resources)
    )


class _Index:
    """Statements grouped by (effect, conditions): only those can cover each other. Grouped
    on first use: most checks have nothing to look up on one side."""

    def __init__(self, statements: Iterable[Statement]) -> None:
        self._statements = statements

    @cached_property
    def _groups(self) -> dict[tuple[str, Conditions], list[Statement]]:
        groups: dict[tuple[str, Conditions], list[Statement]] = defaultdict(list)
        for s in self._statements:
            groups[(s.effect, s.conditions)].append(s)
        return groups

    def covers(self, unit: Statement) -> bool:
        return any(_covers(s, unit) for s in self._groups.get((unit.effect, unit.conditions), ()))


# --------------------------------------------------------------------------- units


def _is_id(p: Principal) -> bool:
    return p.kind == "AWS" and is_unique_id(p.value)


def _without_ids(s: Statement) -> Statement:
    """Drop unique-ID principals: they match nobody, so they grant (or exclude) nothing."""
    if not any(_is_id(p) for group in (s.principals, s.not_principals) for p in group or ()):
        return s  # the same statement, with its grants already expanded

    def keep(ps: frozenset[Principal] | None) -> frozenset[Principal] | None:
        return None if ps is None else frozenset(p for p in ps if not _is_id(p))

    return replace(s, principals=keep(s.principals), not_principals=keep(s.not_principals))


# A comparison unit: an atomic grant (as its key), or (fallback) a statement narrowed to
# one principal.
_Unit = GrantKey | Statement


def _as_statement(unit: _Unit) -> Statement:
    return unit if isinstance(unit, Statement) else Grant(*unit).to_statement()


def _units(statements: Iterable[Statement], atomic: bool) -> frozenset[_Unit]:
    if atomic:
        return frozenset().union(*(s.grant_keys() for s in statements))
    units: set[_Unit] = set()
    for s in statements:
        s = s.semantic_key()
        if s.principals is None:
            units.add(s)
        else:
            units.update(replace(s, principals=frozenset({p})) for p in s.principals)
    return frozenset(units)


def _compared(
    declared: Policy, live: Policy, changes: PolicyDiff, with_ids: bool
) -> tuple[_Index, _Index, list[Statement], list[Statement]]:
    """Indexes of both sides' normalized statements, units only live has, units only
    declared has; all without unique-ID principals."""
    if changes.atomic and not with_ids:
        # Nothing to drop: the units one side lacks are the grants diff() found.
        return (
            _Index(declared.normalized_statements()),
            _Index(live.normalized_statements()),
            [g.to_statement() for g in changes.added_grants],
            [g.to_statement() for g in changes.removed_grants],
        )
    d_statements = [_without_ids(s) for s in declared.normalized_statements()]
    l_statements = [_without_ids(s) for s in live.normalized_statements()]
    d_units, l_units = _units(d_statements, changes.atomic), _units(l_statements, changes.atomic)
    return (
        _Index(d_statements),
        _Index(l_statements),
        [_as_statement(u) for u in l_units - d_units],
        [_as_statement(u) for u in d_units - l_units],
    )


def _single_principal(unit: Statement) -> Principal | None:
    if unit.principals is not None and len(unit.principals) == 1:
        return next(iter(unit.principals))
    return None


def _rest(unit: Statement) -> Statement:
    """The unit without its principal: what an orphaned ID and its old ARN share."""
    return replace(unit, sid=None, principals=None)


def _unexplained(lost: list[Statement], id_units: Counter[Statement]) -> list[Statement]:
    """Declared units live lacks, minus those explained by an orphaned unique ID."""
    by_rest: dict[Statement, list[Statement]] = defaultdict(list)
    out: list[Statement] = []
    for unit in lost:
        principal = _single_principal(unit)
        if principal is not None and principal.kind == "AWS" and is_principal_arn(principal.value):
            by_rest[_rest(unit)].append(unit)
        else:
            out.append(unit)
    for rest, units in by_rest.items():
        if len(units) > id_units[rest]:
            out += units
    return out


def _unique_ids(policy: Policy) -> frozenset[str]:
    """Unique IDs in Principal or NotPrincipal elements."""
    aws = [
        p.value
        for s in policy.normalized_statements()
        for group in (s.principals, s.not_principals)
        for p in group or ()
        if p.kind == "AWS"
    ]
    return frozenset(filter(is_unique_id, aws))


def _id_units(live: Policy, atomic: bool) -> Counter[Statement]:
    """Distinct (ID, rest-of-grant) units: how many ARNs each grant may have lost to
    deletion."""
    with_ids = [
        s for s in live.normalized_statements() if any(_is_id(p) for p in s.principals or ())
    ]
    return Counter(
        _rest(u)
        for u in map(_as_statement, _units(with_ids, atomic))
        if (p := _single_principal(u)) is not None and _is_id(p)
    )


# --------------------------------------------------------------------------- classify


def classify(declared: Policy, live: Policy | None) -> Classification:
    """Classify drift of ``live`` against ``declared`` (see the module docstring).

    ``orphaned_ids`` lists unique IDs found in live Principal or NotPrincipal elements.
    Semantically equal policies without unique IDs yield no findings.
    """
    if live is None:
        return Classification(findings=frozenset({Finding.MISSING}), diff=None)

    changes = diff(declared, live)
    orphaned = _unique_ids(live)
    with_ids = bool(orphaned or _unique_ids(declared))
    d_index, l_index, gained, dropped = _compared(declared, live, changes, with_ids)

    findings: set[Finding] = set()
    if orphaned:
        findings.add(Finding.ORPHANED_PRINCIPAL)

    # A unit the other side also has is covered by definition, so only the (usually few)
    # units one side lacks pay for the wildcard checks.
    for unit in gained:
        if not d_index.covers(unit):
            # Extra Allow = someone gained access; extra Deny = someone lost it.
            findings.add(Finding.WIDENED if unit.effect == "Allow" else Finding.NARROWED)

    lost = [u for u in dropped if not l_index.covers(u)]
    id_units = _id_units(live, changes.atomic) if orphaned else Counter[Statement]()
    for unit in _unexplained(lost, id_units):
        # Missing Allow = access lost; missing Deny = a guard rail is gone.
        findings.add(Finding.NARROWED if unit.effect == "Allow" else Finding.WIDENED)

    return Classification(findings=frozenset(findings), diff=changes, orphaned_ids=orphaned)
