"""The notifier's pure parts: configuration, SNS parsing, Slack's answers, redaction.

Real HTTP against a local receiver is in tests/functional/test_notifier.py."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookResponse

from driftguard.alerts import Alert, AlertResource
from driftguard.errors import ConfigError, InvalidEventError, SlackDeliveryError
from driftguard.notify.slack import (
    REDACTED,
    NotifierConfig,
    SlackNotifier,
    _BoundedRateLimitRetryHandler,
    _client_logger,
    check_webhook_url,
    parse_alerts,
    retry_handlers,
)
from driftguard.vocabulary import AlertType, Severity
from driftguard_sandbox.sns import SnsPublish

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:333333333333:secret:driftguard/slack-webhook"
URL = "https://hooks.slack.com/services/T0000/B0000/sEcReTtOkEn"
TOPIC = "arn:aws:sns:us-east-1:333333333333:driftguard-AlertTopic"


def an_alert() -> Alert:
    return Alert(
        type=AlertType.RESTORED,
        severity=Severity.INFO,
        title="Restored: arn:aws:kms:us-east-1:333333333333:key/1",
        summary="1 resource put back.",
        resources=[
            AlertResource(
                arn="arn:aws:kms:us-east-1:333333333333:key/1",
                kind="kms-key",
                account="333333333333",
                region="us-east-1",
                status="remediated",
            )
        ],
        detected_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def sns_event(message: str) -> dict[str, Any]:
    published = SnsPublish(
        topic_arn=TOPIC,
        message_id="11111111-2222-3333-4444-555555555555",
        message=message,
        subject="Restored",
        attributes={"alert_type": {"Type": "String", "Value": "restored"}},
        timestamp=datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC),
    )
    return published.lambda_event(f"{TOPIC}:0000")


# --------------------------------------------------------------------------- config


def test_config_needs_the_secret_arn_and_has_lambda_defaults() -> None:
    config = NotifierConfig.from_env({"SLACK_WEBHOOK_SECRET_ARN": SECRET_ARN})
    assert config.webhook_secret_arn == SECRET_ARN
    assert (config.timeout_seconds, config.max_retries, config.secret_max_age_seconds) == (
        10,
        2,
        300,
    )
    with pytest.raises(ConfigError, match="SLACK_WEBHOOK_SECRET_ARN"):
        NotifierConfig.from_env({})
    with pytest.raises(ConfigError, match="SLACK_WEBHOOK_SECRET_ARN"):
        NotifierConfig.from_env({"SLACK_WEBHOOK_SECRET_ARN": "driftguard/slack-webhook"})


@pytest.mark.parametrize(
    ("name", "value"),
    [("SLACK_TIMEOUT_SECONDS", "0"), ("SLACK_MAX_RETRIES", "9"), ("SLACK_TIMEOUT_SECONDS", "x")],
)
def test_config_knobs_are_validated(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        NotifierConfig.from_env({"SLACK_WEBHOOK_SECRET_ARN": SECRET_ARN, name: value})


def test_webhook_url_must_be_https_or_a_local_receiver() -> None:
    assert check_webhook_url(f" {URL}\n", SECRET_ARN) == URL
    assert check_webhook_url("http://127.0.0.1:8080/services/x", SECRET_ARN)
    assert check_webhook_url("http://localhost/services/x", SECRET_ARN)
    for bad in ("http://hooks.slack.com/services/T/B/leaked", "ftp://x/leaked", "leaked", None):
        with pytest.raises(ConfigError) as raised:
            check_webhook_url(bad, SECRET_ARN)
        assert "leaked" not in str(raised.value) and SECRET_ARN in str(raised.value)


# --------------------------------------------------------------------------- SNS


def test_parse_alerts_reads_the_alert_out_of_the_sns_record() -> None:
    subject = an_alert()
    assert parse_alerts(sns_event(subject.model_dump_json())) == [subject]


def test_a_message_that_is_not_an_alert_is_a_clear_error() -> None:
    with pytest.raises(InvalidEventError) as raised:
        parse_alerts(sns_event(json.dumps({"type": "restored"})))
    message = str(raised.value)
    assert "SNS message 11111111-2222-3333-4444-555555555555 is not a driftguard alert" in message
    assert "severity: Field required" in message
    with pytest.raises(InvalidEventError, match="not a driftguard alert"):
        parse_alerts(sns_event("not json"))


def test_an_event_that_is_not_sns_is_a_clear_error() -> None:
    with pytest.raises(InvalidEventError, match="not an SNS notification event: Records"):
        parse_alerts({"detail-type": "Scheduled Event"})


# --------------------------------------------------------------------------- delivery


class FakeSecrets:
    def __init__(self, value: str = URL) -> None:
        self.value = value
        self.calls: list[dict[str, Any]] = []

    def get(self, name: str, **options: Any) -> str:
        self.calls.append({"name": name, **options})
        return self.value


class FakeClient:
    def __init__(self, answer: WebhookResponse | Exception) -> None:
        self.answer = answer
        self.sent: list[dict[str, Any]] = []

    def send_dict(self, body: dict[str, Any]) -> WebhookResponse:
        self.sent.append(body)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def notifier_with(
    answer: WebhookResponse | Exception, secrets: FakeSecrets | None = None
) -> tuple[SlackNotifier, FakeClient, FakeSecrets]:
    client = FakeClient(answer)
    secrets = secrets or FakeSecrets()
    created: list[dict[str, Any]] = []

    def factory(url: str, **options: Any) -> FakeClient:
        created.append({"url": url, **options})
        return client

    config = NotifierConfig.from_env({"SLACK_WEBHOOK_SECRET_ARN": SECRET_ARN})
    notifier = SlackNotifier(config, secrets, client_factory=factory)  # type: ignore[arg-type]
    return notifier, client, secrets


def response(status: int, body: str) -> WebhookResponse:
    return WebhookResponse(url=URL, status_code=status, body=body, headers={})


def test_ok_posts_one_message_read_with_the_cached_secret() -> None:
    notifier, client, secrets = notifier_with(response(200, "ok"))
    delivered = notifier.send(an_alert())
    notifier.send(an_alert())
    assert delivered.alert_type == "restored" and delivered.resources == 1
    assert len(client.sent) == 2 and client.sent[0]["blocks"][0]["type"] == "header"
    assert secrets.calls[0] == {"name": SECRET_ARN, "max_age": 300, "force_fetch": False}


@pytest.mark.parametrize(("status", "body"), [(500, "internal_error"), (404, "no_service")])
def test_anything_but_200_ok_raises_and_refetches_the_secret(status: int, body: str) -> None:
    notifier, _, secrets = notifier_with(response(status, body))
    with pytest.raises(SlackDeliveryError) as raised:
        notifier.send(an_alert())
    assert raised.value.status_code == status and raised.value.body == body
    assert str(raised.value) == f"Slack answered {status} {body!r}"
    # A rotated or revoked webhook: the next attempt reads the secret again.
    with pytest.raises(SlackDeliveryError):
        notifier.send(an_alert())
    assert secrets.calls[-1]["force_fetch"] is True


def test_a_200_that_is_not_ok_is_not_delivered() -> None:
    notifier, _, _ = notifier_with(response(200, "invalid_blocks"))
    with pytest.raises(SlackDeliveryError, match="invalid_blocks"):
        notifier.send(an_alert())


def test_an_unreachable_slack_raises_without_the_url() -> None:
    notifier, _, _ = notifier_with(OSError(f"cannot reach {URL}"))
    with pytest.raises(SlackDeliveryError) as raised:
        notifier.send(an_alert())
    assert "sEcReTtOkEn" not in str(raised.value)
    assert str(raised.value) == f"Slack webhook unreachable (OSError: cannot reach {REDACTED})"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_secret_that_is_not_a_url_is_a_config_error_without_its_value() -> None:
    notifier, _, _ = notifier_with(response(200, "ok"), FakeSecrets("xoxb-sEcReTtOkEn"))
    with pytest.raises(ConfigError) as raised:
        notifier.send(an_alert())
    assert "sEcReTtOkEn" not in str(raised.value)


def test_the_client_gets_the_timeout_and_the_three_retry_handlers() -> None:
    config = NotifierConfig.from_env(
        {"SLACK_WEBHOOK_SECRET_ARN": SECRET_ARN, "SLACK_MAX_RETRIES": "3"}
    )
    names = [type(h).__name__ for h in retry_handlers(config)]
    assert names == [
        "ConnectionErrorRetryHandler",
        "_BoundedRateLimitRetryHandler",
        "ServerErrorRetryHandler",
    ]
    assert all(h.max_retry_count == 3 for h in retry_handlers(config))


@pytest.mark.parametrize(("retry_after", "retried"), [("1", True), ("15", True), ("120", False)])
def test_retry_after_is_honoured_only_within_the_functions_time(
    retry_after: str, retried: bool
) -> None:
    handler = _BoundedRateLimitRetryHandler(max_retry_count=2, max_wait_seconds=15)
    request = HttpRequest(method="POST", url=URL, headers={}, body_params=None, data=b"{}")
    rate_limited = HttpResponse(status_code=429, headers={"retry-after": [retry_after]})
    assert handler.can_retry(state=RetryState(), request=request, response=rate_limited) is retried


def test_the_client_logger_redacts_urls_and_stays_quiet(caplog: pytest.LogCaptureFixture) -> None:
    client_logger = _client_logger()
    assert client_logger.level == logging.WARNING  # slack_sdk logs the URL at DEBUG/INFO
    # Directly: in Lambda its parent is Powertools' "driftguard" logger, which does not
    # propagate to the root logger caplog listens on.
    client_logger.addHandler(caplog.handler)
    try:
        client_logger.error("Failed to send a request to %s", URL)
        client_logger.info(f"Going to retry the same request: POST {URL}")
    finally:
        client_logger.removeHandler(caplog.handler)
    assert "sEcReTtOkEn" not in caplog.text
    assert f"Failed to send a request to {REDACTED}" in caplog.text
