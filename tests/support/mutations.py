"""Hypothesis strategies for hostile input: the real events in events/, mutated.

A mutation replaces a value anywhere in the event with random JSON or with one of
the strings that broke things before (a 100 kB ARN, an unexpected unique ID), or
deletes it. Real events make the fuzzing reach past the parser's first checks.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

EVENTS = Path(__file__).resolve().parents[2] / "events"

Path_ = tuple[str | int, ...]

AWKWARD_STRINGS = st.sampled_from(
    [
        "",
        "x",
        "a" * 100_000,
        "arn:aws:kms:us-east-1:111111111111:key/" + "k" * 100_000,
        "arn:aws:iam::111111111111:role/" + "r" * 5_000,
        "arn:aws:iam::111111111111:role/pod-role",
        "arn:aws:iam::driftguard-remediation",
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:111111111111:secret:s-AbCdEf",
        "AROA" + "A" * 17,
        "AROA" + "A" * 100_000,
        "111111111111",
        "null",
        "\u0000\ud7ff",
        "🙂" * 50,
        "2026-13-45T99:99:99Z",
        "2026-12-01T09:00:00",  # no time zone
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | AWKWARD_STRINGS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def real_events(*functions: str) -> list[dict[str, Any]]:
    """Every sample event of these functions (all of them, invalid and ignored too)."""
    folders = functions or tuple(p.name for p in EVENTS.iterdir() if p.is_dir())
    found = [
        json.loads(path.read_text(encoding="utf-8"))
        for folder in folders
        for path in sorted((EVENTS / folder).glob("*.json"))
    ]
    assert found, f"no sample events for {folders}"
    return found


def a_recheck() -> dict[str, Any]:
    """A valid re-check message body, as driftguard.rechecks writes it."""
    return {
        "arns": ["arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
        "role": "arn:aws:iam::111111111111:role/pod-role",
        "reason": "the role is not visible yet",
        "trigger": "role-created",
        "event_name": "CreateRole",
        "event_id": "e-1",
        "actor": "arn:aws:iam::111111111111:user/alice",
        "event_time": "2026-12-01T09:00:00Z",
        "attempt": 2,
        "since": "2026-12-01T09:00:01Z",
    }


def _paths(value: Any, prefix: Path_ = ()) -> list[Path_]:
    if isinstance(value, dict):
        items: list[tuple[str | int, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return []
    found: list[Path_] = []
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _parent(document: Any, path: Path_) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


@st.composite
def mutated(draw: st.DrawFn, events: list[dict[str, Any]]) -> Any:
    """One of `events`, changed in one to three places (or, now and then, random JSON)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)
    event: Any = copy.deepcopy(draw(st.sampled_from(events)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(event)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(event, path)
        how = draw(st.sampled_from(["json", "string", "delete"]))
        if how == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_VALUES if how == "json" else AWKWARD_STRINGS)
    return event
