"""Reading declaration files strictly (pure): JSON or YAML, and nothing that reads as
something else than it looks.

YAML 1.1 reads some unquoted words as something else than they look: `2012-10-17` is a
date, `0777` the number 511, `on` true. In a policy that silently changes what is
declared, so such a value is refused ("quote it") rather than guessed; so is a key given
twice (YAML and JSON both keep only the last one, which a reviewer may not see).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import yaml

__all__ = ["decode"]


def decode(path: str, data: bytes) -> Any:
    """A file's contents as JSON values; ValueError saying what is wrong and where."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    if path.endswith(".json"):
        try:
            return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_nan)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
    try:
        _check_yaml(yaml.compose(text, Loader=yaml.SafeLoader))
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {_yaml_problem(exc)}") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"not valid JSON: the key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def _no_nan(constant: str) -> Any:
    raise ValueError(f"not valid JSON: {constant} is not a JSON value")


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return str(problem)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"


# --------------------------------------------------------------------------- YAML's surprises

_TAG: Final = "tag:yaml.org,2002:"
_PLAIN_NUMBER: Final = re.compile(r"[-+]?(0|[1-9][0-9]*)(\.[0-9]+)?")
_PLAIN_BOOLEAN: Final = frozenset({"true", "false", "True", "False", "TRUE", "FALSE"})


class _Surprise(yaml.YAMLError):  # type: ignore[misc]  # PyYAML ships no stubs
    def __init__(self, node: Any, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = node.start_mark


def _check_yaml(node: Any) -> None:
    """Refuse what YAML would read as something else than it looks (see the module's
    docstring), and keys given twice."""
    if isinstance(node, yaml.ScalarNode):
        _check_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_yaml(item)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise _Surprise(key, f"the key {key.value!r} appears twice in one mapping")
                seen.add(key.value)
            _check_yaml(key)
            _check_yaml(value)


def _check_scalar(node: Any) -> None:
    if node.style is not None:  # quoted, or a block: text
        return
    tag, value = str(node.tag).removeprefix(_TAG), str(node.value)
    if tag == "timestamp":
        advice = "a date in YAML; quote it to mean the text"
    elif tag in ("int", "float") and not _PLAIN_NUMBER.fullmatch(value):
        advice = "a number in YAML; quote it to mean the text"
    elif tag == "bool" and value not in _PLAIN_BOOLEAN:
        advice = "a boolean in YAML; write true or false, or quote it to mean the text"
    else:
        return
    raise _Surprise(node, f"{value} is read as {advice}")
