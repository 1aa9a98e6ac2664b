"""Logger, Tracer and Metrics, defined once for every function (Powertools).

Service name, namespace and log level come from POWERTOOLS_* in template.yaml Globals.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from driftguard.decision import Result
from driftguard.vocabulary import OUTCOME_METRIC

# A sweep or an ignored event may have nothing to count; that is not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# CloudTrail's eventID follows one change through forwarding and retries.
CORRELATION_ID_PATH = "detail.eventID"

__all__ = ["CORRELATION_ID_PATH", "count_outcomes", "logger", "metrics", "tracer"]


def count_outcomes(results: Iterable[Result]) -> None:
    """One metric per resource outcome worth counting, with a ResourceKind dimension."""
    for result in results:
        name = OUTCOME_METRIC[result.outcome]
        if name is None:
            continue
        with single_metric(name=name, unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="ResourceKind", value=result.kind or "unknown")
