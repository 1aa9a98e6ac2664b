"""Figure 2: driftguard's own CPU per event, with AWS stubbed.

The remediation service wired to the unit tests' in-memory fakes (state table, live
policies, IAM, alert topic, re-check queue, signatures, clock), as tests/unit/
test_service.py's World: what is left is driftguard's own work (parsing the event,
the policy model, the decision, the records it builds). Each event is timed with
time.process_time from its CloudTrail detail (validated as the handler validates
it) to the alert, and each runs on a resource (or role) of its own, so no event
finds the previous one's answers cached. Run before the sandbox starts: its server
threads would count in process_time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from driftguard.config import Config
from driftguard.decision import Result
from driftguard.events import CloudTrailDetail
from driftguard.kinds import registry
from driftguard.service import Remediator
from driftguard.vocabulary import Outcome
from tests.bench.report import Row, Section, percentile
from tests.support.config import VALID_ENV
from tests.support.fakes import (
    SIGNATURES,
    START,
    FakeClients,
    FakeClock,
    FakeIam,
    FakePolicies,
    FakePublisher,
    FakeRechecks,
    FakeStore,
    approved,
    declaration,
    in_sync_status,
)

ACCOUNT = "111111111111"
VENDOR = "arn:aws:iam::444455556666:root"


def _policy(*principals: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": list(principals)},
                    "Action": ["kms:Decrypt", "kms:DescribeKey"],
                    "Resource": "*",
                }
            ],
        }
    )


class StubbedWorld:
    """The service on the fakes, as tests/unit/test_service.py's World wires it."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.store = FakeStore(self.clock)
        self.kind = FakePolicies()
        self.iam = FakeIam()
        self.publisher = FakePublisher()
        self.remediator = Remediator(
            Config.model_validate(VALID_ENV),
            FakeClients(self.iam),  # type: ignore[arg-type]
            self.store,  # type: ignore[arg-type]
            self.publisher,  # type: ignore[arg-type]
            FakeRechecks(),  # type: ignore[arg-type]
            signatures=SIGNATURES,
            clock=self.clock,
        )

    def declare(self, arn: str, role: str, role_id: str, live: str) -> None:
        """`arn` declared to grant `role`, approved as `role_id`; `live` is on AWS."""
        declared = declaration(arn, _policy(role), principals=(role,))
        self.store.declare(declared, in_sync_status(declared))
        self.store.put_trust(approved(role, role_id))
        self.kind.live[arn] = live


@contextmanager
def _fake_kind_registered(world: StubbedWorld) -> Iterator[None]:
    # Fan-outs resolve kinds by name from what the store holds (as the unit tests do).
    registry._KINDS[world.kind.name] = world.kind
    try:
        yield
    finally:
        del registry._KINDS[world.kind.name]


def _detail(n: int, name: str, source: str, **fields: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventSource": source,
        "eventName": name,
        "eventTime": START.isoformat(),
        "awsRegion": "us-east-1",
        "recipientAccountId": ACCOUNT,
        "eventID": f"event-{n}",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory"},
        **fields,
    }


def _role(n: int) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/pod-role-{n}"


def _unique_id(n: int, generation: int) -> str:
    return f"AROA{generation}{n:016d}"


def _arn(n: int, what: str = "key") -> str:
    return f"arn:aws:fake:us-east-1:{ACCOUNT}:thing/{what}-{n}"


# -- the three events ---------------------------------------------------------------
# Each `prepare(world, n)` sets the scene for event n (untimed) and returns the
# detail; `handle(world, detail)` is what is timed.


def _in_sync(world: StubbedWorld, n: int) -> dict[str, Any]:
    if n == 0:
        world.iam.roles[_role(0)] = _unique_id(0, 1)
        world.declare(_arn(0), _role(0), _unique_id(0, 1), _policy(_role(0)))
    return _detail(n, "PutFakePolicy", "fake.amazonaws.com", resources=[{"ARN": _arn(0)}])


def _widened(world: StubbedWorld, n: int) -> dict[str, Any]:
    world.iam.roles[_role(n)] = _unique_id(n, 1)
    world.declare(_arn(n), _role(n), _unique_id(n, 1), _policy(_role(n), VENDOR))
    return _detail(n, "PutFakePolicy", "fake.amazonaws.com", resources=[{"ARN": _arn(n)}])


def _role_created(world: StubbedWorld, n: int) -> dict[str, Any]:
    """pod-role-n was deleted (its unique ID left in two policies) and is created again
    with the trust policy the team approved."""
    old, new = _unique_id(n, 1), _unique_id(n, 2)
    for what in ("key", "secret"):
        world.declare(_arn(n, what), _role(n), old, _policy(old))
    world.store.unique_ids[old] = _role(n)
    world.iam.roles[_role(n)] = new
    return _detail(
        n,
        "CreateRole",
        "iam.amazonaws.com",
        requestParameters={"roleName": f"pod-role-{n}"},
        responseElements={"role": {"arn": _role(n), "roleId": new}},
    )


def _on_policy(world: StubbedWorld, detail: dict[str, Any]) -> list[Result]:
    return world.remediator.on_policy_change(CloudTrailDetail.model_validate(detail), world.kind)


def _on_role(world: StubbedWorld, detail: dict[str, Any]) -> list[Result]:
    return world.remediator.on_role_created(CloudTrailDetail.model_validate(detail))


Prepare = Callable[[StubbedWorld, int], dict[str, Any]]
Handle = Callable[[StubbedWorld, dict[str, Any]], list[Result]]
# name -> (set the scene, handle the event, the outcomes it must have)
EVENTS: dict[str, tuple[Prepare, Handle, list[Outcome]]] = {
    "in-sync policy event": (_in_sync, _on_policy, [Outcome.IN_SYNC]),
    "widened -> restored": (_widened, _on_policy, [Outcome.REMEDIATED]),
    "CreateRole restoring 2": (_role_created, _on_role, [Outcome.REMEDIATED] * 2),
}


def run(events: int) -> tuple[Section, list[Row]]:
    samples = measure(events)
    section = Section(
        "2. Own CPU per event, AWS stubbed (time.process_time, ms)",
        ("event", "p50 ms", "p99 ms", "max ms", "events"),
        notes=[
            "The service wired to tests/support/fakes (as tests/unit/test_service.py's World): "
            "parsing the CloudTrail detail, lease, load, policy model, decision, restore and "
            "verify, records and alert.",
            "Each event on a resource or role of its own; the three kinds take turns, event "
            "after event; max includes garbage collections.",
        ],
    )
    rows = []
    for name, values in samples.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        section.lines.append(
            (name, f"{p50:.2f}", f"{p99:.2f}", f"{max(values):.2f}", str(len(values)))
        )
        rows.append(
            Row(
                f"2. CPU/event: {name}",
                f"p50 {p50:.2f} ms, p99 {p99:.2f} ms",
                "- (none set)",
                None,
            )
        )
    return section, rows


def measure(events: int) -> dict[str, list[float]]:
    """Milliseconds of CPU per event for each kind of event, measured in turns (one
    event of each, round after round) so that anything else slowing the machine
    slows all three alike."""
    worlds = {name: StubbedWorld() for name in EVENTS}
    samples: dict[str, list[float]] = {name: [] for name in EVENTS}
    for n in range(events + 1):  # event 0 warms up (first parse of each model)
        for name, (prepare, handle, expected) in EVENTS.items():
            world = worlds[name]
            world.clock.advance(3600)  # an hour between events: no fight, no held lease
            detail = prepare(world, n)
            with _fake_kind_registered(world):
                start = time.process_time()
                results = handle(world, detail)
                spent = time.process_time() - start
            outcomes = [r.outcome for r in results]
            if outcomes != expected:  # measuring the wrong path would say nothing
                raise RuntimeError(f"{name}: event {n} gave {outcomes}, not {expected}")
            if n:
                samples[name].append(spent * 1000)
    return samples
