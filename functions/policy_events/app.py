"""A key policy or secret policy changed: compare with the declared state and act."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from driftguard.observability import CORRELATION_ID_PATH, logger, metrics, tracer
from driftguard.runtime import Runtime


@cache
def runtime() -> Runtime:
    return Runtime.from_env()


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A redelivered CloudTrail event (same eventID) is recognised by the resource's
    # lease, which remembers the last event it handled: no idempotency record of its
    # own (two writes fewer per event; driftguard.state).
    return runtime().handle_event(event)
