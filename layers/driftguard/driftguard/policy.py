"""Pure IAM policy model: parse, normalize, compare and diff resource policies.

No I/O and no boto3 here, so every rule can be tested on plain data. The model is split
over ``policy_elements`` (principals, conditions, wildcards), ``policy_statement``
(statements and atomic grants) and ``policy_diff``; this module re-exports them.

Two levels of equality, on purpose:

* ``==`` (dataclass equality) is structural: same fields, same statement order, same Sids.
  Compare ``normalized()`` policies to ignore order, duplicates, string vs list, action case
  and account id vs root ARN while still telling Sid/Id labels and split statements apart.
* ``Policy.semantically_equal()`` is for drift: it compares the sets of atomic grants, so
  reshaping (statement order, splitting, string vs list, action case, account id vs root ARN,
  Sid/Id labels) is not a difference.

The integrity of a stored declaration is not this model's business: that is
``driftguard.model.sha256`` of the exact text.

A ``Policy`` is normalized at most once: its normal form (normalized, deduplicated
statements, unsorted) and what is derived from it (atom count, grants, semantic statements,
AWS principals) are cached on the object, outside the dataclass fields, so ``==`` and
``hash`` still see only the fields. Comparing needs no more; ``normalized()`` sorts the
normal form once. A policy and both its forms share one cache.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Final, NoReturn

from driftguard.errors import PolicyParseError
from driftguard.policy_diff import PolicyDiff, diff
from driftguard.policy_elements import (
    PRINCIPAL_KINDS,
    UNIQUE_ID_RE,
    Condition,
    Conditions,
    Principal,
    action_matches,
    fail,
    is_mapping,
    is_principal_arn,
    is_unique_id,
    kind_of,
    wildcard_covers,
)
from driftguard.policy_statement import (
    MAX_ATOMS,
    Grant,
    GrantKey,
    Statement,
    statement_sort_key,
)

__all__ = [
    "MAX_ATOMS",
    "PRINCIPAL_KINDS",
    "UNIQUE_ID_RE",
    "VALID_VERSIONS",
    "Condition",
    "Conditions",
    "Grant",
    "GrantKey",
    "Policy",
    "PolicyDiff",
    "Principal",
    "Statement",
    "action_matches",
    "diff",
    "is_principal_arn",
    "is_unique_id",
    "wildcard_covers",
]

VALID_VERSIONS: Final = ("2012-10-17", "2008-10-17")

_POLICY_KEYS: Final = frozenset({"Version", "Id", "Statement"})

# The partition of an ARN other than plain "aws" (aws-cn, aws-us-gov, ...).
_OTHER_PARTITION_RE: Final = re.compile(r"arn:(aws(?:-[a-z]+)+):")


@dataclass(frozen=True)
class Policy:
    """A parsed policy document. Build it with ``Policy.parse``."""

    version: str | None
    id: str | None
    statements: tuple[Statement, ...]

    @staticmethod
    def parse(doc: str | bytes | Mapping[str, Any]) -> Policy:
        """Parse a JSON string/bytes or an already-decoded mapping.

        Raises ``PolicyParseError`` naming the statement and element at fault.
        """
        data: object
        if isinstance(doc, str | bytes | bytearray):
            try:
                data = json.loads(doc, parse_constant=_reject_constant)
            except json.JSONDecodeError as exc:
                raise PolicyParseError(
                    f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                ) from exc
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise PolicyParseError(f"invalid JSON: {exc}") from exc
        else:
            data = doc
        if not is_mapping(data):
            raise PolicyParseError(f"policy: top level must be a JSON object, got {kind_of(data)}")
        if not _POLICY_KEYS.issuperset(data):
            unknown = sorted(str(k) for k in data if k not in _POLICY_KEYS)
            fail("policy", f"unknown element(s) {unknown} (allowed: {sorted(_POLICY_KEYS)})")

        version = data.get("Version")
        if version is not None and version not in VALID_VERSIONS:
            fail("Version", f"must be one of {VALID_VERSIONS}, got {version!r}")
        policy_id = data.get("Id")
        if policy_id is not None and not isinstance(policy_id, str):
            fail("Id", f"expected a string, got {kind_of(policy_id)}")

        if "Statement" not in data:
            fail("policy", "missing Statement")
        raw = data["Statement"]
        statements: tuple[Statement, ...]
        if is_mapping(raw):
            statements = (Statement.parse(raw, "Statement"),)
        elif isinstance(raw, list | tuple):
            if not raw:
                fail("Statement", "is empty; a policy needs at least one statement")
            statements = tuple(Statement.parse(s, f"Statement[{i}]") for i, s in enumerate(raw))
        else:
            fail("Statement", f"must be an object or a list of objects, got {kind_of(raw)}")
        return Policy(version=version, id=policy_id, statements=statements)

    def normalized(self) -> Policy:
        """Canonical form, computed once; that of a normalized policy is itself. Sid/Id labels
        are kept (the form can be put back to AWS) but statements are deduplicated and sorted."""
        return self._normalized

    @cached_property
    def _normal(self) -> Policy:
        # The normal form: normalized() before sorting, which comparisons do not need.
        return _normalize(self)

    @cached_property
    def _normalized(self) -> Policy:
        normal = self._normal
        # Sorting renders every statement as JSON: only normalized() pays for it.
        ordered = tuple(sorted(normal.statements, key=statement_sort_key))
        canonical = replace(normal, statements=ordered)
        # cached_property keeps values in __dict__, which a frozen dataclass allows.
        canonical.__dict__.update(_normal=normal, _normalized=canonical)
        normal.__dict__["_normalized"] = canonical
        return canonical

    # Derived data. The public methods read it on the normal form, so a policy and both its
    # forms share one copy of each.

    @cached_property
    def _statement_set(self) -> frozenset[Statement]:
        return frozenset(self._normal.statements)

    @cached_property
    def _atom_count(self) -> int:
        return sum(s.atom_count() for s in self._normal.statements)

    @cached_property
    def _grant_keys(self) -> frozenset[GrantKey]:
        # A union of sets reuses the hashes they store.
        return frozenset().union(*(s.grant_keys() for s in self._normal.statements))

    @cached_property
    def _grants(self) -> frozenset[Grant]:
        return frozenset(Grant(*key) for key in self._normal._grant_keys)

    @cached_property
    def _semantic_statements(self) -> frozenset[Statement]:
        return frozenset(s.semantic_key() for s in self._normal.statements)

    @cached_property
    def _aws_principals(self) -> frozenset[str]:
        return frozenset(
            p.value for s in self._normal.statements for p in s.principals or () if p.kind == "AWS"
        )

    def normalized_statements(self) -> frozenset[Statement]:
        """The statements of ``normalized()``, as a set: enough to compare, and cheaper (the
        canonical order renders every statement as JSON)."""
        return self._normal._statement_set

    def atom_count(self) -> int:
        """Atomic grants the normalized policy expands to (overlaps between statements
        counted twice), computed without expanding."""
        return self._normal._atom_count

    def grants(self) -> frozenset[Grant]:
        """All atomic grants of the normalized policy. Check ``atom_count()`` first."""
        return self._normal._grants

    def grant_keys(self) -> frozenset[GrantKey]:
        """``grants()`` as ``GrantKey`` tuples, for comparing. Check ``atom_count()`` first."""
        return self._normal._grant_keys

    def semantic_statements(self) -> frozenset[Statement]:
        """Normalized statements without Sids: the fallback comparison unit."""
        return self._normal._semantic_statements

    def semantically_equal(self, other: Policy) -> bool:
        """Same grants, ignoring shape and labels.

        Compares atomic grants. If either policy expands past ``MAX_ATOMS``, compares
        normalized statements (without Sid) instead: still insensitive to order, case,
        lists and labels, but a split/merged statement then counts as different.
        Version is not compared (the services store what was put).
        """
        if self.atom_count() > MAX_ATOMS or other.atom_count() > MAX_ATOMS:
            return self.semantic_statements() == other.semantic_statements()
        return self.grant_keys() == other.grant_keys()

    def aws_principals(self) -> frozenset[str]:
        """Normalized AWS principal values from every Principal element (not NotPrincipal)."""
        return self._normal._aws_principals

    def unique_id_principals(self) -> frozenset[str]:
        """AWS principals that are unique IDs (a deleted role or user)."""
        return frozenset(v for v in self.aws_principals() if is_unique_id(v))

    def principal_arns(self) -> frozenset[str]:
        """AWS principals that are role or user ARNs."""
        return frozenset(v for v in self.aws_principals() if is_principal_arn(v))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready rendering of this policy as it is (not normalized)."""
        out: dict[str, Any] = {}
        if self.version is not None:
            out["Version"] = self.version
        if self.id is not None:
            out["Id"] = self.id
        out["Statement"] = [s.to_dict() for s in self.statements]
        return out


def _normalize(policy: Policy) -> Policy:
    """The normal form of ``policy``: its statements normalized and deduplicated, in no
    particular order. The only place that does the normalizing work."""
    partition = _detect_partition(policy.statements)
    statements = frozenset(s.normalized(partition) for s in policy.statements)
    normal = replace(policy, statements=tuple(statements))
    # Normalizing is idempotent (tests check it on fresh objects): the form is its own.
    normal.__dict__.update(_normal=normal, _statement_set=statements)
    return normal


def _detect_partition(statements: Sequence[Statement]) -> str:
    """The partition for bare account ids: the one non-``aws`` partition the policy's ARNs
    use, else ``aws`` (also when several non-``aws`` partitions are mixed: ambiguous)."""
    values = [
        p.value for s in statements for ps in (s.principals, s.not_principals) for p in ps or ()
    ]
    values += [r for s in statements for rs in (s.resources, s.not_resources) for r in rs or ()]
    others = {match[1] for match in map(_OTHER_PARTITION_RE.match, values) if match}
    return others.pop() if len(others) == 1 else "aws"


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")
