"""Posting alerts to a Slack incoming webhook, and reading them off SNS.

The webhook URL is a credential (anyone holding it can post to the channel), so:
it lives in Secrets Manager and is read through Powertools Parameters with a
cache; it is never logged, never put in an exception message, and kept out of
X-Ray traces (the Tracer's httplib patch would record the full URL).

Delivery is slack_sdk's `WebhookClient` with its retry handlers (connection
errors, 429 with Retry-After, 500/503). Slack's answer is checked, because the
client does not raise on HTTP errors: anything but `200 ok` after the retries is
a `SlackDeliveryError`, so Lambda retries the invocation and then keeps the
alert on the notifier's dead-letter queue. Nothing is dropped silently.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import SnsModel
from pydantic import Field, ValidationError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient, WebhookResponse

from driftguard.alerts import Alert
from driftguard.aws import BOTO_CONFIG, new_session
from driftguard.config import EnvSettings
from driftguard.errors import ConfigError, InvalidEventError, SlackDeliveryError
from driftguard.events import brief
from driftguard.notify.blocks import SlackMessage, build_message

__all__ = [
    "MAX_RETRY_AFTER_SECONDS",
    "NotifierConfig",
    "SlackNotifier",
    "parse_alerts",
    "retry_handlers",
]

SECRET_ARN_PATTERN: Final = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$"
# A Retry-After longer than this is not waited for inside the invocation (the
# function has 60 s): the 429 becomes a SlackDeliveryError and Lambda's own
# asynchronous retry, minutes later, tries again.
MAX_RETRY_AFTER_SECONDS: Final = 15
_LOOPBACK_NAMES: Final = frozenset({"localhost"})
_URL: Final = re.compile(r"\bhttps?://\S+")
_SECRET_STRING: Final = re.compile(r'("SecretString"\s*:\s*)"(?:[^"\\]|\\.)*"')
REDACTED: Final = "<slack-webhook-url>"


class NotifierConfig(EnvSettings):
    """The notifier's settings, validated once per container (cold start).

    The secret ARN has no default: template.yaml sets it. The delivery knobs
    default to what the Lambda function uses, and are read only when present
    (template.yaml does not set them; the tests shorten them): 10 s per attempt
    and 2 retries keep the worst case (3 attempts, backoff, a Retry-After of at
    most MAX_RETRY_AFTER_SECONDS) inside the function's 60 s timeout.
    """

    webhook_secret_arn: str = Field(alias="SLACK_WEBHOOK_SECRET_ARN", pattern=SECRET_ARN_PATTERN)
    timeout_seconds: int = Field(default=10, alias="SLACK_TIMEOUT_SECONDS", ge=1, le=30)
    max_retries: int = Field(default=2, alias="SLACK_MAX_RETRIES", ge=0, le=5)
    retry_backoff_seconds: float = Field(
        default=0.5, alias="SLACK_RETRY_BACKOFF_SECONDS", gt=0, le=10
    )
    # Powertools Parameters' default cache age: a rotated webhook is picked up
    # within 5 minutes, and at once after a failed post (the cache is dropped).
    secret_max_age_seconds: int = Field(
        default=300, alias="SLACK_SECRET_MAX_AGE_SECONDS", ge=0, le=3600
    )


# --------------------------------------------------------------------------- SNS -> alerts


def parse_alerts(event: Any) -> list[Alert]:
    """The alerts in an SNS event (Lambda gets one record per invocation).

    Raises InvalidEventError, naming the SNS message, for anything that is not
    an SNS notification carrying a driftguard alert."""
    try:
        records = parse(event=event, model=SnsModel).Records
    except (ValidationError, ValueError, TypeError) as exc:
        raise InvalidEventError(f"not an SNS notification event: {brief(exc)}") from None
    alerts: list[Alert] = []
    for record in records:
        message, message_id = record.Sns.Message, record.Sns.MessageId
        if not isinstance(message, str):  # pragma: no cover - only str comes from JSON
            raise InvalidEventError(f"SNS message {message_id} has no text body")
        try:
            alerts.append(Alert.model_validate_json(message))
        except ValidationError as exc:
            raise InvalidEventError(
                f"SNS message {message_id} is not a driftguard alert: {brief(exc)}"
            ) from None
    return alerts


# --------------------------------------------------------------------------- retries


class _ProportionalJitter(Jitter):
    """Up to 100% extra, so a short backoff stays short (slack_sdk's default
    adds up to a whole second to every wait)."""

    def recalculate(self, duration: float) -> float:
        return duration + random.uniform(0, duration)


class _BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Honours Retry-After, but only a wait the invocation can afford."""

    def __init__(self, max_retry_count: int, max_wait_seconds: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None  # a 429 is a response
        values = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), [])
        try:
            wait = float(values[0]) if values else 1.0
        except ValueError:
            wait = 1.0
        return wait <= self.max_wait_seconds


def retry_handlers(config: NotifierConfig) -> list[RetryHandler]:
    """Connection errors (refused, reset), 429 (Retry-After) and 500/503.

    A read timeout is not retried here: Slack may have posted the message, and
    Lambda's asynchronous retry will try again anyway."""
    backoff = BackoffRetryIntervalCalculator(
        backoff_factor=config.retry_backoff_seconds, jitter=_ProportionalJitter()
    )
    retries = config.max_retries
    return [
        ConnectionErrorRetryHandler(max_retry_count=retries, interval_calculator=backoff),
        _BoundedRateLimitRetryHandler(retries, MAX_RETRY_AFTER_SECONDS),
        ServerErrorRetryHandler(max_retry_count=retries, interval_calculator=backoff),
    ]


# --------------------------------------------------------------------------- redaction


class _RedactUrls(logging.Filter):
    """slack_sdk logs the request URL (at INFO on a retry, at DEBUG always)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _URL.sub(REDACTED, record.getMessage())
        record.args = None
        return True


class _RedactSecretStrings(logging.Filter):
    """botocore logs every response body at DEBUG, GetSecretValue's included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "SecretString" in message:
            record.msg = _SECRET_STRING.sub(rf'\1"{REDACTED}"', message)
            record.args = None
        return True


def _guard_botocore_debug_logs() -> None:
    """Someone debugging with botocore at DEBUG must not print the webhook URL."""
    parsers = logging.getLogger("botocore.parsers")
    if not any(isinstance(f, _RedactSecretStrings) for f in parsers.filters):
        parsers.addFilter(_RedactSecretStrings())


def _client_logger() -> logging.Logger:
    """The logger handed to WebhookClient: WARNING and up, URLs redacted.

    slack_sdk decides whether to build its URL-bearing debug lines from this
    logger's own level, so it must not be left at NOTSET."""
    client_logger = logging.getLogger("driftguard.notify.webhook")
    client_logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _RedactUrls) for f in client_logger.filters):
        client_logger.addFilter(_RedactUrls())
    return client_logger


def redact(text: str, url: str) -> str:
    return text.replace(url, REDACTED) if url else text


def _keep_out_of_traces(url: str) -> None:
    """X-Ray records every http.client call's URL; not this one."""
    # Imported here: aws_xray_sdk starts its recorder on import (see observability).
    from aws_xray_sdk.ext.httplib import add_ignored

    parts = urlsplit(url)
    selector = parts.path + (f"?{parts.query}" if parts.query else "")
    add_ignored(hostname=parts.hostname, urls=[selector, url])


def check_webhook_url(value: object, secret_arn: str) -> str:
    """The secret's value as a webhook URL; the error never quotes the value."""
    url = value.strip() if isinstance(value, str) else ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host in _LOOPBACK_NAMES or _is_loopback_ip(host)
    # Plain http only to a receiver on this machine (the sandbox's LocalSlack).
    if not host or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise ConfigError(
            f"the secret {secret_arn} does not hold a Slack webhook URL "
            "(expected https://hooks.slack.com/services/...)"
        )
    return url


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- notifier


@dataclass(frozen=True)
class Delivered:
    """What one post achieved (for the handler's log line and return value)."""

    alert_type: str
    severity: str
    resources: int
    blocks: int


class SlackNotifier:
    """Builds one message per alert and posts it; one instance per container."""

    def __init__(
        self,
        config: NotifierConfig,
        secrets: SecretsProvider,
        *,
        client_factory: Callable[..., WebhookClient] = WebhookClient,
    ) -> None:
        self.config = config
        self._secrets = secrets
        self._client_factory = client_factory
        self._clients: dict[str, WebhookClient] = {}
        self._refetch = False  # after a failed post, do not trust the cached URL
        _guard_botocore_debug_logs()

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, session: boto3.Session | None = None
    ) -> SlackNotifier:
        config = NotifierConfig.from_env(environ)
        # A provider of our own, not Powertools' module-level one: its cache is
        # then this container's, as in Lambda (the sandbox runs several
        # "containers" in one process, and a cold start must read the secret).
        client = (session or new_session()).client("secretsmanager", config=BOTO_CONFIG)
        return cls(config, SecretsProvider(boto3_client=client))

    def send(self, alert: Alert) -> Delivered:
        message = build_message(alert)
        self.post(message)
        return Delivered(
            alert_type=alert.type.value,
            severity=alert.severity.value,
            resources=len(alert.resources),
            blocks=len(message.blocks),
        )

    def post(self, message: SlackMessage) -> None:
        url = self._webhook_url()
        client = self._client(url)
        try:
            response: WebhookResponse = client.send_dict(message.payload())
        except Exception as exc:  # refused, reset, timed out: after the client's retries
            self._refetch = True
            raise SlackDeliveryError(
                f"Slack webhook unreachable ({type(exc).__name__}: {redact(str(exc), url)})"
            ) from None
        if response.status_code != 200 or response.body != "ok":
            # A revoked or rotated webhook answers 404 no_service / 403 invalid_token:
            # read the secret again on the next attempt.
            self._refetch = True
            body = redact(str(response.body or ""), url)[:200]
            raise SlackDeliveryError(
                f"Slack answered {response.status_code} {body!r}",
                status_code=response.status_code,
                body=body,
            )

    def _webhook_url(self) -> str:
        arn = self.config.webhook_secret_arn
        try:
            value = self._secrets.get(
                arn, max_age=self.config.secret_max_age_seconds, force_fetch=self._refetch
            )
        except GetParameterError as exc:
            raise ConfigError(f"cannot read the Slack webhook secret {arn}: {exc}") from None
        self._refetch = False
        return check_webhook_url(value, arn)

    def _client(self, url: str) -> WebhookClient:
        if url not in self._clients:
            _keep_out_of_traces(url)
            self._clients[url] = self._client_factory(
                url,
                timeout=self.config.timeout_seconds,
                logger=_client_logger(),
                retry_handlers=retry_handlers(self.config),
            )
        return self._clients[url]
