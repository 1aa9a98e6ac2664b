"""The edges driftguard reads untrusted input at, fuzzed: each answers a parsed value
or a clean, short rejection (InvalidEventError), never another exception."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftguard.errors import InvalidEventError
from driftguard.events import CloudTrailDetail, parse_cloudtrail
from driftguard.rechecks import Recheck
from tests.support.mutations import JSON_VALUES, a_recheck, mutated, real_events
from tests.support.properties import PROPERTIES

CLOUDTRAIL_EVENTS = real_events("IamEventsFunction", "PolicyEventsFunction", "ignored", "invalid")
MAX_REASON = 2_000  # a rejection names what is wrong; it does not echo a 100 kB field


def test_the_sample_events_and_a_recheck_parse() -> None:
    # The mutations start from input that parses, or the fuzzing proves little.
    parsed = [parse_cloudtrail(e) for e in real_events("IamEventsFunction", "PolicyEventsFunction")]
    assert all(isinstance(p, CloudTrailDetail) for p in parsed)
    assert Recheck.parse(json.dumps(a_recheck())).attempt == 2


@PROPERTIES
@given(mutated(CLOUDTRAIL_EVENTS))
def test_the_event_parser_answers_a_detail_or_a_clean_rejection(event: Any) -> None:
    try:
        detail = parse_cloudtrail(event)
    except InvalidEventError as exc:
        assert len(str(exc)) < MAX_REASON
    else:
        assert isinstance(detail, CloudTrailDetail)
        assert isinstance(detail.event_name, str)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("since", "2026-12-01T09:00:01"),  # no time zone: not comparable with now
        ("event_time", "2026-12-01T09:00:00"),
        ("attempt", 0),
        ("trigger", "role-renamed"),
        ("arns", ["a" * 100_000]),
        ("arns", []),
        ("arns", ["arn:aws:kms:us-east-1:111111111111:key/k"] * 51),
        ("surprise", "extra field"),
    ],
)
def test_a_recheck_that_could_not_have_come_from_driftguard_is_rejected(
    field: str, value: Any
) -> None:
    body = {**a_recheck(), field: value}
    with pytest.raises(InvalidEventError, match=field):
        Recheck.parse(json.dumps(body))


@PROPERTIES
@given(mutated([a_recheck()]) | JSON_VALUES | st.text(max_size=200))
def test_a_recheck_message_parses_or_is_cleanly_rejected(body: Any) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    try:
        recheck = Recheck.parse(text)
    except InvalidEventError as exc:
        assert len(str(exc)) < MAX_REASON
    else:
        trigger = recheck.as_trigger()
        assert trigger.since is not None and trigger.since.tzinfo is not None
