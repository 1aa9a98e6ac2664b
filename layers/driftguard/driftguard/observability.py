"""Logger, Tracer and Metrics, defined once for every function (Powertools).

Service name, namespace and log level come from POWERTOOLS_* in template.yaml Globals.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from driftguard.vocabulary import OUTCOME_METRIC

if TYPE_CHECKING:  # the notifier logs with these and needs none of the decision machinery
    from driftguard.decision import Result

# A sweep or an ignored event may have nothing to count; that is not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = Callable[[Any, Any], Any]


class LazyTracer:
    """Powertools' Tracer, made when the first invocation needs it, not at import.

    Making it starts aws_xray_sdk's recorder, which builds an X-Ray client for its
    sampling rules: about two thirds of a handler's import time. Deferred, the import
    a cold start pays stays close to boto3's own (issue 10, `make bench`)."""

    def __init__(self, make: Callable[[], Tracer] = Tracer) -> None:
        self._make = make
        self._tracer: Tracer | None = None
        self._lock = threading.Lock()

    @property
    def provider(self) -> Tracer:
        with self._lock:
            if self._tracer is None:
                self._tracer = self._make()
            return self._tracer

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        traced: list[Handler] = []

        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            if not traced:
                traced.append(self.provider.capture_lambda_handler(handler))
            return traced[0](event, context)

        return wrapper


logger = Logger()
tracer = LazyTracer()
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
