"""Pure IAM policy model: parse, normalize, compare and diff resource policies.

No I/O and no boto3 here, so every rule can be tested on plain data.

Two levels of equality, on purpose:

* ``==`` (dataclass equality) is structural: same fields, same statement order, same Sids.
  Compare ``normalized()`` policies to ignore order, duplicates, string vs list, action case
  and account id vs root ARN while still telling Sid/Id labels and split statements apart.
* ``Policy.semantically_equal()`` is for drift: it compares the sets of atomic grants, so
  reshaping (statement order, splitting, string vs list, action case, account id vs root ARN,
  Sid/Id labels) is not a difference.

The integrity of a stored declaration is not this model's business: that is
``driftguard.model.sha256`` of the exact text.

A ``Policy`` is normalized at most once: the canonical form and what is derived from it
(atom count, grants, semantic statements, AWS principals) are cached on the object, outside
the dataclass fields, so ``==`` and ``hash`` still see only the fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any, Final, NamedTuple, NoReturn

from driftguard.errors import PolicyParseError

__all__ = [
    "MAX_ATOMS",
    "PRINCIPAL_KINDS",
    "UNIQUE_ID_RE",
    "VALID_VERSIONS",
    "Condition",
    "Conditions",
    "Grant",
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

# Above this many atomic grants a comparison falls back to normalized statements, so a
# hostile or generated policy (e.g. 1000 principals x 1000 actions) cannot eat the Lambda.
MAX_ATOMS: Final = 100_000

VALID_VERSIONS: Final = ("2012-10-17", "2008-10-17")
PRINCIPAL_KINDS: Final = ("AWS", "CanonicalUser", "Federated", "Service")

# Anchored with \A..\Z (not ^..$) so that .match() is already a full match and a trailing
# newline is not accepted. Only AROA (role) and AIDA (user) show up for deleted principals.
UNIQUE_ID_RE: Final = re.compile(r"\A(?:AROA|AIDA)[A-Z0-9]{17}(?::.*)?\Z", re.DOTALL)
_ACCOUNT_ID_RE: Final = re.compile(r"\A[0-9]{12}\Z")
_PRINCIPAL_ARN_RE: Final = re.compile(
    r"\Aarn:aws(?:-[a-z]+)*:iam::[0-9]{12}:(?:role|user)/.+\Z", re.DOTALL
)
_PARTITION_RE: Final = re.compile(r"\Aaws(?:-[a-z]+)*\Z")

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
_POLICY_KEYS: Final = frozenset({"Version", "Id", "Statement"})


class Principal(NamedTuple):
    """One principal: ``kind`` is AWS, Service, Federated or CanonicalUser."""

    kind: str
    value: str


# (operator, lowercased key, sorted distinct values as strings)
Condition = tuple[str, str, tuple[str, ...]]
Conditions = tuple[Condition, ...]

_EVERYONE: Final = Principal("AWS", "*")


def is_unique_id(value: object) -> bool:
    """True for an IAM role/user unique ID (``AROA…``/``AIDA…``, optionally ``:session``)."""
    return isinstance(value, str) and UNIQUE_ID_RE.match(value) is not None


def is_principal_arn(value: object) -> bool:
    """True for ``arn:<partition>:iam::<account>:role/…`` or ``…:user/…``."""
    return isinstance(value, str) and _PRINCIPAL_ARN_RE.match(value) is not None


@lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    # '?' may not match a '*' of the covered text: "a?c" does not cover the pattern "a*c".
    body = "".join(".*" if c == "*" else "[^*]" if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL)


def wildcard_covers(pattern: str, target: str) -> bool:
    """True if every name ``target`` stands for (``target`` may itself contain ``*``/``?``)
    is matched by the IAM wildcard ``pattern``. Case-sensitive (resources); unlike
    ``fnmatch``, ``[...]`` is literal, as in IAM."""
    return pattern == target or _wildcard_regex(pattern).fullmatch(target) is not None


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: ``kms:*`` or ``KMS:Put*`` match ``kms:PutKeyPolicy``.

    Case-insensitive, ``*``/``?`` wildcards; ``action`` may itself be a pattern, then the
    answer is whether ``pattern`` covers all of it."""
    return wildcard_covers(pattern.lower(), action.lower())


# --------------------------------------------------------------------------- parsing helpers


def _fail(where: str, message: str) -> NoReturn:
    raise PolicyParseError(f"{where}: {message}")


def _kind_of(value: object) -> str:
    """JSON-ish type name for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _strings(value: object, where: str) -> frozenset[str]:
    """A string or a list of strings, as a set. Empty strings are rejected."""
    if isinstance(value, str):
        if not value:
            _fail(where, "must not be an empty string")
        return frozenset({value})
    if isinstance(value, list | tuple):
        out: set[str] = set()
        for i, item in enumerate(value):
            if not isinstance(item, str):
                _fail(f"{where}[{i}]", f"expected a string, got {_kind_of(item)}")
            if not item:
                _fail(f"{where}[{i}]", "must not be an empty string")
            out.add(item)
        return frozenset(out)
    _fail(where, f"expected a string or a list of strings, got {_kind_of(value)}")


def _parse_principals(value: object, where: str) -> frozenset[Principal]:
    if isinstance(value, str):
        if value == "*":
            return frozenset({_EVERYONE})
        _fail(where, f'must be "*" or an object like {{"AWS": ...}}, got the string {value!r}')
    if not isinstance(value, Mapping):
        _fail(where, f'must be "*" or an object like {{"AWS": ...}}, got {_kind_of(value)}')
    out: set[Principal] = set()
    for kind, values in value.items():
        if kind not in PRINCIPAL_KINDS:
            _fail(where, f"unknown principal type {kind!r} (expected one of {PRINCIPAL_KINDS})")
        out.update(Principal(kind, v) for v in _strings(values, f"{where}.{kind}"))
    return frozenset(out)


def _condition_value(value: object, where: str) -> str:
    # bool before int: bool is an int subclass, and IAM spells it "true"/"false".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    _fail(where, f"expected a string, number or boolean, got {_kind_of(value)}")


def _parse_conditions(value: object, where: str) -> Conditions:
    if not isinstance(value, Mapping):
        _fail(where, f"must be an object {{operator: {{key: value}}}}, got {_kind_of(value)}")
    out: list[Condition] = []
    for operator, block in value.items():
        if not isinstance(operator, str) or not operator:
            _fail(where, f"condition operator must be a non-empty string, got {operator!r}")
        here = f"{where}.{operator}"
        if not isinstance(block, Mapping):
            _fail(here, f"must be an object {{key: value}}, got {_kind_of(block)}")
        seen: set[str] = set()
        for key, raw in block.items():
            if not isinstance(key, str) or not key:
                _fail(here, f"condition key must be a non-empty string, got {key!r}")
            lowered = key.lower()
            # Keys are case-insensitive; two spellings of one key would collide once lowered.
            if lowered in seen:
                _fail(here, f"condition key {key!r} appears twice (keys are case-insensitive)")
            seen.add(lowered)
            if isinstance(raw, list | tuple):
                items = [_condition_value(v, f"{here}.{key}[{i}]") for i, v in enumerate(raw)]
            else:
                items = [_condition_value(raw, f"{here}.{key}")]
            out.append((operator, lowered, tuple(sorted(set(items)))))
    return tuple(sorted(out))


def _normalize_conditions(conditions: Iterable[Condition]) -> Conditions:
    return tuple(
        sorted({(op, key.lower(), tuple(sorted(set(vals)))) for op, key, vals in conditions})
    )


# --------------------------------------------------------------------------- rendering helpers


def _render_values(values: Iterable[str]) -> str | list[str]:
    """One value renders as a string, several (or none) as a sorted list."""
    ordered = sorted(values)
    return ordered[0] if len(ordered) == 1 else ordered


def _render_principals(principals: frozenset[Principal]) -> dict[str, str | list[str]]:
    by_kind: dict[str, list[str]] = {}
    for p in principals:
        by_kind.setdefault(p.kind, []).append(p.value)
    return {kind: _render_values(values) for kind, values in sorted(by_kind.items())}


def _render_conditions(conditions: Conditions) -> dict[str, dict[str, str | list[str]]]:
    out: dict[str, dict[str, str | list[str]]] = {}
    for operator, key, values in conditions:
        out.setdefault(operator, {})[key] = _render_values(values)
    return out


def _principal_label(p: Principal) -> str:
    """AWS principals read as their value; other kinds are prefixed (``Service:…``)."""
    return p.value if p.kind == "AWS" else f"{p.kind}:{p.value}"


def _canonical(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- model


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
            who = _principal_label(self.principal)
        elif self.not_principals is not None:
            who = "NotPrincipal[" + ",".join(sorted(map(_principal_label, self.not_principals)))
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
            text += " if " + _canonical(_render_conditions(self.conditions))
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

    @staticmethod
    def parse(raw: object, where: str = "Statement") -> Statement:
        """Parse one statement object; ``where`` prefixes error messages."""
        if not isinstance(raw, Mapping):
            _fail(where, f"must be an object, got {_kind_of(raw)}")
        unknown = sorted(str(k) for k in raw if k not in _STATEMENT_KEYS)
        if unknown:
            _fail(where, f"unknown element(s) {unknown} (allowed: {sorted(_STATEMENT_KEYS)})")
        for positive in ("Principal", "Action", "Resource"):
            if positive in raw and f"Not{positive}" in raw:
                _fail(where, f"has both {positive} and Not{positive}; use only one")

        sid = raw.get("Sid")
        if sid is not None and not isinstance(sid, str):
            _fail(f"{where}.Sid", f"expected a string, got {_kind_of(sid)}")
        if "Effect" not in raw:
            _fail(where, 'missing Effect ("Allow" or "Deny")')
        effect = raw["Effect"]
        if effect not in ("Allow", "Deny"):
            _fail(f"{where}.Effect", f'must be "Allow" or "Deny", got {effect!r}')
        # IAM rejects a statement that names no action; it would grant nothing anyway.
        if "Action" not in raw and "NotAction" not in raw:
            _fail(where, "missing Action or NotAction")

        def principals(key: str) -> frozenset[Principal] | None:
            return _parse_principals(raw[key], f"{where}.{key}") if key in raw else None

        def names(key: str) -> frozenset[str] | None:
            return _strings(raw[key], f"{where}.{key}") if key in raw else None

        conditions = (
            _parse_conditions(raw["Condition"], f"{where}.Condition") if "Condition" in raw else ()
        )
        return Statement(
            sid=sid,
            effect=str(effect),
            principals=principals("Principal"),
            not_principals=principals("NotPrincipal"),
            actions=names("Action"),
            not_actions=names("NotAction"),
            resources=names("Resource"),
            not_resources=names("NotResource"),
            conditions=conditions,
        )

    def normalized(self, partition: str = "aws") -> Statement:
        """Lowercase actions, account ids -> root ARNs in ``partition``, canonical conditions."""

        def norm_principals(ps: frozenset[Principal] | None) -> frozenset[Principal] | None:
            if ps is None:
                return None
            return frozenset(
                Principal("AWS", f"arn:{partition}:iam::{p.value}:root")
                if p.kind == "AWS" and _ACCOUNT_ID_RE.match(p.value)
                else p
                for p in ps
            )

        def lower(values: frozenset[str] | None) -> frozenset[str] | None:
            return None if values is None else frozenset(v.lower() for v in values)

        return replace(
            self,
            principals=norm_principals(self.principals),
            not_principals=norm_principals(self.not_principals),
            actions=lower(self.actions),
            not_actions=lower(self.not_actions),
            conditions=_normalize_conditions(self.conditions),
        )

    def semantic_key(self) -> Statement:
        """The statement without its Sid label (Sid is not semantics)."""
        return replace(self, sid=None)

    def atom_count(self) -> int:
        """How many grants ``grants()`` yields, computed without expanding."""

        def size(positive: frozenset[Any] | None) -> int:
            return 1 if positive is None else len(positive)

        return size(self.principals) * size(self.actions) * size(self.resources)

    def grants(self) -> Iterator[Grant]:
        """Expand into atomic grants (a cross product; mind ``atom_count()``)."""
        return iter(self._grants)

    @cached_property
    def _grants(self) -> tuple[Grant, ...]:
        # Expanded once per statement: a check asks a statement for its grants several
        # times (coverage, the diff, which statements carry what changed).
        return tuple(self._expand())

    def _expand(self) -> Iterator[Grant]:
        who: list[tuple[Principal | None, frozenset[Principal] | None]] = (
            [(p, None) for p in sorted(self.principals)]
            if self.principals is not None
            else [(None, self.not_principals)]
        )
        what: list[tuple[str | None, frozenset[str] | None]] = (
            [(a, None) for a in sorted(self.actions)]
            if self.actions is not None
            else [(None, self.not_actions)]
        )
        where: list[tuple[str | None, frozenset[str] | None]] = (
            [(r, None) for r in sorted(self.resources)]
            if self.resources is not None
            else [(None, self.not_resources)]
        )
        for principal, not_principals in who:
            for action, not_actions in what:
                for resource, not_resources in where:
                    yield Grant(
                        effect=self.effect,
                        principal=principal,
                        not_principals=not_principals,
                        action=action,
                        not_actions=not_actions,
                        resource=resource,
                        not_resources=not_resources,
                        conditions=self.conditions,
                    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready rendering: one value as a string, several as a sorted list."""
        out: dict[str, Any] = {}
        if self.sid is not None:
            out["Sid"] = self.sid
        out["Effect"] = self.effect
        if self.principals is not None:
            out["Principal"] = _render_principals(self.principals)
        if self.not_principals is not None:
            out["NotPrincipal"] = _render_principals(self.not_principals)
        for key, values in (
            ("Action", self.actions),
            ("NotAction", self.not_actions),
            ("Resource", self.resources),
            ("NotResource", self.not_resources),
        ):
            if values is not None:
                out[key] = _render_values(values)
        if self.conditions:
            out["Condition"] = _render_conditions(self.conditions)
        return out


def _statement_sort_key(statement: Statement) -> str:
    return _canonical(statement.to_dict())


def _detect_partition(statements: Iterable[Statement]) -> str:
    """The partition for bare account ids: the one non-``aws`` partition the policy's ARNs
    use, else ``aws`` (also when several non-``aws`` partitions are mixed: ambiguous)."""
    found: set[str] = set()
    for s in statements:
        values = [p.value for group in (s.principals, s.not_principals) for p in group or ()]
        values += [r for group in (s.resources, s.not_resources) for r in group or ()]
        for value in values:
            parts = value.split(":", 2)
            if len(parts) == 3 and parts[0] == "arn" and _PARTITION_RE.match(parts[1]):
                found.add(parts[1])
    others = found - {"aws"}
    return others.pop() if len(others) == 1 else "aws"


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
        if not isinstance(data, Mapping):
            raise PolicyParseError(f"policy: top level must be a JSON object, got {_kind_of(data)}")
        unknown = sorted(str(k) for k in data if k not in _POLICY_KEYS)
        if unknown:
            _fail("policy", f"unknown element(s) {unknown} (allowed: {sorted(_POLICY_KEYS)})")

        version = data.get("Version")
        if version is not None and version not in VALID_VERSIONS:
            _fail("Version", f"must be one of {VALID_VERSIONS}, got {version!r}")
        policy_id = data.get("Id")
        if policy_id is not None and not isinstance(policy_id, str):
            _fail("Id", f"expected a string, got {_kind_of(policy_id)}")

        if "Statement" not in data:
            _fail("policy", "missing Statement")
        raw = data["Statement"]
        statements: tuple[Statement, ...]
        if isinstance(raw, Mapping):
            statements = (Statement.parse(raw, "Statement"),)
        elif isinstance(raw, list | tuple):
            if not raw:
                _fail("Statement", "is empty; a policy needs at least one statement")
            statements = tuple(Statement.parse(s, f"Statement[{i}]") for i, s in enumerate(raw))
        else:
            _fail("Statement", f"must be an object or a list of objects, got {_kind_of(raw)}")
        return Policy(version=version, id=policy_id, statements=statements)

    def normalized(self) -> Policy:
        """Canonical form, computed once; that of a normalized policy is itself. Sid/Id labels
        are kept (the form can be put back to AWS) but statements are deduplicated and sorted."""
        return self._normalized

    @cached_property
    def _normalized(self) -> Policy:
        return _normalize(self)

    # The public methods read these on normalized(), so a parsed policy and its canonical
    # form share one copy of each.

    @cached_property
    def _atom_count(self) -> int:
        return sum(s.atom_count() for s in self.normalized().statements)

    @cached_property
    def _grants(self) -> frozenset[Grant]:
        return frozenset(g for s in self.normalized().statements for g in s.grants())

    @cached_property
    def _semantic_statements(self) -> frozenset[Statement]:
        return frozenset(s.semantic_key() for s in self.normalized().statements)

    @cached_property
    def _aws_principals(self) -> frozenset[str]:
        return frozenset(
            p.value
            for s in self.normalized().statements
            for p in s.principals or ()
            if p.kind == "AWS"
        )

    def atom_count(self) -> int:
        """Atomic grants the normalized policy expands to (overlaps between statements
        counted twice), computed without expanding."""
        return self.normalized()._atom_count

    def grants(self) -> frozenset[Grant]:
        """All atomic grants of the normalized policy. Check ``atom_count()`` first."""
        return self.normalized()._grants

    def semantic_statements(self) -> frozenset[Statement]:
        """Normalized statements without Sids: the fallback comparison unit."""
        return self.normalized()._semantic_statements

    def semantically_equal(self, other: Policy) -> bool:
        """Same grants, ignoring shape and labels.

        Compares atomic grants. If either policy expands past ``MAX_ATOMS``, compares
        normalized statements (without Sid) instead: still insensitive to order, case,
        lists and labels, but a split/merged statement then counts as different.
        Version is not compared (the services store what was put).
        """
        if self.atom_count() > MAX_ATOMS or other.atom_count() > MAX_ATOMS:
            return self.semantic_statements() == other.semantic_statements()
        return self.grants() == other.grants()

    def aws_principals(self) -> frozenset[str]:
        """Normalized AWS principal values from every Principal element (not NotPrincipal)."""
        return self.normalized()._aws_principals

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
    """The canonical form of ``policy``: the only place that does the normalizing work."""
    partition = _detect_partition(policy.statements)
    unique = {s.normalized(partition) for s in policy.statements}
    normal = replace(policy, statements=tuple(sorted(unique, key=_statement_sort_key)))
    # Normalizing is idempotent (tests check it on fresh objects), so the canonical form is
    # its own. cached_property keeps values in __dict__, which a frozen dataclass allows.
    normal.__dict__["_normalized"] = normal
    return normal


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


# --------------------------------------------------------------------------- diff


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
            return sorted((g.to_dict() for g in gs), key=_canonical)

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
                lines += [f"{sign} statement {_canonical(s)}" for s in stmts]
        return tuple(lines)


def _allow_principals(policy: Policy) -> frozenset[str]:
    return frozenset(
        _principal_label(p)
        for s in policy.statements
        if s.effect == "Allow"
        for p in s.principals or ()
    )


def _allow_actions(policy: Policy) -> frozenset[str]:
    return frozenset(a for s in policy.statements if s.effect == "Allow" for a in s.actions or ())


def diff(declared: Policy, live: Policy) -> PolicyDiff:
    """Differences between a declared and a live policy, insensitive to reshaping."""
    d, lv = declared.normalized(), live.normalized()
    atomic = d.atom_count() <= MAX_ATOMS and lv.atom_count() <= MAX_ATOMS

    def render(statements: Iterable[Statement]) -> tuple[dict[str, Any], ...]:
        return tuple(sorted((s.to_dict() for s in statements), key=_canonical))

    if atomic:
        d_grants, l_grants = d.grants(), lv.grants()
        # A statement is reported only if it brings a grant the other side lacks, so a
        # split or merged statement is not a change.
        added_grants, removed_grants = l_grants - d_grants, d_grants - l_grants
        added = render(
            s for s in lv.statements if added_grants and not added_grants.isdisjoint(s.grants())
        )
        removed = render(
            s for s in d.statements if removed_grants and not removed_grants.isdisjoint(s.grants())
        )
    else:
        d_keys, l_keys = d.semantic_statements(), lv.semantic_statements()
        added = render(s for s in lv.statements if s.semantic_key() not in d_keys)
        removed = render(s for s in d.statements if s.semantic_key() not in l_keys)
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
