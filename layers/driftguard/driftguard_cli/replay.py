"""`driftguard replay-dlq`: re-drive the events parked on the events dead-letter queue.

Two things land on that queue, both as the original EventBridge event:

* events a function rejected (`Runtime.park`: message attributes `error`, `reason`);
* events whose function failed every attempt (Lambda's asynchronous dead letter:
  attributes `RequestID`, `ErrorCode`, `ErrorMessage`);
* events EventBridge could not deliver after its retries (attributes `ERROR_CODE`,
  `ERROR_MESSAGE`, `RULE_ARN`, `TARGET_ARN`).

Replaying runs each event through the code path its function runs
(`parse_cloudtrail`, then the remediator's `on_role_deleted` / `on_role_created` for
IAM events and `on_policy_event` for the others), in this process, as the caller. A
message is deleted only when that path handled it; an event that is still invalid, or
whose handling failed, stays on the queue (made visible again at the end of the run).
Order does not matter: every replay compares the live policy with the declared one as
they are now, so an old event can only lead to the state the declaration asks for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from driftguard_cli.answers import ReplayRow
from driftguard.errors import DriftguardError, InvalidEventError
from driftguard.events import CloudTrailDetail
from driftguard.outcomes import Outcome, ResourceResult
from driftguard.remediation import Remediator
from driftguard.runtime import parse_cloudtrail

# Long enough to replay everything received before any message comes back on its own.
VISIBILITY_TIMEOUT_SECONDS = 900
IAM_EVENT_SOURCE = "iam.amazonaws.com"


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


def describe(detail: CloudTrailDetail | None) -> tuple[str | None, str | None, str | None]:
    if detail is None:
        return None, None, None
    return detail.event_name, detail.event_id, detail.user_identity.describe()


def redrive(remediator: Remediator, detail: CloudTrailDetail) -> list[ResourceResult]:
    """What IamEventsFunction or PolicyEventsFunction does with this event."""
    if detail.event_source == IAM_EVENT_SOURCE:
        if detail.event_name == "DeleteRole":
            return remediator.on_role_deleted(detail)
        if detail.event_name == "CreateRole":
            return remediator.on_role_created(detail)
        raise InvalidEventError(f"{detail.event_name} is not an IAM event driftguard handles")
    return [remediator.on_policy_event(detail)]


class DeadLetterQueue:
    """Reads every message once per run; deletes or releases each explicitly."""

    def __init__(
        self, sqs: Any, url: str, *, visibility_timeout: int = VISIBILITY_TIMEOUT_SECONDS
    ) -> None:
        self._sqs = sqs
        self.url = url
        self._visibility_timeout = visibility_timeout

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


def replay(
    queue: DeadLetterQueue,
    remediator: Remediator | None,
    *,
    on_message: Callable[[ReplayRow], None] | None = None,
) -> list[ReplayRow]:
    """Replay every parked event (`remediator` None: only list them, delete nothing)."""
    messages = list(queue.receive_all())
    rows: list[ReplayRow] = []
    kept: list[ParkedMessage] = []
    try:
        for message in messages:
            row = _replay_one(message, remediator)
            if row.kept:
                kept.append(message)
            else:
                queue.delete(message)
            rows.append(row)
            if on_message is not None:
                on_message(row)
    finally:
        done = {row.message_id for row in rows}
        for message in kept + [m for m in messages if m.message_id not in done]:
            queue.release(message)
    return rows


def _replay_one(message: ParkedMessage, remediator: Remediator | None) -> ReplayRow:
    detail: CloudTrailDetail | None = None
    try:
        detail = parse_cloudtrail(message.event())
        if remediator is None:
            return _row(message, detail, "listed")
        results = redrive(remediator, detail)
    except InvalidEventError as exc:
        return _row(message, detail, "invalid", str(exc))
    except (DriftguardError, ClientError, BotoCoreError) as exc:
        return _row(message, detail, "failed", f"{type(exc).__name__}: {exc}")
    outcomes = tuple(f"{r.outcome.value} {r.arn or '-'}".rstrip() for r in results)
    failed = [r for r in results if r.outcome == Outcome.FAILED]
    if failed:
        reasons = "; ".join(f"{r.arn}: {r.reason}" for r in failed)
        return _row(message, detail, "failed", reasons, outcomes)
    return _row(message, detail, "replayed", _summary(results), outcomes)


def _summary(results: list[ResourceResult]) -> str:
    if not results:
        return "no declared resource names it"
    if all(r.outcome == Outcome.IGNORED for r in results):
        return "ignored: " + results[0].reason
    return f"{len(results)} resource(s) checked"


def _row(
    message: ParkedMessage,
    detail: CloudTrailDetail | None,
    result: str,
    detail_text: str = "",
    outcomes: tuple[str, ...] = (),
) -> ReplayRow:
    event_name, event_id, actor = describe(detail)
    return ReplayRow(
        message_id=message.message_id,
        event_name=event_name,
        event_id=event_id,
        actor=actor,
        why_parked=message.why_parked,
        result=result,
        detail=detail_text,
        outcomes=outcomes,
    )
