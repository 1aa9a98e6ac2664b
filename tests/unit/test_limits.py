"""What AWS will not store or send is cut to fit, saying what was cut: a history entry
under DynamoDB's 400 KB item limit, an alert under SNS's 256 KB message limit."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from driftguard.alerts import MAX_ALERT_BYTES, compose_alert
from driftguard.arns import Arn
from driftguard.classify import Classification
from driftguard.decision import Decision, Observation, Rules, decide
from driftguard.dlq import MAX_BODY_BYTES, DeadLetterQueue
from driftguard.errors import InvalidEventError
from driftguard.kinds import Target
from driftguard.model import AuditEntry, Trigger
from driftguard.notify.blocks import build_message, fallback_text
from driftguard.policy import PolicyDiff
from driftguard.state import MAX_AUDIT_BYTES, fit_audit
from driftguard.vocabulary import AuditAction, Finding, Mode, TriggerKind
from tests.support.fakes import START, FakePolicies, declaration

RULES = Rules(quarantine_threshold=3, quarantine_window=timedelta(hours=1))
ROLE = "arn:aws:iam::111111111111:role/pod-role"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ROLE},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        ],
    }
)
# What a widening by 60 accounts looks like in a diff's summary.
LONG_SUMMARY = [f"+ grant Allow arn:aws:iam::{n:012d}:root kms:{n} on *" for n in range(60 * 40)]


def test_a_history_entry_with_a_huge_diff_fits_an_item_and_says_what_it_cut() -> None:
    entry = AuditEntry(
        arn="arn:aws:kms:us-east-1:333333333333:key/1",
        at=START,
        action=AuditAction.RESTORED,
        status="in-sync",
        diff={"summary": LONG_SUMMARY, "added_statements": [{"x": "y" * 1000}] * 400},
    )
    assert len(json.dumps(entry.diff)) > 400_000

    fitted = fit_audit(entry)

    assert len(json.dumps(fitted.diff)) < MAX_AUDIT_BYTES
    assert fitted.diff["truncated"] is True
    assert fitted.diff["summary"] == LONG_SUMMARY[: len(fitted.diff["summary"])]
    assert fitted.diff["omitted_lines"] == len(LONG_SUMMARY) - len(fitted.diff["summary"])
    assert fit_audit(fitted) == fitted
    small = AuditEntry(arn="a", at=START, action=AuditAction.DECLARED, status="in-sync")
    assert fit_audit(small) is small


def widened(n: int) -> Decision:
    arn = f"arn:aws:fake:us-east-1:111111111111:thing/{n:05d}"
    diff = PolicyDiff(added_principals=frozenset(line[7:40] for line in LONG_SUMMARY[:50]))
    observation = Observation(
        Target(Arn.parse(arn), FakePolicies()),
        declaration(arn, POLICY, principals=(ROLE,), mode=Mode.DETECT),
        None,
        classification=Classification(frozenset({Finding.WIDENED}), diff),
        live_digest="d",
    )
    step = decide(
        observation, trigger=Trigger(kind=TriggerKind.SWEEP), missing=(), now=START, rules=RULES
    )
    assert isinstance(step, Decision)
    return step


def test_an_alert_listing_thousands_of_resources_fits_an_sns_message() -> None:
    decisions = [widened(n) for n in range(3000)]

    alert = compose_alert(decisions, decisions[0].trigger, role=ROLE, now=START)

    assert len(alert.model_dump_json()) <= MAX_ALERT_BYTES < 256 * 1024
    assert alert.resources and alert.omitted == 3000 - len(alert.resources)
    message = build_message(alert)
    assert "3000 resources" in fallback_text(alert)
    shown = json.dumps(message.payload())
    assert f"{alert.omitted + len(alert.resources) - 1}" in shown or "more resource" in shown


def test_an_alert_cuts_each_list_of_a_diff_to_its_first_lines() -> None:
    (decision,) = [widened(1)]
    assert len(decision.observation.diff["added_principals"]) == 50

    alert = compose_alert([decision], decision.trigger, role=None, now=START)

    (resource,) = alert.resources
    assert len(resource.diff["added_principals"]) == 40  # the whole diff is in the history
    assert resource.diff["added_principals"] == decision.observation.diff["added_principals"][:40]
    assert 0 < len(resource.diff["summary"]) <= 40


def test_an_event_too_large_for_sqs_is_parked_as_json_with_its_size() -> None:
    sent: list[dict[str, Any]] = []

    class Sqs:
        def send_message(self, **kwargs: Any) -> None:
            sent.append(kwargs)

    event = {"detail": {"requestParameters": {"keyId": "k" * 300_000}}}
    DeadLetterQueue(lambda: Sqs(), "queue").park(event, InvalidEventError("too big"))

    (message,) = sent
    assert len(message["MessageBody"].encode()) <= MAX_BODY_BYTES
    kept = json.loads(message["MessageBody"])
    assert kept["bytes"] == len(json.dumps(event).encode())
    assert kept["truncatedEvent"].startswith('{"detail"')
    assert message["MessageAttributes"]["truncated"]["StringValue"] == str(kept["bytes"])
    assert message["MessageAttributes"]["reason"]["StringValue"] == "too big"
