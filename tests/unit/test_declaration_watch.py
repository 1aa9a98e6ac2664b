"""Every change to a declaration is alerted (driftguard.declaration_watch), as a table."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from driftguard.declaration_watch import DeclarationChange, change_alert
from driftguard.errors import InvalidEventError
from driftguard.model import Declared
from driftguard.state import _to_dynamo
from driftguard.vocabulary import AlertType, Finding, Severity
from tests.support.fakes import START, declaration

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
    return dataclasses.replace(declaration(ARN, text, principals=(ROLE,)), version=number)


def stream_image(declared: Declared) -> dict[str, Any]:
    """The item as the stream carries it, deserialized as the handler sees it."""
    item = {"pk": f"RES#{declared.arn}", "sk": "DECLARED"} | _to_dynamo(declared)
    wire = {k: TypeSerializer().serialize(v) for k, v in item.items()}
    return {k: TypeDeserializer().deserialize(v) for k, v in wire.items()}


NARROW, WIDE = policy(ROLE), policy(ROLE, OUTSIDER)

CHANGED, REFUSED = AlertType.DECLARATION_CHANGED, AlertType.DECLARATION_REFUSED
INFO, HIGH, CRITICAL = Severity.INFO, Severity.HIGH, Severity.CRITICAL
PUBLIC = policy(ROLE, public=True)
FORGED = "signature does not verify"

# name, before, after, why it is refused -> alert type, severity, findings
CASES = [
    ("first declaration", None, version(NARROW), None, CHANGED, INFO, []),
    ("first, public", None, version(PUBLIC), None, CHANGED, CRITICAL, ["widened"]),
    ("narrowed", version(WIDE), version(NARROW, 2), None, CHANGED, INFO, []),
    ("widened", version(NARROW), version(WIDE, 2), None, CHANGED, CRITICAL, ["widened"]),
    ("same policy, new version", version(NARROW), version(NARROW, 2), None, CHANGED, INFO, []),
    ("removed", version(NARROW), None, None, CHANGED, HIGH, []),
    ("forged, narrowing", version(WIDE), version(NARROW, 2), FORGED, REFUSED, CRITICAL, []),
    ("forged, first", None, version(WIDE), "not signed", REFUSED, CRITICAL, []),
]


@pytest.mark.parametrize(
    ("name", "before", "after", "refused", "alert_type", "severity", "findings"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_every_change_is_alerted_at_its_severity(
    name: str,
    before: Declared | None,
    after: Declared | None,
    refused: str | None,
    alert_type: AlertType,
    severity: Severity,
    findings: list[str],
) -> None:
    change = DeclarationChange.of(
        stream_image(before) if before else None, stream_image(after) if after else None
    )
    assert change.before == before and change.after == after  # the images read back whole
    alert = change_alert(change, refused, START)
    assert (alert.type, alert.severity) == (alert_type, severity)
    (resource,) = alert.resources
    assert resource.arn == ARN and resource.findings == findings
    if refused:
        assert refused in resource.reason and refused in alert.summary
    assert alert.actor == (after or before).declared_by  # type: ignore[union-attr]


def test_a_widening_shows_what_it_grants() -> None:
    change = DeclarationChange(ARN, version(NARROW), version(WIDE, 2))
    alert = change_alert(change, None, START)
    assert Finding.WIDENED.value in alert.resources[0].findings
    assert any(OUTSIDER in line for line in alert.resources[0].diff["summary"])


@pytest.mark.parametrize(
    ("old", "new"),
    [(None, None), (None, {"pk": "RES#x", "sk": "DECLARED", "policy": 3}), (None, {"sk": "x"})],
)
def test_an_unreadable_image_is_an_invalid_event(old: Any, new: Any) -> None:
    with pytest.raises(InvalidEventError):
        DeclarationChange.of(old, new)
