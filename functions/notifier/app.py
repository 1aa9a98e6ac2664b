"""Each alert on the SNS topic becomes one Slack message (Block Kit).

Anything that does not reach Slack raises: Lambda retries the invocation twice,
then keeps the SNS event on the notifier's dead-letter queue.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftguard.errors import ConfigError, InvalidEventError, SlackDeliveryError
from driftguard.notify.slack import SlackNotifier, parse_alerts
from driftguard.observability import logger, metrics, tracer

# SNS keeps one MessageId per alert through Lambda's retries and the DLQ.
SNS_MESSAGE_ID_PATH = "Records[0].Sns.MessageId"


@cache
def notifier() -> SlackNotifier:
    """Validated once per container; a bad configuration fails every invocation loudly."""
    return SlackNotifier.from_env()


@logger.inject_lambda_context(correlation_id_path=SNS_MESSAGE_ID_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        alerts = parse_alerts(event)
    except InvalidEventError as exc:
        logger.error("not a driftguard alert; raising so it ends on the DLQ", reason=str(exc))
        raise
    posted = []
    for alert in alerts:
        try:
            delivered = notifier().send(alert)
        except (SlackDeliveryError, ConfigError) as exc:
            _count("SlackPostFailed", alert.type.value)
            logger.error(
                "alert not posted to Slack; raising so Lambda retries, then the DLQ keeps it",
                error=type(exc).__name__,
                reason=str(exc),
                alert_type=alert.type.value,
                title=alert.title,
            )
            raise
        _count("SlackPosted", alert.type.value)
        logger.info("alert posted to Slack", title=alert.title, **vars(delivered))
        posted.append(alert.title)
    return {"status": "ok", "posted": posted}


def _count(name: str, alert_type: str) -> None:
    # Flushed at once, so a failure that raises is counted too (as count_outcomes does).
    with single_metric(name=name, unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="AlertType", value=alert_type)
