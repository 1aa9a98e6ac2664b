"""Scheduled re-checks: the one adapter for the re-check queue (SQS, delayed messages).

Nothing in driftguard sleeps out a wait it cannot control (IAM propagation, another
invocation holding a resource, a throttled call, KMS's eventually consistent reads):
it asks to look at the resource again later. The message carries the trigger that
started it, so what happens then is still "after CreateRole by ...". The queue's own
redrive keeps a message that keeps failing on the events dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from driftguard.errors import InvalidEventError
from driftguard.events import brief
from driftguard.model import Trigger
from driftguard.vocabulary import TriggerKind

SQS_MAX_DELAY_SECONDS = 900  # SQS DelaySeconds: 0 to 900
# Re-checks for something transient (a busy lease, a throttled call) stop here; the
# sweep comes by anyway. Propagation waits are bounded by the decision's budget.
MAX_ATTEMPTS = 20
# Resources per message: 50 ARNs of at most 2 KB stay far under SQS's 256 KB.
MAX_GROUP = 50


class Recheck(BaseModel):
    """One message on the re-check queue (an edge: validated when read). It names every
    resource one trigger left waiting for the same time, so they are looked at, and
    alerted about, together."""

    # Built on first use, not at import (issue 10): most invocations schedule none.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    arns: tuple[Annotated[str, Field(min_length=1, max_length=2048)], ...] = Field(
        min_length=1, max_length=MAX_GROUP
    )
    role: str | None = Field(default=None, max_length=2048)  # whose CreateRole/DeleteRole
    reason: str = Field(max_length=1000)
    trigger: TriggerKind
    event_name: str | None = Field(default=None, max_length=256)
    event_id: str | None = Field(default=None, max_length=256)
    actor: str | None = Field(default=None, max_length=2048)
    event_time: AwareDatetime | None = None
    attempt: int = Field(ge=1, le=MAX_ATTEMPTS + 1000)
    since: AwareDatetime  # compared with the clock's aware now

    @classmethod
    def of(
        cls, arns: Sequence[str], trigger: Trigger, reason: str, *, role: str | None = None
    ) -> Recheck:
        if trigger.since is None:
            raise ValueError("a re-check's trigger says since when it waits")
        return cls(
            arns=tuple(arns),
            role=role,
            reason=reason[:1000],
            trigger=trigger.kind,
            event_name=trigger.event_name,
            event_id=trigger.event_id,
            actor=trigger.actor,
            event_time=trigger.event_time,
            attempt=trigger.attempt,
            since=trigger.since,
        )

    @classmethod
    def parse(cls, body: str) -> Recheck:
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            raise InvalidEventError(f"not a driftguard re-check: {brief(exc)}") from None

    def as_trigger(self) -> Trigger:
        return Trigger(
            kind=self.trigger,
            event_name=self.event_name,
            event_id=self.event_id,
            actor=self.actor,
            event_time=self.event_time,
            attempt=self.attempt,
            since=self.since,
        )


class RecheckQueue:
    """`sqs` gives the client when first needed (most invocations schedule nothing)."""

    def __init__(self, sqs: Callable[[], Any], url: str) -> None:
        self._sqs = sqs
        self.url = url

    def schedule(self, recheck: Recheck, delay_seconds: int) -> None:
        self._sqs().send_message(
            QueueUrl=self.url,
            MessageBody=recheck.model_dump_json(),
            DelaySeconds=max(0, min(delay_seconds, SQS_MAX_DELAY_SECONDS)),
        )
