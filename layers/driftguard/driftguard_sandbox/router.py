"""The sandbox's event bus: template rules -> asynchronous Lambda-style deliveries.

Routing uses the rules of template.yaml and moto's real EventBridge pattern
matcher. Events from the hub account are matched against the rules on the hub's
default bus; events from any other account against the rules on the hub custom
bus (where the spoke stacks forward them).

SNS messages are routed too: a message published to a topic that a function's
`Events` (Type SNS) subscribe it to is delivered to that function, as the
one-record SNS event (`publish_notification`).

Delivery mimics asynchronous Lambda invocation: one worker thread takes
(function, event) off a queue, calls the invoker, retries a failing invocation
twice more, then sends the event to its dead-letter queue (the rule's
`DeadLetterConfig` for EventBridge, the function's `DeadLetterQueue` for SNS)
and records the failure. Whatever happens, a `Delivery` is recorded, so a
missing or broken handler shows up as a recorded error instead of a silent drop.
"""

from __future__ import annotations

import heapq
import itertools
import json
import queue
import random
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from moto.events.models import EventPattern

from driftguard_sandbox.clock import SandboxTime
from driftguard_sandbox.template import FunctionSpec, RuleSpec

__all__ = [
    "DeadLetterSink",
    "Delivery",
    "FunctionDeadLetterSink",
    "Invoker",
    "Router",
    "Subscription",
]

Event = dict[str, Any]
Invoker = Callable[[FunctionSpec, Event], Any]
DeadLetterSink = Callable[[FunctionSpec, RuleSpec, Event, str], None]
# (function, event, error): Lambda's own dead-letter queue for a failed async invocation.
FunctionDeadLetterSink = Callable[[FunctionSpec, Event, str], None]

ASYNC_ATTEMPTS = 3  # Lambda asynchronous invocation: 1 try + 2 retries


@dataclass
class Delivery:
    """One event delivered to one function, and how it ended.

    `rule` names what delivered it: the EventBridge rule (the function's
    `Events` entry), or `sns:<topic name>` for an SNS subscription."""

    function: str
    rule: str
    event: Event
    result: Any = None
    error: str | None = None
    attempts: int = 0
    dead_lettered: bool = False
    started: float = 0.0  # monotonic real time of the first attempt
    finished: float = 0.0  # and of the end of the last

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _Route:
    function: FunctionSpec
    rule: RuleSpec
    pattern: EventPattern


@dataclass(frozen=True)
class Subscription:
    """A function subscribed to an SNS topic (an `Events` entry of Type SNS)."""

    topic_arn: str
    function: FunctionSpec

    @property
    def name(self) -> str:
        return f"sns:{self.topic_arn.rpartition(':')[2]}"

    @property
    def arn(self) -> str:
        """Stable per (topic, function), shaped like SNS's `<topic arn>:<uuid>`."""
        key = f"{self.topic_arn}|{self.function.logical_id}"
        return f"{self.topic_arn}:{uuid.uuid5(uuid.NAMESPACE_URL, key)}"


@dataclass(frozen=True)
class _Job:
    """One queued delivery; `dead_letter(error)` keeps the event when every attempt failed
    (`attempts`: None for the router's asynchronous-invocation default)."""

    function: FunctionSpec
    source: str
    event: Event
    dead_letter: Callable[[str], None] | None
    attempts: int | None = None
    # An answer that still means failure (an SQS batch with failed items).
    failed: Callable[[Any], bool] | None = None


@dataclass
class DeliveryChaos:
    """EventBridge delivers at least once, late and in no particular order: each
    delivery gets `duplicates` extra copies, and every copy a random delay of up to
    `max_delay` AWS seconds (so they arrive reordered). Off by default."""

    duplicates: int = 0
    max_delay: float = 0.0
    seed: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._random.seed(self.seed)

    def copies(self) -> list[float]:
        """The delay (AWS seconds) of each copy of one delivery."""
        return [self._random.uniform(0, self.max_delay) for _ in range(1 + self.duplicates)]


class Router:
    """Matches events to functions and delivers them on a single worker thread."""

    def __init__(
        self,
        specs: Sequence[FunctionSpec],
        *,
        hub_account: str,
        invoker: Invoker,
        dead_letter: DeadLetterSink | None = None,
        function_dead_letter: FunctionDeadLetterSink | None = None,
        subscriptions: Sequence[Subscription] = (),
        attempts: int = ASYNC_ATTEMPTS,
        time: SandboxTime | None = None,
    ) -> None:
        self.hub_account = hub_account
        self.time = time or SandboxTime()
        self.chaos = DeliveryChaos()
        self.invoker = invoker
        self.dead_letter = dead_letter
        self.function_dead_letter = function_dead_letter
        self.attempts = attempts
        self.specs = {spec.logical_id: spec for spec in specs}
        self.events: list[Event] = []
        self.deliveries: list[Delivery] = []
        self._routes = [
            _Route(spec, rule, EventPattern.load(json.dumps(rule.pattern)))
            for spec in specs
            for rule in spec.event_rules
        ]
        # From the specs' `sns_topics`, resolved to topic ARNs by whoever deployed them.
        self.subscriptions = list(subscriptions)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0
        self._pending_for: Counter[str] = Counter()  # by function's logical id
        self._idle = threading.Condition()
        self._later: list[tuple[float, int, _Job]] = []  # (due, order, job), a heap
        self._order = itertools.count()
        self._stopped = False
        self._accepting = True  # False from `drain` to `clear`: nothing new is queued
        self._worker = threading.Thread(target=self._work, name="sandbox-router", daemon=True)
        self._worker.start()
        self._timer = threading.Thread(target=self._wake, name="sandbox-timer", daemon=True)
        self._timer.start()

    # -- routing --------------------------------------------------------------
    def bus_for(self, event: Event) -> str:
        return "default" if event.get("account") == self.hub_account else "hub"

    def _matching_routes(self, event: Event) -> list[_Route]:
        bus = self.bus_for(event)
        return [
            route
            for route in self._routes
            if route.rule.bus == bus and route.pattern.matches_event(cast(Any, event))
        ]

    def matching_functions(self, event: Event) -> list[str]:
        """Logical ids of the functions `event` would be delivered to (no delivery)."""
        return list(dict.fromkeys(r.function.logical_id for r in self._matching_routes(event)))

    def publish(self, event: Event) -> int:
        """Record `event` and queue one delivery per matching rule; returns how many."""
        routes = self._matching_routes(event)
        jobs = [
            _Job(route.function, route.rule.name, event, self._keeper(route, event))
            for route in routes
        ]
        with self._idle:
            self.events.append(event)
        if not (self.chaos.duplicates or self.chaos.max_delay):
            self._enqueue(jobs)
            return len(jobs)
        for job in jobs:
            for delay in self.chaos.copies():
                self.schedule(job, delay)
        return len(jobs)

    def _keeper(self, route: _Route, event: Event) -> Callable[[str], None] | None:
        """Where an event whose handler failed every attempt is kept. EventBridge
        invokes Lambda asynchronously, so that is the function's own dead-letter
        queue; the rule's is for events EventBridge could not hand over at all,
        which cannot happen here, so it is only the fallback."""
        if self.function_dead_letter is not None and route.function.dead_letter_arn:
            return partial(self.function_dead_letter, route.function, event)
        if self.dead_letter is not None and route.rule.dead_letter_arn:
            return partial(self.dead_letter, route.function, route.rule, event)
        return None

    def subscribers(self, topic_arn: str) -> list[Subscription]:
        return [s for s in self.subscriptions if s.topic_arn == topic_arn]

    def publish_notification(
        self, topic_arn: str, event_for: Callable[[Subscription], Event]
    ) -> int:
        """Queue one delivery per function subscribed to `topic_arn`; returns how many.

        `event_for(subscription)` builds each function's event (SNS puts the
        subscription's ARN in it). Not recorded in `events` (CloudTrail's list)."""
        jobs = []
        for subscription in self.subscribers(topic_arn):
            event = event_for(subscription)
            sink = self.function_dead_letter
            jobs.append(
                _Job(
                    subscription.function,
                    subscription.name,
                    event,
                    partial(sink, subscription.function, event)
                    if sink is not None and subscription.function.dead_letter_arn
                    else None,
                )
            )
        self._enqueue(jobs)
        return len(jobs)

    def _enqueue(self, jobs: list[_Job]) -> None:
        # Counted before queued, so `wait_idle` right after the triggering call sees them.
        with self._idle:
            if not self._accepting:
                return
            self._pending += len(jobs)
            self._pending_for.update(job.function.logical_id for job in jobs)
        for job in jobs:
            self._queue.put(job)

    def schedule(self, job: _Job, delay: float) -> None:
        """Deliver `job` after `delay` AWS seconds (counted as pending meanwhile)."""
        with self._idle:
            if not self._accepting:
                return
            self._pending += 1
            self._pending_for[job.function.logical_id] += 1
            heapq.heappush(
                self._later, (time.monotonic() + self.time.real(delay), next(self._order), job)
            )
            self._idle.notify_all()

    def _wake(self) -> None:
        """Moves each scheduled job to the worker's queue when it is due."""
        with self._idle:
            while not self._stopped:
                now = time.monotonic()
                while self._later and self._later[0][0] <= now:
                    self._queue.put(heapq.heappop(self._later)[2])
                wait = self._later[0][0] - now if self._later else None
                self._idle.wait(wait)

    # -- worker ---------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                delivery = self._deliver(job)
                with self._idle:
                    self.deliveries.append(delivery)
            except BaseException:  # the worker must survive anything
                traceback.print_exc()
            finally:
                with self._idle:
                    self._pending -= 1
                    self._pending_for[job.function.logical_id] -= 1
                    self._idle.notify_all()

    def _deliver(self, job: _Job) -> Delivery:
        delivery = Delivery(
            function=job.function.logical_id,
            rule=job.source,
            event=job.event,
            started=time.monotonic(),
        )
        try:
            return self._attempt(job, delivery)
        finally:
            delivery.finished = time.monotonic()

    def _attempt(self, job: _Job, delivery: Delivery) -> Delivery:
        for attempt in range(1, (job.attempts or self.attempts) + 1):
            delivery.attempts = attempt
            try:
                delivery.result = self.invoker(job.function, job.event)
                if job.failed is not None and job.failed(delivery.result):
                    raise RuntimeError(f"the function reported failures: {delivery.result}")
                delivery.error = None
                return delivery
            except Exception as error:
                delivery.error = f"{type(error).__name__}: {error}"
        if job.dead_letter is not None:
            try:
                job.dead_letter(delivery.error or "")
                delivery.dead_lettered = True
            except Exception as error:
                delivery.error = f"{delivery.error}; dead-letter failed: {error}"
        return delivery

    # -- control --------------------------------------------------------------
    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every queued delivery (and what it triggered) has finished."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self._pending} deliveries still pending after {timeout}s")
                self._idle.wait(remaining)

    def wait_for(self, logical_id: str, timeout: float = 30.0) -> None:
        """Block until no delivery to that function is queued, scheduled or running."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending_for[logical_id] > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self._pending_for[logical_id]} deliveries to {logical_id} still "
                        f"pending after {timeout}s"
                    )
                self._idle.wait(remaining)

    @property
    def idle(self) -> bool:
        with self._idle:
            return self._pending == 0

    def drain(self, timeout: float = 30.0) -> None:
        """Drop queued and scheduled deliveries, wait for the one in progress, and take
        no new ones until `clear` (before a reset, after a test)."""
        with self._idle:
            self._accepting = False
            self._pending -= len(self._later)
            self._pending_for.subtract(job.function.logical_id for *_, job in self._later)
            self._later.clear()
            self._idle.notify_all()
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                with self._idle:
                    self._pending -= 1
                    self._pending_for[item.function.logical_id] -= 1
                    self._idle.notify_all()
        self.wait_idle(timeout)

    def clear(self, invoker: Invoker) -> None:
        """Forget recorded events and deliveries and the delivery chaos; use `invoker`
        from now on."""
        with self._idle:
            self.events.clear()
            self.deliveries.clear()
            self.invoker = invoker
            self.chaos = DeliveryChaos()
            self._accepting = True

    def stop(self) -> None:
        with self._idle:
            self._stopped = True
            self._idle.notify_all()
        self._queue.put(None)
        self._worker.join(timeout=5)
        self._timer.join(timeout=5)
