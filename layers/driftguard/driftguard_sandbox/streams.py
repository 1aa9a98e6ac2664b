"""Lambda's DynamoDB stream event source mapping, for the functions template.yaml feeds
from a table's stream (`AWS::Lambda::EventSourceMapping` on `!GetAtt T.StreamArn`).

moto records every write of a table with a stream; this mapping reads the new records
as they appear, keeps those its filter patterns match (Lambda's filter syntax is
EventBridge's, so moto's EventBridge matcher decides), and delivers them in batches
through the router, in order. A failed batch is retried up to the mapping's
`MaximumRetryAttempts`, then described on its on-failure destination (SQS), as Lambda
does; `batchItemFailures` retries from the first failed record.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any, cast

from moto.dynamodb.models import dynamodb_backends
from moto.events.models import EventPattern

from driftguard_sandbox.queues import failed_items
from driftguard_sandbox.router import Event, Router, _Job
from driftguard_sandbox.template import FunctionSpec, StreamSpec

POLL_SECONDS = 0.02  # how often the mapping looks at moto's stream (real time)


class StreamSource:
    def __init__(
        self,
        *,
        router: Router,
        function: FunctionSpec,
        stream: StreamSpec,
        table_name: str,
        stream_arn: str,
        account: str,
        region: str,
        on_failure: Any,
    ) -> None:
        self.router = router
        self.function = function
        self.stream = stream
        self.table_name = table_name
        self.stream_arn = stream_arn
        self.account = account
        self.region = region
        self._on_failure = on_failure  # (destination ARN, message body) -> None
        self._patterns = [EventPattern.load(json.dumps(p)) for p in stream.patterns]
        self._seen = 0  # records of moto's shard already looked at
        self._shard: Any = None
        self._lock = threading.Lock()  # the poller and `catch_up` take turns
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._poll, name=f"sandbox-stream-{table_name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _records(self) -> list[dict[str, Any]]:
        table = dynamodb_backends[self.account][self.region].tables.get(self.table_name)
        shard = table.stream_shard if table is not None else None
        if shard is not self._shard:  # a reset made a new table: start at its beginning
            self._shard, self._seen = shard, 0
        if shard is None or len(shard.items) <= self._seen:
            return []
        new = shard.items[self._seen :]
        self._seen += len(new)
        return [self._lambda_record(item.to_json()) for item in new]

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """moto's record as Lambda delivers it (epoch seconds, the stream's ARN)."""
        stream = dict(record["dynamodb"])
        created = stream.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            stream["ApproximateCreationDateTime"] = int(created.timestamp())
        return record | {
            "dynamodb": stream,
            "awsRegion": self.region,
            "eventSourceARN": self.stream_arn,
        }

    def _matches(self, record: dict[str, Any]) -> bool:
        return not self._patterns or any(p.matches_event(cast(Any, record)) for p in self._patterns)

    def _poll(self) -> None:
        while not self._stopped.wait(POLL_SECONDS):
            self.catch_up()

    def catch_up(self) -> int:
        """Schedule every record written since the last look; how many there were (the
        sandbox's `wait_idle` calls it, so a write is delivered before it returns)."""
        with self._lock:
            records = self._records()
            wanted = [r for r in records if self._matches(r)]
            size = max(1, self.stream.batch_size)
            for start in range(0, len(wanted), size):
                self._deliver(wanted[start : start + size])
            return len(wanted)

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        attempts = self.stream.maximum_retry_attempts
        self.router.schedule(
            _Job(
                function=self.function,
                source=f"dynamodb:{self.table_name}",
                event=self._event(records),
                dead_letter=lambda error: self._failed(records, error),
                attempts=None if attempts < 0 else attempts + 1,
                failed=failed_items,
            ),
            0.0,
        )

    def _event(self, records: list[dict[str, Any]]) -> Event:
        return {"Records": records}

    def _failed(self, records: list[dict[str, Any]], error: str) -> None:
        """What Lambda sends the on-failure destination: where the batch was, not the
        records themselves."""
        if not self.stream.on_failure:
            return
        numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        body = {
            "requestContext": {"condition": "RetryAttemptsExhausted", "errorMessage": error},
            "DDBStreamBatchInfo": {
                "streamArn": self.stream_arn,
                "startSequenceNumber": numbers[0],
                "endSequenceNumber": numbers[-1],
                "batchSize": len(records),
            },
        }
        self._on_failure(self.stream.on_failure, json.dumps(body))
