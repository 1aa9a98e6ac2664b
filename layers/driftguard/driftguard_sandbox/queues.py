"""Lambda's SQS event source mapping, for the functions template.yaml feeds from a
queue (`AWS::Lambda::EventSourceMapping`).

A message sent to the queue is taken off moto's queue as soon as it is there and
delivered through the router when its `DelaySeconds` are over (in AWS seconds, so
the sandbox's time scale applies). A failed message, or one the function reports in
`batchItemFailures`, comes back after the queue's visibility timeout; after the
redrive policy's `maxReceiveCount` receives it goes to the dead-letter queue, as SQS
moves it. moto keeps the queue itself (its attributes, its redrive policy).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.sqs.models import Message, sqs_backends

from driftguard_sandbox.router import Event, Router, _Job
from driftguard_sandbox.template import FunctionSpec

POLL_SECONDS = 0.02  # how often the mapping looks at moto's queue (real time)


@dataclass
class _InFlight:
    """One message between its send and its deletion."""

    message_id: str
    body: str
    sent_ms: int
    receives: int = 0
    first_receive_ms: int | None = field(default=None)


class QueueSource:
    def __init__(
        self, *, router: Router, function: FunctionSpec, queue_url: str, region: str
    ) -> None:
        *_, self.account, self.name = queue_url.rstrip("/").split("/")
        self.url = queue_url
        self.region = region
        self.router = router
        self.function = function
        self._stopped = threading.Event()
        self._taking = threading.Lock()
        self._thread = threading.Thread(
            target=self._poll, name=f"sandbox-sqs-{self.name}", daemon=True
        )
        self._thread.start()

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account}:{self.name}"

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    # -- taking messages off moto's queue --------------------------------------
    def _queue(self) -> Any:
        backend = sqs_backends[self.account][self.region]
        return backend.queues.get(self.name)

    def _poll(self) -> None:
        while not self._stopped.wait(POLL_SECONDS):
            self.catch_up()

    def catch_up(self) -> int:
        """Take every message sent so far and schedule it; how many there were (the
        sandbox's `wait_idle` calls it, so a message sent is delivered before it returns)."""
        with self._taking:  # taken and scheduled together: `wait_idle` never sees between
            queue = self._queue()
            if queue is None or not queue._messages:
                return 0
            with queue._messages_lock:
                taken: list[Message] = list(queue._messages)
                queue._messages.clear()
            for message in taken:
                sent = int(message.sent_timestamp or time.time() * 1000)
                delay = max(0.0, (message.delayed_until - sent) / 1000)
                flight = _InFlight(message.id, message.body, sent)
                self.router.schedule(self._job(flight), delay)
            return len(taken)

    # -- delivering -------------------------------------------------------------
    def _job(self, flight: _InFlight) -> _Job:
        return _Job(
            function=self.function,
            source=f"sqs:{self.name}",
            event=self._event(flight),
            dead_letter=lambda error: self._failed(flight),
            attempts=1,  # SQS retries by making the message visible again, not Lambda
            failed=failed_items,
        )

    def _event(self, flight: _InFlight) -> Event:
        flight.receives += 1
        now_ms = int(time.time() * 1000)
        flight.first_receive_ms = flight.first_receive_ms or now_ms
        return {
            "Records": [
                {
                    "messageId": flight.message_id,
                    "receiptHandle": uuid.uuid4().hex,
                    "body": flight.body,
                    "attributes": {
                        "ApproximateReceiveCount": str(flight.receives),
                        "SentTimestamp": str(flight.sent_ms),
                        "SenderId": "AROASANDBOXSENDER0000",
                        "ApproximateFirstReceiveTimestamp": str(flight.first_receive_ms),
                    },
                    "messageAttributes": {},
                    "md5OfBody": hashlib.md5(
                        flight.body.encode(), usedforsecurity=False
                    ).hexdigest(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.arn,
                    "awsRegion": self.region,
                }
            ]
        }

    def _failed(self, flight: _InFlight) -> None:
        """Visible again after the visibility timeout, or redriven to its DLQ."""
        queue = self._queue()
        policy = (queue.redrive_policy if queue is not None else None) or {}
        if policy and flight.receives >= int(policy["maxReceiveCount"]):
            dlq_name = str(policy["deadLetterTargetArn"]).rsplit(":", 1)[-1]
            sqs_backends[self.account][self.region].send_message(dlq_name, flight.body)
            return
        timeout = float(queue.visibility_timeout) if queue is not None else 30.0
        self.router.schedule(self._job(flight), timeout)


def failed_items(result: Any) -> bool:
    """Whether a function's answer to an SQS batch reports failed messages."""
    return isinstance(result, dict) and bool(result.get("batchItemFailures"))
