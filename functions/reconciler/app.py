"""Scheduled sweep, planned: one message per account and region to the sweep queue
(driftguard.sweep); the sweep workers check every declared resource."""

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
    return runtime().plan_sweep()
