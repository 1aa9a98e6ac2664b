"""Scheduled sweep: the same check over every declared resource."""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from driftguard.observability import count_outcomes, logger, metrics, tracer
from driftguard.runtime import Runtime


@cache
def runtime() -> Runtime:
    return Runtime.from_env()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = runtime().remediator.sweep()
    count_outcomes(results)
    outcomes = Counter(result.outcome.value for result in results)
    logger.info("sweep finished", resources=len(results), outcomes=dict(outcomes))
    return {"status": "ok", "resources": len(results), "outcomes": dict(outcomes)}
