"""`driftguard replay-dlq`: re-drive the events parked on the events dead-letter queue.

What lands there and why is `driftguard.dlq`'s business. Replaying runs each event
as the event functions do (`Runtime.redrive`: the dispatcher, then the access paths it
touches), in this process, as the caller. A message is deleted only when that path
handled it; an event that is still invalid, or whose handling failed, stays on the
queue (made visible again at the end of the run). Order does not matter: every replay
compares the live state with the declared one as they are now, so an old event can
only lead to the state the declaration asks for.
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from driftguard.decision import Result
from driftguard.dlq import DeadLetterQueue, ParkedMessage
from driftguard.errors import DriftguardError, InvalidEventError
from driftguard.events import CloudTrailDetail, parse_cloudtrail
from driftguard.vocabulary import Outcome
from driftguard_cli.answers import ReplayRow

# What a function does with a parsed event (Runtime.dispatch); None: only list them.
Redrive = Callable[[CloudTrailDetail], list[Result]]


def replay(
    queue: DeadLetterQueue,
    redrive: Redrive | None,
    *,
    on_message: Callable[[ReplayRow], None] | None = None,
) -> list[ReplayRow]:
    """Replay every parked event (`redrive` None: only list them, delete nothing)."""
    messages = list(queue.receive_all())
    rows: list[ReplayRow] = []
    kept: list[ParkedMessage] = []
    try:
        for message in messages:
            row = _replay_one(message, redrive)
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


def _replay_one(message: ParkedMessage, redrive: Redrive | None) -> ReplayRow:
    detail: CloudTrailDetail | None = None
    try:
        detail = parse_cloudtrail(message.event())
        if redrive is None:
            return _row(message, detail, "listed")
        results = redrive(detail)
    except InvalidEventError as exc:
        return _row(message, detail, "invalid", str(exc))
    except (DriftguardError, ClientError, BotoCoreError) as exc:
        return _row(message, detail, "failed", f"{type(exc).__name__}: {exc}")
    outcomes = tuple(f"{r.outcome.value} {r.arn or '-'}".rstrip() for r in results)
    failed = [r for r in results if r.outcome is Outcome.FAILED]
    if failed:
        reasons = "; ".join(f"{r.arn}: {r.reason}" for r in failed)
        return _row(message, detail, "failed", reasons, outcomes)
    return _row(message, detail, "replayed", _summary(results), outcomes)


def _summary(results: list[Result]) -> str:
    if not results:
        return "no declared resource names it"
    if all(r.outcome is Outcome.IGNORED for r in results):
        return "ignored: " + results[0].reason
    return f"{len(results)} resource(s) checked"


def _row(
    message: ParkedMessage,
    detail: CloudTrailDetail | None,
    result: str,
    detail_text: str = "",
    outcomes: tuple[str, ...] = (),
) -> ReplayRow:
    event_name, event_id, actor = (
        (detail.event_name, detail.event_id, detail.user_identity.describe())
        if detail is not None
        else (None, None, None)
    )
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
