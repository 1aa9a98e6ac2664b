"""The sweep, fanned out: a planner and one worker per account and region.

The planner (ReconcilerFunction, on its schedule) counts the declared resources of
each account and region in one pass over the ByAccount index and sends one message
per account and region to the sweep queue, largest first. Workers (SweepWorkerFunction,
fed by that queue up to its maximum concurrency) each take one: the shard's lease
(one worker per account and region, as their quotas are shared), the resources'
declarations and statuses in batched consistent reads, then each resource looked at
on a pool of threads under the rate limiter (driftguard.quotas). An in-sync resource
costs one policy read; one that needs a write is checked again under its own lease,
exactly as an event would check it, and alerted.

No invocation grows with the organisation: the planner's work is one index scan and
a message per shard, a worker's is one account and region. The CLI's
`scan --remediate` runs the same plan and the same worker code, one shard after
another (`Sweeper.sweep`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from driftguard import kinds
from driftguard.decision import Decision, Observation, Result
from driftguard.errors import DriftguardError, InvalidEventError, LeaseBusyError
from driftguard.inspector import Inspector
from driftguard.kinds import inventory
from driftguard.model import Declared, StatusRecord, Trigger
from driftguard.service import Remediator
from driftguard.state import StateStore
from driftguard.threads import in_threads
from driftguard.vocabulary import Outcome, Status, TriggerKind

SEND_BATCH = 10  # SendMessageBatch's limit


@dataclass(frozen=True)
class Shard:
    """One account and region: what one worker invocation sweeps."""

    account: str
    region: str
    resources: int  # as planned; the worker reads the current list
    # Where a worker that ran short of time stopped: the rest is swept by the next
    # one (the position of the last resource done, `position()`).
    after: str | None = None

    def body(self) -> str:
        message: dict[str, Any] = {
            "account": self.account,
            "region": self.region,
            "resources": self.resources,
        }
        if self.after is not None:
            message["after"] = self.after
        return json.dumps(message)


def position(arn: str, kind: str) -> str:
    """A resource's place in a shard's order: by a hash of its ARN, so that the kinds
    come mixed. Secrets wait on their quota (25 a second) while keys go on the other
    threads, instead of all the keys first and then all the secrets one by one."""
    return f"{hashlib.sha256(arn.encode()).hexdigest()[:16]}#{kind}#{arn}"


class _ShardMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
    resources: int = Field(ge=0)
    after: str | None = Field(default=None, max_length=2100)


def parse_shard(body: str) -> Shard:
    try:
        message = _ShardMessage.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidEventError(f"not a sweep shard: {exc.errors()[0]['msg']}") from None
    return Shard(message.account, message.region, message.resources, message.after)


# Paths per sweep message: a path's check is about a dozen reads in up to four
# accounts (~0.5 s); ten fit any worker's time many times over.
PATHS_PER_BATCH = 10


@dataclass(frozen=True)
class PathBatch:
    """Declared access paths one worker verifies (driftguard.path_watch.sweep)."""

    names: tuple[str, ...]

    def body(self) -> str:
        return json.dumps({"paths": list(self.names)})


class _PathMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    paths: tuple[str, ...] = Field(min_length=1, max_length=PATHS_PER_BATCH)


def path_batches(names: Sequence[str]) -> list[PathBatch]:
    ordered = sorted(names)
    return [
        PathBatch(tuple(ordered[start : start + PATHS_PER_BATCH]))
        for start in range(0, len(ordered), PATHS_PER_BATCH)
    ]


def parse_sweep_message(body: str) -> Shard | PathBatch:
    """A message of the sweep queue: a shard of resources, or a batch of paths."""
    try:
        is_paths = "paths" in json.loads(body)
    except (ValueError, TypeError):
        is_paths = False
    if not is_paths:
        return parse_shard(body)
    try:
        return PathBatch(_PathMessage.model_validate_json(body).paths)
    except ValidationError as exc:
        raise InvalidEventError(f"not a batch of paths: {exc.errors()[0]['msg']}") from None


@dataclass(frozen=True)
class ResourceFilter:
    """Which declared resources a scan or a sweep looks at (the CLI's filters). An
    empty set allows anything; `statuses` are the recorded ones, so a resource never
    checked yet matches only when no status is asked for."""

    accounts: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    statuses: frozenset[Status] = frozenset()

    def selects_shard(self, account: str, region: str) -> bool:
        return _allows(self.accounts, account) and _allows(self.regions, region)

    def matches(self, account: str, region: str, kind: str, status: Status | None) -> bool:
        return (
            self.selects_shard(account, region)
            and _allows(self.kinds, kind)
            and (not self.statuses or status in self.statuses)
        )

    @property
    def narrows(self) -> bool:
        """It leaves anything out at all."""
        return bool(self.accounts or self.regions or self.within_shards)

    @property
    def within_shards(self) -> bool:
        """It leaves out some resources of the shards it selects (a shard's planned
        count is then only an upper bound)."""
        return bool(self.kinds or self.statuses)


def _allows(wanted: frozenset[str], value: str) -> bool:
    return not wanted or value in wanted


def plan(counts: Counter[tuple[str, str]]) -> list[Shard]:
    """One shard per account and region, largest first: the longest workers start
    first, so the sweep ends when the largest shard does."""
    return [
        Shard(account, region, n)
        for (account, region), n in sorted(counts.items(), key=lambda c: (-c[1], c[0]))
    ]


class SweepQueue:
    """The one adapter to the sweep queue: shards in, ten per request."""

    def __init__(self, sqs: Callable[[], Any], queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def send(self, shards: Sequence[Shard | PathBatch]) -> None:
        for start in range(0, len(shards), SEND_BATCH):
            batch = shards[start : start + SEND_BATCH]
            entries = [{"Id": str(n), "MessageBody": shard.body()} for n, shard in enumerate(batch)]
            response = self._sqs().send_message_batch(QueueUrl=self._url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:  # the schedule's retry plans again; a shard swept twice is harmless
                codes = ", ".join(sorted({str(f.get("Code")) for f in failed}))
                raise DriftguardError(f"{len(failed)} sweep shards not queued ({codes})")


Loaded = tuple[Declared | None, StatusRecord | None]


@dataclass(frozen=True)
class ShardState:
    """A shard's declared resources (arn, kind) and their state, read in batches."""

    resources: list[tuple[str, str]]
    loaded: dict[str, Loaded]


def read_shard(store: StateStore, shard: Shard, only: ResourceFilter | None = None) -> ShardState:
    """The shard's resources in order, from where an earlier worker stopped (and of
    them only those `only` matches, when given)."""
    names = [
        kind.name for kind in kinds.all_kinds() if only is None or _allows(only.kinds, kind.name)
    ]
    listed = sorted(
        store.resources_in(shard.account, shard.region, names),
        key=lambda item: position(*item),
    )
    if shard.after is not None:
        listed = [item for item in listed if position(*item) > shard.after]
    loaded = store.load_many([arn for arn, _ in listed])
    if only is not None:
        listed = [
            (arn, kind)
            for arn, kind in listed
            if only.matches(shard.account, shard.region, kind, _recorded(loaded[arn]))
        ]
    return ShardState(listed, loaded)


def _recorded(loaded: Loaded) -> Status | None:
    record = loaded[1]
    return record.status if record is not None else None


def survey(
    store: StateStore,
    inspector: Inspector,
    shard: Shard,
    threads: int,
    only: ResourceFilter | None = None,
) -> Iterator[tuple[str, str, Observation | Exception | None]]:
    """Read only (the CLI's `scan`): each resource's observation (None: a status but no
    declaration), or what stopped it, in batched reads and on threads."""
    state = read_shard(store, shard, only)
    lookup = inspector.lookup()

    def observe(item: tuple[str, str]) -> tuple[str, str, Observation | Exception | None]:
        arn, kind = item
        declared, previous = state.loaded[arn]
        if declared is None:
            return arn, kind, None
        try:
            target = kinds.target(arn, kind)
            return arn, kind, inspector.observe(target, declared, previous, lookup)
        except (DriftguardError, ClientError, BotoCoreError) as exc:
            return arn, kind, exc

    yield from in_threads(observe, state.resources, threads)


@dataclass(frozen=True)
class Swept:
    results: list[Result]
    rest: Shard | None = None  # what did not fit in the worker's time


class Sweeper:
    def __init__(
        self,
        remediator: Remediator,
        store: StateStore,
        *,
        threads: int,
        lease_seconds: int,
    ) -> None:
        self._remediator = remediator
        self._store = store
        self._threads = threads
        self._lease_seconds = lease_seconds

    def plan(self, only: ResourceFilter | None = None) -> list[Shard]:
        shards = plan(self._store.shards())
        if only is None:
            return shards
        return [shard for shard in shards if only.selects_shard(shard.account, shard.region)]

    def sweep(
        self,
        on_result: Callable[[Result], None] | None = None,
        only: ResourceFilter | None = None,
    ) -> list[Result]:
        """Every shard here, one after another (the CLI's `scan --remediate`); with
        `only`, just the resources it matches."""
        results: list[Result] = []
        for shard in self.plan(only):
            results.extend(self.sweep_shard(shard, on_result, only=only).results)
        return results

    def sweep_shard(
        self,
        shard: Shard,
        on_result: Callable[[Result], None] | None = None,
        *,
        deadline: float | None = None,
        only: ResourceFilter | None = None,
    ) -> Swept:
        """Every declared resource of one account and region, or as many as fit before
        `deadline` (the clock's monotonic seconds) and the shard's rest. Nothing when
        another worker holds the shard (a duplicate message: that worker sweeps it)."""
        try:
            owner = self._store.take_shard_lease(shard.account, shard.region, self._lease_seconds)
        except LeaseBusyError:
            return Swept([])
        try:
            swept = self._sweep(shard, on_result or (lambda result: None), deadline, only)
            if swept.rest is None and only is None:  # all of it: count what exists there
                clients, clock = self._remediator.clients, self._remediator.clock
                inventory.record(self._store, clients, shard.account, shard.region, clock.now)
            return swept
        finally:
            self._store.release_shard_lease(shard.account, shard.region, owner)

    def _sweep(
        self,
        shard: Shard,
        on_result: Callable[[Result], None],
        deadline: float | None,
        only: ResourceFilter | None,
    ) -> Swept:
        trigger = Trigger(kind=TriggerKind.SWEEP)
        state = read_shard(self._store, shard, only)
        lookup = self._remediator.lookup()

        def glance(item: tuple[str, str]) -> tuple[str, str, Decision | Result | None]:
            arn, kind = item
            try:
                target = kinds.target(arn, kind)
            except DriftguardError as exc:
                return arn, kind, Result(arn=arn, outcome=Outcome.FAILED, reason=str(exc))
            return arn, kind, self._remediator.glance(target, state.loaded[arn], trigger, lookup)

        results: list[Result] = []
        rest = None
        glances = in_threads(glance, state.resources, self._threads)
        for arn, kind, seen in glances:
            # Anything to write is done here, one at a time, under the resource's lease.
            if seen is None:
                seen = self._remediator.checked(kinds.target(arn, kind), trigger, lookup)
            result = seen.result if isinstance(seen, Decision) else seen
            results.append(result)
            on_result(result)
            if deadline is not None and self._remediator.clock.monotonic() > deadline:
                left = len(state.resources) - len(results)
                if left:
                    rest = replace(shard, resources=left, after=position(arn, kind))
                glances.close()  # what has not started is the rest's
                break
        self._remediator.schedule_rechecks(results, trigger)
        return Swept(results, rest)
