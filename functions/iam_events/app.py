"""DeleteRole orphans every policy that names the role; CreateRole restores them."""

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
    remediator = runtime().remediator
    try:
        detail = parse_cloudtrail(event)
        if detail.event_name == "DeleteRole":
            results = remediator.on_role_deleted(detail)
        elif detail.event_name == "CreateRole":
            results = remediator.on_role_created(detail)
        else:
            raise InvalidEventError(f"{detail.event_name} is not an IAM event driftguard handles")
    except InvalidEventError as exc:
        logger.error("event rejected and parked on the dead-letter queue", reason=str(exc))
        runtime().park(event, exc)
        return {"status": "rejected", "reason": str(exc)}
    count_outcomes(results)
    logger.info("iam event handled", event_name=detail.event_name, resources=len(results))
    return {"status": "ok", "results": [r.as_dict() for r in results]}
