"""Wiring: one Runtime per container, built on first use from validated config."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parser import parse
from pydantic import ValidationError

from driftguard.alerts import AlertPublisher
from driftguard.aws import AwsClients
from driftguard.config import Config
from driftguard.errors import InvalidEventError
from driftguard.events import CloudTrailDetail, CloudTrailEvent
from driftguard.remediation import Remediator
from driftguard.state import StateStore


@dataclass(frozen=True)
class Runtime:
    config: Config
    clients: AwsClients
    store: StateStore
    remediator: Remediator

    @classmethod
    def from_env(
        cls, session: boto3.Session | None = None, environ: Mapping[str, str] | None = None
    ) -> Runtime:
        config = Config.from_env(environ)
        clients = AwsClients(remediation_role_name=config.remediation_role_name, session=session)
        store = StateStore.for_table(
            clients.base_session,
            config.table_name,
            audit_retention_days=config.audit_retention_days,
        )
        publisher = AlertPublisher(clients.hub("sns"), config.alert_topic_arn)
        return cls(config, clients, store, Remediator(config, clients, store, publisher))

    def park(self, event: Any, error: Exception) -> None:
        """Keep an event driftguard cannot use on the dead-letter queue, with why."""
        self.clients.hub("sqs").send_message(
            QueueUrl=self.config.dead_letter_queue_url,
            MessageBody=json.dumps(event, default=str),
            MessageAttributes={
                "error": {"DataType": "String", "StringValue": type(error).__name__},
                "reason": {"DataType": "String", "StringValue": str(error)[:1000] or "-"},
            },
        )


def parse_cloudtrail(event: Any) -> CloudTrailDetail:
    """The CloudTrail record inside an EventBridge event, or InvalidEventError."""
    try:
        return parse(event=event, model=CloudTrailEvent).detail
    except (ValidationError, ValueError, TypeError) as exc:
        raise InvalidEventError(f"not a CloudTrail API-call event: {_brief(exc)}") from None


def _brief(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'event'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        return _brief(cause)
    return str(exc)[:300]
