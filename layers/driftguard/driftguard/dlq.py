"""The events dead-letter queue: the one adapter that parks events and reads them back.

Three things land on that queue, each as the original EventBridge event:

* events a function rejected (`park`: message attributes `error`, `reason`, and
  `truncated`, the original size in bytes, when only its first 252 KiB fit);
* events whose function failed every attempt (Lambda's asynchronous dead letter:
  attributes `RequestID`, `ErrorCode`, `ErrorMessage`);
* events EventBridge could not deliver after its retries (attributes `ERROR_CODE`,
  `ERROR_MESSAGE`, `RULE_ARN`, `TARGET_ARN`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from driftguard.errors import InvalidEventError

# Long enough to replay everything received before any message comes back on its own.
VISIBILITY_TIMEOUT_SECONDS = 900
# SQS's message size limit (256 KiB, body and attributes together), less room for the
# attributes. EventBridge delivers nothing larger, but a direct invoke can.
MAX_BODY_BYTES = 256 * 1024 - 4 * 1024


@dataclass(frozen=True)
class ParkedMessage:
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]

    @property
    def why_parked(self) -> str:
        a = self.attributes
        if "reason" in a or "error" in a:
            return f"rejected: {a.get('error', '?')}: {a.get('reason', '-')}"
        if "ErrorMessage" in a:
            return f"failed every attempt: {a['ErrorMessage']}"
        if "ERROR_CODE" in a:
            return f"not delivered: {a['ERROR_CODE']}: {a.get('ERROR_MESSAGE', '-')}"
        return "-"

    def event(self) -> Any:
        """The parked event, or InvalidEventError when the body is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise InvalidEventError("the message body is not JSON") from None


class DeadLetterQueue:
    """`sqs` gives the client when first needed (most invocations park nothing)."""

    def __init__(
        self,
        sqs: Callable[[], Any],
        url: str,
        *,
        visibility_timeout: int = VISIBILITY_TIMEOUT_SECONDS,
    ) -> None:
        self._client = sqs
        self.url = url
        self._visibility_timeout = visibility_timeout

    @property
    def _sqs(self) -> Any:
        return self._client()

    def park(self, event: Any, error: Exception) -> None:
        """Keep an event driftguard cannot use, with why (cut to what SQS takes)."""
        body = json.dumps(event, default=str)
        attributes = {
            "error": {"DataType": "String", "StringValue": type(error).__name__},
            "reason": {"DataType": "String", "StringValue": str(error)[:1000] or "-"},
        }
        encoded = body.encode("utf-8")
        if len(encoded) > MAX_BODY_BYTES:
            # Still JSON, so whoever reads the queue can: the event's start, and its size.
            attributes["truncated"] = {"DataType": "Number", "StringValue": str(len(encoded))}
            head = encoded[: MAX_BODY_BYTES // 2].decode("utf-8", errors="ignore")
            body = json.dumps({"truncatedEvent": head, "bytes": len(encoded)})
        self._sqs.send_message(QueueUrl=self.url, MessageBody=body, MessageAttributes=attributes)

    def receive_all(self) -> Iterator[ParkedMessage]:
        """Every message on the queue now, each once (it stays hidden until released)."""
        seen: set[str] = set()
        while True:
            response = self._sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=self._visibility_timeout,
                WaitTimeSeconds=1,  # long polling: an empty answer means an empty queue
                MessageAttributeNames=["All"],
            )
            batch = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
            if not batch:
                return
            for message in batch:
                seen.add(message["MessageId"])
                yield ParkedMessage(
                    message_id=message["MessageId"],
                    receipt_handle=message["ReceiptHandle"],
                    body=message.get("Body", ""),
                    attributes={
                        name: str(value.get("StringValue", ""))
                        for name, value in (message.get("MessageAttributes") or {}).items()
                    },
                )

    def delete(self, message: ParkedMessage) -> None:
        self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)

    def release(self, message: ParkedMessage) -> None:
        """Visible again now, for the next run or another reader."""
        self._sqs.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
        )
