"""Wiring: one Runtime per container, built on first use from validated config."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
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

    @cached_property
    def _idempotency(self) -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
        # Same table, own partition (pk IDEMPOTENCY#<function>), same TTL attribute.
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        persistence = DynamoDBPersistenceLayer(
            table_name=self.config.table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=f"IDEMPOTENCY#{function}",
            expiry_attr="expires_at",
            boto3_client=self.clients.hub("dynamodb"),
        )
        config = IdempotencyConfig(
            # A CloudTrail record keeps its eventID through forwarding and retries.
            event_key_jmespath="detail.eventID",
            raise_on_no_idempotency_key=False,  # malformed events are parked, not cached
            expires_after_seconds=24 * 3600,
        )
        return persistence, config

    def once_per_event(
        self,
        event: dict[str, Any],
        context: LambdaContext,
        work: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run `work` once per CloudTrail event: a redelivered event gets the first answer."""
        persistence, config = self._idempotency
        config.register_lambda_context(context)

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="event", persistence_store=persistence, config=config
        )
        def handle(event: dict[str, Any]) -> dict[str, Any]:
            return work(event)

        result: dict[str, Any] = handle(event=event)
        return result

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
