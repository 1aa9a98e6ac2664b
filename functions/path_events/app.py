"""A call that may break or heal a declared access path (a key disabled or scheduled
for deletion, a secret re-keyed or deleted, a role's policies, an OIDC provider, a Pod
Identity association): re-verify the paths it touches, alert on a change, and in
enforce mode put a disabled or deleted key right."""

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
    # A redelivered CloudTrail event (same eventID) gets the first answer; a retry after
    # a failure looks again (every check re-reads live state, and alerts only on a change).
    return runtime().once_per_event(event, context, runtime().handle_path_event)
