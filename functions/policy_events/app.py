"""A key policy or secret policy changed: compare with the declared state and act."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from driftguard.errors import InvalidEventError
from driftguard.observability import CORRELATION_ID_PATH, count_outcomes, logger, metrics, tracer
from driftguard.runtime import Runtime, parse_cloudtrail


@cache
def runtime() -> Runtime:
    return Runtime.from_env()


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A redelivered CloudTrail event (same eventID) gets the first answer.
    return runtime().once_per_event(event, context, handle)


def handle(event: dict[str, Any]) -> dict[str, Any]:
    try:
        result = runtime().remediator.on_policy_event(parse_cloudtrail(event))
    except InvalidEventError as exc:
        logger.error("event rejected and parked on the dead-letter queue", reason=str(exc))
        runtime().park(event, exc)
        return {"status": "rejected", "reason": str(exc)}
    count_outcomes([result])
    logger.info("policy event handled", **result.as_dict())
    return {"status": "ok", "results": [result.as_dict()]}
