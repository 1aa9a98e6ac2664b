"""The notifier against a real HTTP receiver on 127.0.0.1 (`LocalSlack`).

Alerts reach it the way they do in AWS: published to the alert topic, delivered
by the sandbox's SNS -> Lambda routing from template.yaml, retried by "Lambda"
twice, then kept on NotifierDeadLetterQueue.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import SnsModel

from driftguard.alerts import Alert, AlertPublisher, AlertResource
from driftguard.observability import logger as function_logger
from driftguard.vocabulary import AlertType, Severity
from driftguard_cli import main as cli
from driftguard_sandbox.router import Delivery
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.slack import LocalSlack, SlackReply
from driftguard_sandbox.story import POD_ROLE_ARN, Story

NOTIFIER = "NotifierFunction"


@pytest.fixture
def slack(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSlack]:
    # Short delivery knobs (read only when set; Lambda runs on the validated defaults).
    # The sandbox's functions run in this process, so they see this environment.
    monkeypatch.setenv("SLACK_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("SLACK_RETRY_BACKOFF_SECONDS", "0.05")
    with LocalSlack() as receiver:
        sandbox.use_slack(receiver)
        yield receiver
        sandbox.wait_idle()


def an_alert(title: str = "Restored: arn:aws:kms:us-east-1:333333333333:key/1") -> Alert:
    return Alert(
        type=AlertType.RESTORED,
        severity=Severity.CRITICAL,
        title=title,
        summary="1 resource put back to the declared policy after PutKeyPolicy by mallory.",
        resources=[
            AlertResource(
                arn="arn:aws:kms:us-east-1:333333333333:key/1",
                kind="kms-key",
                account="333333333333",
                region="us-east-1",
                status="remediated",
                findings=["widened"],
                diff={"summary": ["+ principal arn:aws:iam::444455556666:root"]},
                console_url="https://us-east-1.console.aws.amazon.com/kms/home#/kms/keys/1",
            )
        ],
        actor="arn:aws:sts::333333333333:assumed-role/Developer/mallory",
        event_name="PutKeyPolicy",
        detected_at=datetime.now(UTC),
        time_to_fix_seconds=2.5,
    )


def publish(sandbox: Sandbox, alert: Alert) -> str:
    """What the remediation functions do: the real publisher, to the real topic."""
    sns = sandbox.hub_client("sns")
    message_id = AlertPublisher(lambda: sns, sandbox.hub.topic_arn).publish(alert)
    sandbox.wait_idle(timeout=60)
    return message_id


def notifier_deliveries(sandbox: Sandbox) -> list[Delivery]:
    return [d for d in sandbox.deliveries if d.function == NOTIFIER]


def statuses(slack: LocalSlack) -> list[int]:
    return [post.status for post in slack.posts]


def test_a_deleted_role_is_one_slack_message_listing_both_resources(
    sandbox: Sandbox, slack: LocalSlack
) -> None:
    story = Story.create(sandbox)
    for arn in (story.key_arn, story.secret_arn):
        assert cli.main(["adopt", arn, "--mode", "enforce"], out=io.StringIO()) == cli.EXIT_OK
    sandbox.wait_idle()
    # Setting up is not an incident: two messages saying what was declared.
    texts = [str((p.payload or {}).get("text", "")) for p in slack.posts]
    assert [t.split(": ")[:2] for t in texts] == [["INFO", "Declaration changed"]] * 2
    slack.clear()

    story.delete_pod_role()
    sandbox.wait_idle(timeout=60)

    (message,) = slack.messages
    assert statuses(slack) == [200]
    assert message["blocks"][0]["text"]["text"].endswith(f"Orphaned principal: {POD_ROLE_ARN}")
    dumped = json.dumps(message)
    for arn in (story.key_arn, story.secret_arn):
        assert f"`{arn}`" in dumped
    assert "https://us-east-1.console.aws.amazon.com/kms/" in dumped
    assert "https://us-east-1.console.aws.amazon.com/secretsmanager/" in dumped
    assert story.pod_role_id in dumped  # the unique ID now in both policies
    *declared, delivery = notifier_deliveries(sandbox)
    assert len(declared) == 2 and delivery.ok and delivery.attempts == 1


def test_the_notifier_gets_the_event_sns_gives_lambda(sandbox: Sandbox, slack: LocalSlack) -> None:
    alert = an_alert()
    message_id = publish(sandbox, alert)

    (delivery,) = notifier_deliveries(sandbox)
    assert delivery.rule == "sns:driftguard-AlertTopic"
    (record,) = parse(event=delivery.event, model=SnsModel).Records
    assert record.EventSubscriptionArn.startswith(sandbox.hub.topic_arn + ":")
    assert record.Sns.MessageId == message_id
    assert record.Sns.TopicArn == sandbox.hub.topic_arn
    assert record.Sns.Subject == alert.title
    assert Alert.model_validate_json(str(record.Sns.Message)) == alert
    attributes = record.Sns.MessageAttributes or {}
    assert attributes["alert_type"].Value == "restored"
    assert attributes["severity"].Value == "critical"
    assert delivery.result == {"status": "ok", "posted": [alert.title]}
    (message,) = slack.messages
    assert message["blocks"][0]["text"]["text"].startswith(":red_circle: CRITICAL")


def test_rate_limited_then_ok_is_delivered_once(sandbox: Sandbox, slack: LocalSlack) -> None:
    slack.script(SlackReply.rate_limited(retry_after=1))
    publish(sandbox, an_alert())

    first, second = slack.posts
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0  # Retry-After honoured
    assert len(slack.messages) == 1
    (delivery,) = notifier_deliveries(sandbox)
    assert delivery.ok and delivery.attempts == 1  # retried by the client, not by Lambda


def test_a_server_error_is_retried(sandbox: Sandbox, slack: LocalSlack) -> None:
    slack.script(SlackReply.server_error(500), SlackReply.server_error(503))
    publish(sandbox, an_alert())

    assert statuses(slack) == [500, 503, 200]
    assert len(slack.messages) == 1
    assert notifier_deliveries(sandbox)[0].ok
    assert sandbox.drain_queue("NotifierDeadLetterQueue") == []


def test_persistent_server_errors_end_on_the_notifier_dlq(
    sandbox: Sandbox, slack: LocalSlack
) -> None:
    slack.always(SlackReply.server_error())
    alert = an_alert()
    publish(sandbox, alert)

    (delivery,) = notifier_deliveries(sandbox)
    assert delivery.error == "SlackDeliveryError: Slack answered 500 'internal_error'"
    assert delivery.attempts == 3 and delivery.dead_lettered
    # 3 Lambda attempts x (1 try + 2 client retries): nothing was silently dropped.
    assert statuses(slack) == [500] * 9
    assert slack.messages == []
    (kept,) = sandbox.drain_queue("NotifierDeadLetterQueue")
    event = json.loads(kept["Body"])
    assert event == delivery.event  # the SNS event as is, so it can be replayed
    assert Alert.model_validate_json(event["Records"][0]["Sns"]["Message"]) == alert
    attributes = kept["MessageAttributes"]
    assert attributes["ErrorMessage"]["StringValue"] == delivery.error
    assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}


def test_a_timeout_ends_on_the_notifier_dlq(sandbox: Sandbox, slack: LocalSlack) -> None:
    slack.always(SlackReply.hang(5))  # SLACK_TIMEOUT_SECONDS is 1 here
    publish(sandbox, an_alert())

    (delivery,) = notifier_deliveries(sandbox)
    assert delivery.error is not None
    assert delivery.error.startswith("SlackDeliveryError: Slack webhook unreachable")
    assert "timed out" in delivery.error
    assert delivery.dead_lettered
    # A read timeout is not retried by the client (Slack may have posted it): one
    # post per Lambda attempt.
    assert len(slack.posts) == 3
    assert len(sandbox.drain_queue("NotifierDeadLetterQueue")) == 1


def test_a_revoked_webhook_ends_on_the_notifier_dlq(sandbox: Sandbox, slack: LocalSlack) -> None:
    slack.always(SlackReply.no_service())
    publish(sandbox, an_alert())

    (delivery,) = notifier_deliveries(sandbox)
    assert delivery.error == "SlackDeliveryError: Slack answered 404 'no_service'"
    assert statuses(slack) == [404] * 3  # a 404 is not retried by the client
    assert len(sandbox.drain_queue("NotifierDeadLetterQueue")) == 1


def test_a_message_that_is_not_an_alert_ends_on_the_dlq_with_a_clear_error(
    sandbox: Sandbox, slack: LocalSlack, caplog: pytest.LogCaptureFixture
) -> None:
    sns = sandbox.hub_client("sns")
    with captured_function_logs(caplog):
        sns.publish(TopicArn=sandbox.hub.topic_arn, Message='{"hello": "world"}')
        sandbox.wait_idle()

    (delivery,) = notifier_deliveries(sandbox)
    assert delivery.error is not None
    assert delivery.error.startswith("InvalidEventError: SNS message ")
    assert "is not a driftguard alert: type: Field required" in delivery.error
    assert len(sandbox.drain_queue("NotifierDeadLetterQueue")) == 1
    assert slack.posts == []
    # (A record reaches caplog once per logger it passes; count each once.)
    rejected = list(
        {
            id(r): r
            for r in caplog.records
            if r.pathname.endswith("notifier/app.py") and "not a driftguard alert" in r.getMessage()
        }.values()
    )
    assert len(rejected) == 3  # one per Lambda attempt
    assert all(r.levelno == logging.ERROR for r in rejected)
    assert "is not a driftguard alert" in str(vars(rejected[0]))  # the reason, logged


def test_the_webhook_url_never_appears_in_logs_errors_or_dlq(
    sandbox: Sandbox,
    slack: LocalSlack,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = slack.path.rsplit("/", 1)[1]
    with captured_function_logs(caplog):
        slack.script(SlackReply.server_error(), SlackReply.rate_limited(retry_after=1))
        publish(sandbox, an_alert("delivered after a 500 and a 429"))
        slack.always(SlackReply.server_error())
        publish(sandbox, an_alert("never delivered"))
        slack.always(SlackReply.hang(5))
        publish(sandbox, an_alert("timed out"))

    assert len(slack.messages) == 1 and len(notifier_deliveries(sandbox)) == 3
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "alert posted to Slack" in logged and "Slack answered 500" in logged
    out, err = capsys.readouterr()
    recorded = json.dumps([(d.error, d.result) for d in sandbox.deliveries], default=str)
    dlq = json.dumps(sandbox.drain_queue("NotifierDeadLetterQueue"))
    for place in (logged, caplog.text, out, err, recorded, dlq):
        assert token not in place
        assert slack.url not in place


def test_without_a_receiver_alerts_do_not_reach_the_notifier(sandbox: Sandbox) -> None:
    publish(sandbox, an_alert())

    assert sandbox.slack is None
    assert notifier_deliveries(sandbox) == []
    assert sandbox.drain_queue("NotifierDeadLetterQueue") == []


class captured_function_logs:
    """Everything the functions log, at DEBUG, into caplog: Powertools' logger (which
    does not propagate to the root logger) and every other logger (root)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.loggers = [logging.getLogger(function_logger.name), logging.getLogger("driftguard")]

    def __enter__(self) -> None:
        self.levels = [function_logger.log_level]
        function_logger.setLevel(logging.DEBUG)
        for each in self.loggers:
            each.addHandler(self.caplog.handler)
        self.caplog.set_level(logging.DEBUG)

    def __exit__(self, *exc: object) -> None:
        for each in self.loggers:
            each.removeHandler(self.caplog.handler)
        function_logger.setLevel(self.levels[0])
