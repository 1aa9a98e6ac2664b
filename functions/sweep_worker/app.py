"""A sweep worker: every declared resource of one account and region, under the
quota limiter (driftguard.sweep)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from driftguard.observability import logger, metrics, tracer
from driftguard.runtime import Runtime


@cache
def runtime() -> Runtime:
    return Runtime.from_env()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return runtime().handle_sweep_shards(event, context)
