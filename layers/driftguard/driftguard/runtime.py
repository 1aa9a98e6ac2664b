"""Wiring: one Runtime per container, built on first use from validated config.

The composition root: config, clients, store, alert topic, dead-letter queue and the
remediation service, and what every event handler does with an event (run it once per
CloudTrail eventID, dispatch it, park what cannot be used).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, Literal

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from driftguard import kinds
from driftguard.alerts import AlertPublisher
from driftguard.aws import AwsClients
from driftguard.config import Config
from driftguard.decision import Result
from driftguard.declaration_watch import DeclarationChange, DeclarationWatch
from driftguard.dispatch import IAM_EVENT_SOURCE, dispatch
from driftguard.dlq import DeadLetterQueue
from driftguard.errors import InvalidEventError
from driftguard.events import CloudTrailDetail, parse_cloudtrail
from driftguard.observability import count_outcomes, logger
from driftguard.quotas import RateLimiter
from driftguard.rechecks import Recheck, RecheckQueue
from driftguard.retry import SYSTEM_CLOCK, Clock
from driftguard.safeguards import ROLE_CALLS
from driftguard.service import Remediator
from driftguard.signing import HMAC_QUOTA, KmsSignatures
from driftguard.state import StateStore
from driftguard.sweep import PathBatch, Sweeper, SweepQueue, parse_sweep_message, path_batches

# A sweep worker holds its shard at most for its timeout (template.yaml: 900 s).
SHARD_LEASE_SECONDS = 960
# A worker stops taking resources this long before its timeout: one resource's check
# (lease wait, put retries, verification: at most 30 s each) still fits.
SWEEP_MARGIN = 120.0

if TYPE_CHECKING:  # the batch and idempotency utilities: imported where they are used
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
        DynamoDBRecord,
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
    )

    from driftguard.path_watch import PathWatch


@dataclass(frozen=True)
class Runtime:
    config: Config
    clients: AwsClients
    store: StateStore
    remediator: Remediator
    dead_letters: DeadLetterQueue
    watch: DeclarationWatch
    sweeper: Sweeper
    sweep_queue: SweepQueue

    @classmethod
    def from_env(
        cls,
        session: boto3.Session | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> Runtime:
        config = Config.from_env(environ)
        clients = AwsClients(
            remediation_role_name=config.remediation_role_name,
            session=session,
            partition=config.partition,
            clock=clock,
            member_accounts=config.member_accounts,
            limiter=RateLimiter(kinds.quotas(), share=config.quota_share, clock=clock),
            hub_limiter=RateLimiter(
                {("kms", "VerifyMac"): HMAC_QUOTA},
                share=1 / config.sweep_concurrency,
                clock=clock,
            ),
        )
        store = StateStore.for_table(
            clients.base_session,
            config.table_name,
            audit_retention_days=config.audit_retention_days,
            clock=clock,
        )
        publisher = AlertPublisher(partial(clients.hub, "sns"), config.alert_topic_arn)
        signatures = KmsSignatures(partial(clients.hub, "kms"), config.signing_key_id)
        rechecks = RecheckQueue(partial(clients.hub, "sqs"), config.recheck_queue_url)
        remediator = Remediator(
            config, clients, store, publisher, rechecks, signatures=signatures, clock=clock
        )
        return cls(
            config,
            clients,
            store,
            remediator,
            DeadLetterQueue(partial(clients.hub, "sqs"), config.dead_letter_queue_url),
            DeclarationWatch(signatures, publisher, rechecks, clock),
            Sweeper(
                remediator,
                store,
                threads=config.sweep_threads,
                lease_seconds=SHARD_LEASE_SECONDS,
            ),
            SweepQueue(partial(clients.hub, "sqs"), config.sweep_queue_url),
        )

    def _guarded(self, detail: CloudTrailDetail) -> CloudTrailDetail:
        if not self.clients.allows(detail.recipient_account_id):
            raise InvalidEventError(
                f"event {detail.event_id} is from account {detail.recipient_account_id}, "
                "not one driftguard guards (MemberAccountIds)"
            )
        return detail

    def dispatch(self, detail: CloudTrailDetail) -> list[Result]:
        """One CloudTrail record through the one dispatcher (handlers, replay-dlq)."""
        self._guarded(detail)
        return dispatch(
            self.remediator, detail, remediation_role_name=self.config.remediation_role_name
        )

    def redrive(self, detail: CloudTrailDetail) -> list[Result]:
        """What the event functions do with one event, in one place (`driftguard
        replay-dlq`): the dispatcher for the calls it handles, then the path watch for
        the calls that may touch an access path (a path-only call skips the first)."""
        self._guarded(detail)
        results = [] if _path_only(detail) else self.dispatch(detail)
        if _touches_paths(detail):
            results += [watched.result() for watched in self.path_watch.on_event(detail)]
        return results

    def handle_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """What an event function does with one CloudTrail event."""
        try:
            detail = parse_cloudtrail(event)
            results = self.dispatch(detail)
        except InvalidEventError as exc:
            logger.error("event rejected and parked on the dead-letter queue", reason=str(exc))
            self.dead_letters.park(event, exc)
            return {"status": "rejected", "reason": str(exc)}
        count_outcomes(results)
        logger.info("event handled", event_name=detail.event_name, resources=len(results))
        # A key, secret, trust or role call may break or heal an access path too: looked
        # at after the restore (if any), so the path's verdict is the state left behind.
        watched = self.path_watch.on_event(detail) if _touches_paths(detail) else []
        return {"status": "ok", "results": [r.as_dict() for r in results]} | (
            {"paths": [w.as_dict() for w in watched]} if watched else {}
        )

    @cached_property
    def path_watch(self) -> PathWatch:
        """Built on the first call that may touch an access path (the functions that
        see none never load the path check)."""
        from driftguard.path_store import PathStore
        from driftguard.path_watch import PathWatch

        clients, config = self.clients, self.config
        return PathWatch(
            PathStore(self.store),
            clients,
            KmsSignatures(partial(clients.hub, "kms"), config.signing_key_id),
            AlertPublisher(partial(clients.hub, "sns"), config.alert_topic_arn),
            remediation_role_name=config.remediation_role_name,
            clock=self.remediator.clock,
        )

    def handle_path_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """What the path events function does with one CloudTrail event: re-verify the
        declared access paths it touches (driftguard.path_watch)."""
        try:
            detail = self._guarded(parse_cloudtrail(event))
        except InvalidEventError as exc:
            logger.error("event rejected and parked on the dead-letter queue", reason=str(exc))
            self.dead_letters.park(event, exc)
            return {"status": "rejected", "reason": str(exc)}
        watched = self.path_watch.on_event(detail)
        logger.info("path event handled", event_name=detail.event_name, paths=len(watched))
        return {"status": "ok", "paths": [w.as_dict() for w in watched]}

    def handle_rechecks(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """What the re-check function does with a batch from the re-check queue: each
        message checked on its own; a failed one goes back to the queue (and after the
        queue's retries to the dead-letter queue), the others are done."""
        return _each_record(event, context, "SQS", self._recheck)

    def _recheck(self, record: SQSRecord) -> None:
        try:
            recheck = Recheck.parse(record.body)
            results = self.remediator.on_recheck(recheck)
        except InvalidEventError as exc:
            logger.error("re-check rejected and parked on the dead-letter queue", reason=str(exc))
            self.dead_letters.park(record.raw_event, exc)
            return
        count_outcomes(results)
        logger.info(
            "re-check done", attempt=recheck.attempt, results=[r.as_dict() for r in results]
        )

    def plan_sweep(self) -> dict[str, Any]:
        """What the reconciler does on its schedule: one message per account and region,
        and one per ten declared access paths."""
        shards = self.sweeper.plan()
        names = [declaration.name for declaration in self.path_watch.store.declarations()]
        batches = path_batches(names)
        self.sweep_queue.send([*shards, *batches])
        resources = sum(shard.resources for shard in shards)
        logger.info("sweep planned", shards=len(shards), resources=resources, paths=len(names))
        return {"status": "ok", "shards": len(shards), "resources": resources, "paths": len(names)}

    def handle_sweep_shards(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """What a sweep worker does with its batch from the sweep queue (one shard a
        message); a shard that failed goes back to the queue."""
        return _each_record(event, context, "SQS", partial(self._sweep_shard, context=context))

    def _sweep_shard(self, record: SQSRecord, context: LambdaContext | None = None) -> None:
        try:
            shard = parse_sweep_message(record.body)
        except InvalidEventError as exc:
            logger.error(
                "sweep shard rejected and parked on the dead-letter queue", reason=str(exc)
            )
            self.dead_letters.park(record.raw_event, exc)
            return
        if isinstance(shard, PathBatch):
            watched = self.path_watch.sweep(shard.names)
            logger.info("paths swept", paths=[w.as_dict() for w in watched])
            return
        deadline = self.remediator.clock.monotonic() + self._time_left(context) - SWEEP_MARGIN
        swept = self.sweeper.sweep_shard(shard, deadline=deadline)
        if swept.rest is not None:  # the next worker takes over where this one stopped
            self.sweep_queue.send([swept.rest])
        count_outcomes(swept.results)
        outcomes = Counter(result.outcome.value for result in swept.results)
        logger.info(
            "shard swept",
            account=shard.account,
            region=shard.region,
            resources=len(swept.results),
            outcomes=dict(outcomes),
            left_for_the_next_worker=swept.rest.resources if swept.rest else 0,
        )

    @staticmethod
    def _time_left(context: LambdaContext | None) -> float:
        if context is None:
            return float(SHARD_LEASE_SECONDS)
        return context.get_remaining_time_in_millis() / 1000

    def handle_declaration_changes(
        self, event: dict[str, Any], context: LambdaContext
    ) -> dict[str, Any]:
        """What the declarations watcher does with a batch from the table's stream: one
        alert per changed declaration; a record whose alert could not be published is
        retried (the mapping's retries, then its on-failure destination)."""
        return _each_record(event, context, "DynamoDBStreams", self._declaration_changed)

    def _declaration_changed(self, record: DynamoDBRecord) -> None:
        stream = record.dynamodb
        old, new = (stream.old_image, stream.new_image) if stream else (None, None)
        if _is_path_declaration(new or old):
            self._path_declaration_changed(record, old, new)
            return
        try:
            change = DeclarationChange.of(
                stream.old_image if stream else None, stream.new_image if stream else None
            )
        except InvalidEventError as exc:
            logger.error(
                "declaration change unreadable, parked on the dead-letter queue", reason=str(exc)
            )
            self.dead_letters.park(record.raw_event, exc)
            return
        alerted = self.watch.on_change(change)
        logger.info(
            "declaration change seen", arn=change.arn, alert=alerted.value if alerted else None
        )

    def _path_declaration_changed(
        self, record: DynamoDBRecord, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        from driftguard.path_declaration_watch import PathDeclarationChange

        try:
            change = PathDeclarationChange.of(old, new)
        except InvalidEventError as exc:
            logger.error("path declaration unreadable, parked", reason=str(exc))
            self.dead_letters.park(record.raw_event, exc)
            return

        def check_now(name: str) -> None:
            self.sweep_queue.send([PathBatch((name,))])

        alerted = self.path_watch.on_declaration(change, check_now)
        logger.info("path declaration change seen", path=change.name, alert=alerted.value)

    @cached_property
    def _idempotency(self) -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
        )

        # Same table, own partition (pk IDEMPOTENCY#<function>), same TTL attribute.
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        persistence = DynamoDBPersistenceLayer(
            table_name=self.config.table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=f"IDEMPOTENCY#{function}",
            expiry_attr="expires_at",
            boto3_client=self.clients.hub("dynamodb"),
        )
        config = IdempotencyConfig(
            # A CloudTrail record keeps its eventID through forwarding and retries.
            event_key_jmespath="detail.eventID",
            raise_on_no_idempotency_key=False,  # malformed events are parked, not cached
            expires_after_seconds=24 * 3600,
        )
        return persistence, config

    def once_per_event(
        self,
        event: dict[str, Any],
        context: LambdaContext,
        work: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run `work` once per CloudTrail event: a redelivered event gets the first answer
        (the IAM events function: a fan-out has no one resource lease to fold it into)."""
        from aws_lambda_powertools.utilities.idempotency import idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyPersistenceLayerError,
        )

        persistence, config = self._idempotency
        config.register_lambda_context(context)

        done: list[dict[str, Any]] = []

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="event", persistence_store=persistence, config=config
        )
        def handle(event: dict[str, Any]) -> dict[str, Any]:
            done.append(work(event))
            return done[0]

        try:
            result: dict[str, Any] = handle(event=event)
        except IdempotencyPersistenceLayerError as exc:
            if not done:
                raise
            # The work is done and only its record was not saved. Doing it again on a
            # redelivery is harmless (every check re-reads live state); failing is not,
            # and neither is a record left "in progress" that fails every redelivery.
            logger.warning("event handled, but its idempotency record was not saved")
            with suppress(ClientError, BotoCoreError):  # then a redelivery waits it out
                persistence.delete_record(data=event, exception=exc)
            return done[0]
        return result


def _is_path_declaration(image: Mapping[str, Any] | None) -> bool:
    from driftguard.path_declaration_watch import is_path_image

    return is_path_image(image)


def _path_only(detail: CloudTrailDetail) -> bool:
    """A call only the path events function hears (no declared policy's business)."""
    if not _touches_paths(detail):
        return False
    if detail.event_source == IAM_EVENT_SOURCE:
        return detail.event_name not in ROLE_CALLS
    kind = kinds.for_event_source(detail.event_source)
    return kind is None or detail.event_name not in kind.policy_event_names


def _touches_paths(detail: CloudTrailDetail) -> bool:
    """Whether the call may touch an access path (the watch is built only then)."""
    from driftguard.path_events import PATH_EVENTS

    return detail.event_name in PATH_EVENTS.get(detail.event_source, {})


def _each_record(
    event: dict[str, Any],
    context: LambdaContext,
    event_type: Literal["SQS", "DynamoDBStreams"],
    handle: Callable[[Any], None],
) -> dict[str, Any]:
    """A batch (SQS, DynamoDB stream), each record on its own: the failed ones are
    reported back to the event source mapping, the others are done. Powertools' batch
    utility is imported here, not by every function (about 50 ms of a cold start)."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    response = process_partial_response(
        event=event,
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType[event_type]),
        context=context,
    )
    return dict(response)
