"""Logger, Tracer and Metrics, defined once for every function (Powertools).

Service name, namespace and log level come from POWERTOOLS_* in template.yaml Globals.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# CloudTrail's eventID follows one change through forwarding and retries.
CORRELATION_ID_PATH = "detail.eventID"

__all__ = ["CORRELATION_ID_PATH", "MetricUnit", "logger", "metrics", "tracer"]
