"""Elements of a policy statement: principals, conditions, IAM wildcards, and the helpers
that parse and render one element. ``driftguard.policy`` re-exports the public names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final, NamedTuple, NoReturn, TypeGuard

from driftguard.errors import PolicyParseError

__all__ = [
    "EVERYONE",
    "PRINCIPAL_KINDS",
    "UNIQUE_ID_RE",
    "Condition",
    "Conditions",
    "Principal",
    "account_roots",
    "action_matches",
    "canonical_json",
    "fail",
    "is_mapping",
    "is_principal_arn",
    "is_unique_id",
    "kind_of",
    "normalize_conditions",
    "parse_conditions",
    "parse_principals",
    "parse_strings",
    "principal_label",
    "render_conditions",
    "render_principals",
    "render_values",
    "wildcard_covers",
]

PRINCIPAL_KINDS: Final = ("AWS", "CanonicalUser", "Federated", "Service")

# Anchored with \A..\Z (not ^..$) so that .match() is already a full match and a trailing
# newline is not accepted. Only AROA (role) and AIDA (user) show up for deleted principals.
UNIQUE_ID_RE: Final = re.compile(r"\A(?:AROA|AIDA)[A-Z0-9]{17}(?::.*)?\Z", re.DOTALL)
_ACCOUNT_ID_RE: Final = re.compile(r"\A[0-9]{12}\Z")
_PRINCIPAL_ARN_RE: Final = re.compile(
    r"\Aarn:aws(?:-[a-z]+)*:iam::[0-9]{12}:(?:role|user)/.+\Z", re.DOTALL
)


class Principal(NamedTuple):
    """One principal: ``kind`` is AWS, Service, Federated or CanonicalUser."""

    kind: str
    value: str


# (operator, lowercased key, sorted distinct values as strings)
Condition = tuple[str, str, tuple[str, ...]]
Conditions = tuple[Condition, ...]

EVERYONE: Final = Principal("AWS", "*")


def is_unique_id(value: object) -> bool:
    """True for an IAM role/user unique ID (``AROA…``/``AIDA…``, optionally ``:session``)."""
    return isinstance(value, str) and UNIQUE_ID_RE.match(value) is not None


def is_principal_arn(value: object) -> bool:
    """True for ``arn:<partition>:iam::<account>:role/…`` or ``…:user/…``."""
    return isinstance(value, str) and _PRINCIPAL_ARN_RE.match(value) is not None


def account_roots(principals: frozenset[Principal], partition: str) -> frozenset[Principal]:
    """AWS account id principals as their root ARN in ``partition``, others unchanged."""
    accounts = [p for p in principals if p.kind == "AWS" and _ACCOUNT_ID_RE.match(p.value)]
    if not accounts:
        return principals  # the usual case: the same set, its hash already computed
    roots = {Principal("AWS", f"arn:{partition}:iam::{p.value}:root") for p in accounts}
    return principals.difference(accounts) | roots


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


# --------------------------------------------------------------------------- parsing


def fail(where: str, message: str) -> NoReturn:
    raise PolicyParseError(f"{where}: {message}")


def kind_of(value: object) -> str:
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


def is_mapping(value: object) -> TypeGuard[Mapping[Any, Any]]:
    # A plain dict first: isinstance against the Mapping ABC is slow, and parsing asks often.
    return type(value) is dict or isinstance(value, Mapping)


_ONLY_STR: Final = frozenset({str})


def parse_strings(value: object, where: str) -> frozenset[str]:
    """A string or a list of strings, as a set. Empty strings are rejected."""
    if isinstance(value, str):
        if not value:
            fail(where, "must not be an empty string")
        return frozenset({value})
    if isinstance(value, list | tuple):
        # The common case in one step; the loop below names the item at fault.
        if set(map(type, value)) <= _ONLY_STR:
            out = frozenset(value)
            if "" not in out:
                return out
        for i, item in enumerate(value):
            if not isinstance(item, str):
                fail(f"{where}[{i}]", f"expected a string, got {kind_of(item)}")
            if not item:
                fail(f"{where}[{i}]", "must not be an empty string")
        return frozenset(value)
    fail(where, f"expected a string or a list of strings, got {kind_of(value)}")


def parse_principals(value: object, where: str) -> frozenset[Principal]:
    if isinstance(value, str):
        if value == "*":
            return frozenset({EVERYONE})
        fail(where, f'must be "*" or an object like {{"AWS": ...}}, got the string {value!r}')
    if not is_mapping(value):
        fail(where, f'must be "*" or an object like {{"AWS": ...}}, got {kind_of(value)}')
    out: set[Principal] = set()
    for kind, values in value.items():
        if kind not in PRINCIPAL_KINDS:
            fail(where, f"unknown principal type {kind!r} (expected one of {PRINCIPAL_KINDS})")
        out.update(Principal(kind, v) for v in parse_strings(values, f"{where}.{kind}"))
    return frozenset(out)


def _condition_value(value: object, where: str) -> str:
    # bool before int: bool is an int subclass, and IAM spells it "true"/"false".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    fail(where, f"expected a string, number or boolean, got {kind_of(value)}")


def parse_conditions(value: object, where: str) -> Conditions:
    if not is_mapping(value):
        fail(where, f"must be an object {{operator: {{key: value}}}}, got {kind_of(value)}")
    out: list[Condition] = []
    for operator, block in value.items():
        if not isinstance(operator, str) or not operator:
            fail(where, f"condition operator must be a non-empty string, got {operator!r}")
        here = f"{where}.{operator}"
        if not is_mapping(block):
            fail(here, f"must be an object {{key: value}}, got {kind_of(block)}")
        seen: set[str] = set()
        for key, raw in block.items():
            if not isinstance(key, str) or not key:
                fail(here, f"condition key must be a non-empty string, got {key!r}")
            lowered = key.lower()
            # Keys are case-insensitive; two spellings of one key would collide once lowered.
            if lowered in seen:
                fail(here, f"condition key {key!r} appears twice (keys are case-insensitive)")
            seen.add(lowered)
            out.append((operator, lowered, _condition_values(raw, f"{here}.{key}")))
    return tuple(sorted(out))


def _condition_values(raw: object, where: str) -> tuple[str, ...]:
    """A condition value or list of values, as sorted distinct strings."""
    # Strings only (the common case) need no conversion.
    if type(raw) is str:
        return (raw,)
    if isinstance(raw, list | tuple):
        if set(map(type, raw)) <= _ONLY_STR:
            return tuple(sorted(set(raw)))
        items = [_condition_value(v, f"{where}[{i}]") for i, v in enumerate(raw)]
    else:
        items = [_condition_value(raw, where)]
    return tuple(sorted(set(items)))


def normalize_conditions(conditions: Iterable[Condition]) -> Conditions:
    if not conditions:
        return ()
    return tuple(
        sorted({(op, key.lower(), tuple(sorted(set(vals)))) for op, key, vals in conditions})
    )


# --------------------------------------------------------------------------- rendering


def render_values(values: Iterable[str]) -> str | list[str]:
    """One value renders as a string, several (or none) as a sorted list."""
    ordered = sorted(values)
    return ordered[0] if len(ordered) == 1 else ordered


def render_principals(principals: frozenset[Principal]) -> dict[str, str | list[str]]:
    by_kind: dict[str, list[str]] = {}
    for p in principals:
        by_kind.setdefault(p.kind, []).append(p.value)
    return {kind: render_values(values) for kind, values in sorted(by_kind.items())}


def render_conditions(conditions: Conditions) -> dict[str, dict[str, str | list[str]]]:
    out: dict[str, dict[str, str | list[str]]] = {}
    for operator, key, values in conditions:
        out.setdefault(operator, {})[key] = render_values(values)
    return out


def principal_label(p: Principal) -> str:
    """AWS principals read as their value; other kinds are prefixed (``Service:…``)."""
    return p.value if p.kind == "AWS" else f"{p.kind}:{p.value}"


def canonical_json(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
