"""Every change to a declaration is alerted (driftguard.declaration_watch), as a table."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from driftguard.declaration_watch import DeclarationChange, DeclarationWatch, change_alert
from driftguard.errors import InvalidEventError
from driftguard.model import Declared
from driftguard.state import _to_dynamo
from driftguard.vocabulary import AlertType, Finding, Severity, TriggerKind
from tests.support.fakes import (
    SIGNATURES,
    START,
    FakeClock,
    FakePublisher,
    FakeRechecks,
    FakeSignatures,
    declaration,
)

ARN = "arn:aws:kms:us-east-1:111111111111:key/0f6a3c2e-8a57-4d7e-9b0c-2d1e5f4a7b91"
ROLE = "arn:aws:iam::111111111111:role/pod-role"
OUTSIDER = "arn:aws:iam::444455556666:root"


def policy(*principals: str, public: bool = False) -> str:
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Principal": {"AWS": p}, "Action": "kms:Decrypt", "Resource": "*"}
        for p in principals
    ]
    if public:
        statements.append({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def version(text: str, number: int = 1) -> Declared:
    return SIGNATURES.sign(
        dataclasses.replace(declaration(ARN, text, principals=(ROLE,)), version=number)
    )


def stream_image(declared: Declared) -> dict[str, Any]:
    """The item as the stream carries it, deserialized as the handler sees it."""
    item = {"pk": f"RES#{declared.arn}", "sk": "DECLARED"} | _to_dynamo(declared)
    wire = {k: TypeSerializer().serialize(v) for k, v in item.items()}
    return {k: TypeDeserializer().deserialize(v) for k, v in wire.items()}


NARROW, WIDE = policy(ROLE), policy(ROLE, OUTSIDER)

CHANGED = AlertType.DECLARATION_CHANGED
INFO, HIGH, CRITICAL = Severity.INFO, Severity.HIGH, Severity.CRITICAL
PUBLIC = policy(ROLE, public=True)

# name, before, after -> alert type, severity, findings
CASES = [
    ("first declaration", None, version(NARROW), CHANGED, INFO, []),
    ("first, public", None, version(PUBLIC), CHANGED, CRITICAL, ["widened"]),
    ("narrowed", version(WIDE), version(NARROW, 2), CHANGED, INFO, []),
    ("widened", version(NARROW), version(WIDE, 2), CHANGED, CRITICAL, ["widened"]),
    ("same policy, new version", version(NARROW), version(NARROW, 2), CHANGED, INFO, []),
    ("removed", version(NARROW), None, CHANGED, HIGH, []),
]


@pytest.mark.parametrize(
    ("name", "before", "after", "alert_type", "severity", "findings"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_every_change_is_alerted_at_its_severity(
    name: str,
    before: Declared | None,
    after: Declared | None,
    alert_type: AlertType,
    severity: Severity,
    findings: list[str],
) -> None:
    change = DeclarationChange.of(
        stream_image(before) if before else None, stream_image(after) if after else None
    )
    assert change.before == before and change.after == after  # the images read back whole
    alert = change_alert(change, START)
    assert (alert.type, alert.severity) == (alert_type, severity)
    (resource,) = alert.resources
    assert resource.arn == ARN and resource.findings == findings
    assert alert.actor == (after or before).declared_by  # type: ignore[union-attr]


def test_a_widening_shows_what_it_grants() -> None:
    change = DeclarationChange(ARN, version(NARROW), version(WIDE, 2))
    alert = change_alert(change, START)
    assert Finding.WIDENED.value in alert.resources[0].findings
    assert any(OUTSIDER in line for line in alert.resources[0].diff["summary"])


@pytest.mark.parametrize(
    ("old", "new"),
    [(None, None), (None, {"pk": "RES#x", "sk": "DECLARED", "policy": 3}), (None, {"sk": "x"})],
)
def test_an_unreadable_image_is_an_invalid_event(old: Any, new: Any) -> None:
    with pytest.raises(InvalidEventError):
        DeclarationChange.of(old, new)


class Watch:
    def __init__(self) -> None:
        self.publisher = FakePublisher()
        self.rechecks = FakeRechecks()
        self.watch = DeclarationWatch(SIGNATURES, self.publisher, self.rechecks, FakeClock())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "forge",
    [
        lambda d: dataclasses.replace(d, policy=WIDE),
        lambda d: dataclasses.replace(d, signature=""),
        lambda d: FakeSignatures(b"someone else's key").sign(d),
        lambda d: SIGNATURES.sign(dataclasses.replace(d, arn=ARN.replace("0f6a", "9999"))),
    ],
    ids=["policy-changed", "unsigned", "other-key", "copied"],
)
def test_a_forged_change_is_left_to_the_check_that_refuses_it(forge: Any) -> None:
    """One alert per forgery: the check's (DECLARATION_REFUSED, critical), not two."""
    subject = Watch()
    forged = forge(version(NARROW, 2))
    assert subject.watch.on_change(DeclarationChange(ARN, version(NARROW), forged)) is None
    assert subject.publisher.alerts == []
    ((recheck, delay),) = subject.rechecks.scheduled
    assert recheck.arns == (ARN,) and delay == 0
    assert recheck.trigger is TriggerKind.DECLARATION_CHANGED


def test_a_signed_change_is_alerted_and_checked_at_once() -> None:
    subject = Watch()
    change = DeclarationChange(ARN, version(NARROW), version(WIDE, 2))
    assert subject.watch.on_change(change) is CHANGED
    (alert,) = subject.publisher.alerts
    assert alert.severity is CRITICAL
    ((recheck, delay),) = subject.rechecks.scheduled
    assert recheck.arns == (ARN,) and delay == 0


def test_a_removal_is_alerted_and_nothing_is_checked() -> None:
    subject = Watch()
    assert subject.watch.on_change(DeclarationChange(ARN, version(NARROW), None)) is CHANGED
    assert subject.publisher.alerts[0].severity is HIGH
    assert subject.rechecks.scheduled == []
