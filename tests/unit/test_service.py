"""The remediation service around the decision, with in-memory fakes of its adapters:
the leases, the put with backoff, the verification, what is written and alerted.
No sockets and no real time: the clock is injected and sleeping only moves it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from driftguard import policy as policy_module
from driftguard.arns import Arn
from driftguard.config import Config
from driftguard.decision import Decision, Result
from driftguard.errors import InvalidEventError
from driftguard.events import CloudTrailDetail
from driftguard.kinds import Target, registry
from driftguard.model import Declared, StatusRecord, Trigger, TrustRecord
from driftguard.service import Remediator
from driftguard.sweep import Sweeper, parse_shard, position
from driftguard.vocabulary import (
    AlertType,
    AuditAction,
    Mode,
    Outcome,
    Severity,
    Status,
    TriggerKind,
)
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
    FakeSignatures,
    FakeStore,
    approved,
    declaration,
    in_sync_status,
)

ACCOUNT = "111111111111"
KEY = f"arn:aws:fake:us-east-1:{ACCOUNT}:thing/key"
SECRET = f"arn:aws:fake:us-east-1:{ACCOUNT}:thing/secret"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pod-role"
ROLE_ID = "AROABBBBBBBBBBBBBBBBB"
OLD_ROLE_ID = "AROAAAAAAAAAAAAAAAAAA"
VENDOR = "arn:aws:iam::444455556666:root"
PROPAGATION_SECONDS = 120.0


def policy(*principals: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": list(principals) if len(principals) > 1 else principals[0]
                    },
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                }
            ],
        }
    )


DECLARED_POLICY = policy(ROLE)


class World:
    """The service wired to fakes; `kind` holds the live policies."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.store = FakeStore(self.clock)
        self.kind = FakePolicies()
        self.iam = FakeIam(roles={ROLE: ROLE_ID})
        self.publisher = FakePublisher()
        self.rechecks = FakeRechecks()
        self.events = 0
        config = Config.model_validate(VALID_ENV)
        self.remediator = Remediator(
            config,
            FakeClients(self.iam),  # type: ignore[arg-type]
            self.store,  # type: ignore[arg-type]
            self.publisher,  # type: ignore[arg-type]
            self.rechecks,  # type: ignore[arg-type]
            signatures=SIGNATURES,
            clock=self.clock,
        )
        self.sweeper = Sweeper(
            self.remediator,
            self.store,  # type: ignore[arg-type]
            threads=config.sweep_threads,
            lease_seconds=960,
        )

    def declare(self, arn: str, text: str = DECLARED_POLICY, mode: Mode = Mode.ENFORCE) -> None:
        declared = declaration(arn, text, principals=(ROLE,), mode=mode)
        self.store.declare(declared, in_sync_status(declared))
        self.store.put_trust(approved(ROLE, ROLE_ID))  # the role as it was when declared
        self.kind.live[arn] = text

    def check(
        self, arn: str, kind: TriggerKind = TriggerKind.POLICY_CHANGED, event_id: str = ""
    ) -> Decision:
        self.events += 1  # each check another event, unless told
        event_id = event_id or f"e-{self.events}"
        trigger = Trigger(kind=kind, event_name="PutFakePolicy", event_id=event_id, actor="mallory")
        decision = self.remediator.check(
            Target(Arn.parse(arn), self.kind), trigger, self.remediator.lookup()
        )
        assert isinstance(decision, Decision)
        self.remediator.schedule_rechecks([decision.result], trigger)
        return decision


@pytest.fixture
def world() -> Iterator[World]:
    world = World()
    # The fake kind is registered by name while the test runs (sweep and fan-out
    # resolve kinds from what the store holds).
    registry._KINDS[world.kind.name] = world.kind
    try:
        yield world
    finally:
        del registry._KINDS[world.kind.name]


def test_a_redelivered_policy_event_is_recognised_by_the_lease_and_not_run_again(
    world: World,
) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(ROLE, VENDOR)
    first = world.check(KEY, event_id="the-event")
    assert first.outcome is Outcome.REMEDIATED
    world.kind.live[KEY] = policy(ROLE, VENDOR)  # widened again, silently
    reads = world.kind.reads
    trigger = Trigger(kind=TriggerKind.POLICY_CHANGED, event_name="PutFakePolicy")
    again = world.remediator.check(
        Target(Arn.parse(KEY), world.kind),
        replace(trigger, event_id="the-event", actor="mallory"),
        world.remediator.lookup(),
    )
    assert isinstance(again, Result) and again.outcome is Outcome.IGNORED
    assert "handled already" in again.reason
    assert world.kind.reads == reads  # nothing read, nothing written
    assert world.kind.live[KEY] == policy(ROLE, VENDOR)
    # Another event on the same resource is checked as ever.
    assert world.check(KEY).outcome is Outcome.REMEDIATED


def test_an_in_sync_resource_reads_once_and_writes_nothing(world: World) -> None:
    world.declare(KEY)
    decision = world.check(KEY)
    assert decision.status is Status.IN_SYNC and decision.outcome is Outcome.IN_SYNC
    assert world.kind.reads == 1 and world.kind.puts == []
    assert world.store.writes == [] and world.publisher.alerts == []
    assert world.store.leases == {}  # taken and given back
    assert world.iam.calls == []  # nothing to restore: no principal looked up


def test_a_widened_policy_is_put_back_verified_recorded_and_alerted_once(world: World) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(ROLE, VENDOR)
    world.clock.advance(60)

    decision = world.check(KEY)
    world.remediator._alert([decision], decision.trigger)

    assert decision.outcome is Outcome.REMEDIATED and decision.status is Status.IN_SYNC
    assert world.kind.puts == [(KEY, DECLARED_POLICY)]
    assert world.kind.live[KEY] == DECLARED_POLICY
    assert world.store.writes == [f"status {KEY}", f"audit {KEY}"]
    record = world.store.statuses[KEY]
    assert record.status is Status.IN_SYNC and record.remediated_at == world.clock.now()
    (entry,) = world.store.audit
    assert entry.action is AuditAction.RESTORED and entry.actor == "mallory"
    assert entry.findings == ("widened",)
    (alert,) = world.publisher.alerts
    assert alert.type is AlertType.RESTORED and alert.severity is Severity.CRITICAL
    assert world.clock.sleeps == []  # accepted and visible at once: no waiting


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda d: replace(d, policy=policy(ROLE, VENDOR)), id="policy-changed"),
        pytest.param(lambda d: replace(d, signature=""), id="unsigned"),
        pytest.param(lambda d: FakeSignatures(b"someone else's key").sign(d), id="other-key"),
        pytest.param(lambda d: SIGNATURES.sign(replace(d, arn=SECRET)), id="copied"),
    ],
)
def test_a_declaration_the_declarer_did_not_sign_is_never_applied(
    world: World, forge: Callable[[Declared], Declared]
) -> None:
    world.declare(KEY)
    world.store.declared[KEY] = forge(world.store.declared[KEY])  # straight into the table
    world.kind.live[KEY] = policy(ROLE, VENDOR)

    decision = world.check(KEY)
    world.remediator._alert([decision], decision.trigger)

    assert decision.status is Status.ERROR and world.kind.puts == []
    assert "sign" in decision.reason  # not signed, not verified, or signed for another
    (alert,) = world.publisher.alerts
    assert alert.type is AlertType.DECLARATION_REFUSED and alert.severity is Severity.CRITICAL
    assert alert.resources[0].arn == KEY

    again = world.check(KEY)  # the same refusal is one incident: alerted once
    assert again.alert is None and world.kind.puts == []


def test_a_refused_put_is_retried_for_a_moment(world: World) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(VENDOR)
    world.kind.reject_puts = 2

    decision = world.check(KEY)

    assert decision.outcome is Outcome.REMEDIATED
    assert world.clock.sleeps == [1.0, 2.0]
    assert world.rechecks.scheduled == []


def test_a_principal_aws_keeps_refusing_is_re_checked_not_slept_on(world: World) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(VENDOR)
    world.kind.reject_puts = 1000

    decision = world.check(KEY)

    assert decision.status is Status.PENDING_PRINCIPAL and decision.alert is None
    assert sum(world.clock.sleeps) <= world.remediator.config.put_retry_seconds
    ((recheck, delay),) = world.rechecks.scheduled
    assert (recheck.arns, recheck.attempt, delay) == ((KEY,), 1, 2)
    assert recheck.since == world.clock.now() and recheck.event_name == "PutFakePolicy"

    world.kind.reject_puts = 0  # IAM has propagated the principal
    world.clock.advance(delay)
    (result,) = world.remediator.on_recheck(world.rechecks.take()[0])

    assert result.outcome is Outcome.REMEDIATED and world.kind.live[KEY] == DECLARED_POLICY
    (alert,) = world.publisher.alerts
    assert alert.type is AlertType.RESTORED and alert.event_name == "PutFakePolicy"


def test_a_principal_refused_past_the_budget_is_a_restore_failure(world: World) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(VENDOR)
    world.kind.reject_puts = 1000
    world.check(KEY)
    for _ in range(100):
        pending = world.rechecks.take()
        if not pending:
            break
        world.clock.advance(15)
        world.remediator.on_recheck(pending[0])

    record = world.store.statuses[KEY]
    assert record.status is Status.ERROR and "still refused after 120s" in record.reason
    assert [a.type for a in world.publisher.alerts] == [AlertType.RESTORE_FAILED]
    assert world.kind.live[KEY] == policy(VENDOR)  # nothing was forced


def test_a_stale_read_after_the_put_is_read_again(world: World) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(VENDOR)
    world.kind.stale_reads = 2

    decision = world.check(KEY)

    assert decision.outcome is Outcome.REMEDIATED
    assert world.clock.sleeps == [0.25, 0.5]


def test_a_put_that_never_shows_is_an_error_looked_at_again(world: World) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(VENDOR)
    world.kind.stale_reads = 1000

    decision = world.check(KEY)

    assert decision.status is Status.ERROR
    assert "re-reading it still shows another policy" in decision.reason
    assert sum(world.clock.sleeps) <= world.remediator.config.verify_seconds
    assert len(world.rechecks.scheduled) == 1


def test_a_held_lease_is_waited_for_briefly_then_re_checked_without_an_error(
    world: World,
) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(VENDOR)
    holder = world.store.take_lease(KEY, 600)

    result = world.remediator.check(
        Target(Arn.parse(KEY), world.kind),
        Trigger(kind=TriggerKind.SWEEP),
        world.remediator.lookup(),
    )

    assert isinstance(result, Result) and result.outcome is Outcome.DEFERRED
    assert 0 < sum(world.clock.sleeps) <= world.remediator.config.lease_wait_seconds
    assert world.kind.puts == [] and world.store.writes == []
    assert world.store.leases[KEY][0] == holder  # the loser did not release it
    world.remediator.schedule_rechecks([result], Trigger(kind=TriggerKind.SWEEP))
    ((recheck, _),) = world.rechecks.scheduled
    assert recheck.arns == (KEY,) and recheck.trigger is TriggerKind.SWEEP


def test_a_lease_whose_holder_died_is_taken_over_once_it_expires(world: World) -> None:
    world.declare(KEY)
    world.store.take_lease(KEY, 1)
    world.clock.advance(2)
    assert world.check(KEY).status is Status.IN_SYNC


def test_an_undeclared_resource_is_seen_and_left_alone(world: World) -> None:
    world.kind.live[KEY] = policy(VENDOR)
    trigger = Trigger(kind=TriggerKind.POLICY_CHANGED, event_name="PutFakePolicy", actor="bob")
    result = world.remediator.check(
        Target(Arn.parse(KEY), world.kind), trigger, world.remediator.lookup()
    )
    assert isinstance(result, Result) and result.outcome is Outcome.UNDECLARED
    (entry,) = world.store.audit
    assert entry.action is AuditAction.OBSERVED_UNDECLARED and entry.actor == "bob"
    assert world.kind.puts == []


def test_a_missing_principal_holds_the_restore_and_asks_iam_once_per_trigger(
    world: World,
) -> None:
    for arn in (KEY, SECRET):
        world.declare(arn)
        world.kind.live[arn] = policy(VENDOR)
    world.iam.roles.clear()  # pod-role does not exist

    results = world.sweeper.sweep()

    assert {r.status for r in results} == {Status.PENDING_PRINCIPAL}
    # Asked once for both resources (the sweep also counts the account's roles).
    assert [c for c in world.iam.calls if c != "ListRoles"] == ["GetRole pod-role"]
    assert world.kind.puts == []
    assert [a.type for a in world.publisher.alerts] == [AlertType.PENDING_PRINCIPAL] * 2


def test_a_restore_then_three_sweeps_is_one_alert_and_one_history_entry(world: World) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(ROLE, VENDOR)
    world.sweeper.sweep()
    for _ in range(3):
        world.clock.advance(3600)
        assert [r.outcome for r in world.sweeper.sweep()] == [Outcome.IN_SYNC]
    assert [a.type for a in world.publisher.alerts] == [AlertType.RESTORED]
    assert [e.action for e in world.store.audit] == [AuditAction.RESTORED]
    assert world.store.writes == [f"status {KEY}", f"audit {KEY}"]


def delete_role_event() -> CloudTrailDetail:
    return CloudTrailDetail.model_validate(
        {
            "eventVersion": "1.08",
            "eventSource": "iam.amazonaws.com",
            "eventName": "DeleteRole",
            "eventTime": START.isoformat(),
            "awsRegion": "us-east-1",
            "recipientAccountId": ACCOUNT,
            "eventID": "delete-1",
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob"},
            "requestParameters": {"roleName": "pod-role"},
        }
    )


def test_a_deleted_role_is_one_alert_for_every_resource_naming_it(world: World) -> None:
    for arn in (KEY, SECRET):
        world.declare(arn)
        world.kind.live[arn] = policy(OLD_ROLE_ID)  # what AWS leaves after DeleteRole
    world.store.unique_ids[OLD_ROLE_ID] = ROLE
    world.iam.roles.clear()

    results = world.remediator.on_role_deleted(delete_role_event())

    assert {r.status for r in results} == {Status.ORPHANED_PRINCIPAL}
    (alert,) = world.publisher.alerts
    assert alert.type is AlertType.ORPHANED_PRINCIPAL and alert.role_arn == ROLE
    assert sorted(r.arn for r in alert.resources) == [KEY, SECRET]
    assert alert.unique_ids == {OLD_ROLE_ID: ROLE}  # from the registry, via the decision


def test_a_busy_resource_in_a_fan_out_is_re_checked_alone(world: World) -> None:
    for arn in (KEY, SECRET):
        world.declare(arn)
        world.kind.live[arn] = policy(OLD_ROLE_ID)
    world.iam.roles.clear()
    owner = world.store.take_lease(SECRET, 600)

    results = world.remediator.on_role_deleted(delete_role_event())  # no exception
    world.store.release_lease(SECRET, owner)
    (recheck,) = world.rechecks.take()
    world.remediator.on_recheck(recheck)

    assert {r.arn: r.outcome for r in results}[SECRET] is Outcome.DEFERRED
    first, second = world.publisher.alerts
    assert [r.arn for r in first.resources] == [KEY]
    assert [r.arn for r in second.resources] == [SECRET]
    assert second.type is AlertType.ORPHANED_PRINCIPAL and second.event_name == "DeleteRole"


def test_a_failure_in_one_resource_does_not_stop_the_sweep(world: World) -> None:
    world.declare(KEY)
    world.declare(SECRET)
    del world.kind.live[KEY]  # the key itself is gone
    results = {r.arn: r for r in world.sweeper.sweep()}
    assert results[KEY].status is Status.ERROR and "not found" in results[KEY].reason
    assert results[SECRET].outcome is Outcome.IN_SYNC
    (alert,) = world.publisher.alerts
    assert alert.type is AlertType.CHECK_FAILED


def test_a_resource_aws_throttles_does_not_stop_the_others(world: World) -> None:
    for arn in (KEY, SECRET):
        world.declare(arn)
        world.kind.live[arn] = policy(VENDOR)
    world.kind.throttled.add(KEY)

    results = {r.arn: r for r in world.sweeper.sweep()}  # no exception

    assert results[KEY].outcome is Outcome.FAILED and "ThrottlingException" in results[KEY].reason
    assert results[SECRET].outcome is Outcome.REMEDIATED
    ((recheck, _),) = world.rechecks.scheduled
    assert recheck.arns == (KEY,)  # looked at again, not lost


def test_time_comes_only_from_the_injected_clock(world: World) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(VENDOR)
    world.check(KEY)
    record: StatusRecord = world.store.statuses[KEY]
    moments: list[datetime | None] = [record.updated_at, record.remediated_at]
    moments += [entry.at for entry in world.store.audit]
    assert set(moments) == {world.clock.now()}


def test_results_report_what_happened(world: World) -> None:
    world.declare(KEY)
    world.kind.live[KEY] = policy(VENDOR)
    (result,) = world.sweeper.sweep()
    expected: dict[str, Any] = {
        "arn": KEY,
        "outcome": "remediated",
        "status": "in-sync",
        "reason": "",
    }
    assert result.as_dict() == expected


def test_each_policy_is_normalized_once_per_check(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The declared and the live policy once each; a restore adds the policy read back."""
    calls: list[object] = []
    real = policy_module._normalize

    def counting(p: Any) -> Any:
        calls.append(p)
        return real(p)

    monkeypatch.setattr(policy_module, "_normalize", counting)
    world.declare(KEY)
    world.check(KEY)
    assert len(calls) == 2

    calls.clear()
    world.kind.live[KEY] = policy(ROLE, VENDOR)
    assert world.check(KEY).restored
    assert len(calls) == 3


def create_role_event() -> CloudTrailDetail:
    return CloudTrailDetail.model_validate(
        {
            "eventVersion": "1.08",
            "eventSource": "iam.amazonaws.com",
            "eventName": "CreateRole",
            "eventTime": START.isoformat(),
            "awsRegion": "us-east-1",
            "recipientAccountId": ACCOUNT,
            "eventID": "create-1",
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob"},
            "requestParameters": {"roleName": "pod-role"},
            "responseElements": {"role": {"arn": ROLE, "roleId": ROLE_ID}},
        }
    )


def test_a_created_role_getrole_does_not_show_yet_is_checked_again_not_trusted(
    world: World,
) -> None:
    """IAM is eventually consistent: GetRole may answer NoSuchEntity right after
    CreateRole. A name is not an identity: driftguard waits to see the role (quietly, a
    scheduled re-check) before it gives it the declared access."""
    world.declare(KEY)
    world.kind.live[KEY] = policy(OLD_ROLE_ID)
    world.iam.roles.clear()  # GetRole does not see the new role yet

    (result,) = world.remediator.on_role_created(create_role_event())

    assert result.outcome is Outcome.PENDING and world.kind.puts == []
    assert world.publisher.alerts == []  # a wait, not an incident
    assert ROLE_ID not in world.store.unique_ids  # only GetRole's answer is recorded
    world.iam.roles[ROLE] = ROLE_ID  # now GetRole shows it
    (again,) = world.remediator.on_recheck(world.rechecks.take()[0])
    assert again.outcome is Outcome.REMEDIATED
    assert world.kind.live[KEY] == DECLARED_POLICY


def test_a_created_roles_unique_id_is_recorded_from_getrole_never_from_the_event(
    world: World,
) -> None:
    """A forged CreateRole naming an attacker's ID for a real role poisons nothing:
    `whois` answers from what IAM said."""
    world.declare(KEY)
    world.kind.live[KEY] = policy(OLD_ROLE_ID)
    forged = create_role_event().model_copy(
        update={"response_elements": {"role": {"arn": ROLE, "roleId": "AROAFORGEDFORGEDFORGE"}}}
    )

    world.remediator.on_role_created(forged)

    assert "AROAFORGEDFORGEDFORGE" not in world.store.unique_ids
    assert world.store.unique_ids[world.iam.roles[ROLE]] == ROLE


def test_what_one_role_event_left_waiting_is_re_checked_and_alerted_together(
    world: World,
) -> None:
    for arn in (KEY, SECRET):
        world.declare(arn)
        world.kind.live[arn] = policy(OLD_ROLE_ID)
    world.kind.reject_puts = 1000  # the new role has not propagated to the resources yet
    world.iam.roles.clear()  # nor to GetRole

    results = world.remediator.on_role_created(create_role_event())

    assert {r.outcome for r in results} == {Outcome.PENDING}
    ((recheck, delay),) = world.rechecks.scheduled  # one message for both
    assert set(recheck.arns) == {KEY, SECRET} and recheck.role == ROLE and delay == 2
    assert world.publisher.alerts == []  # waiting for IAM is no incident

    world.kind.reject_puts = 0
    world.iam.roles[ROLE] = ROLE_ID
    world.clock.advance(delay)
    again = world.remediator.on_recheck(world.rechecks.take()[0])

    assert {r.outcome for r in again} == {Outcome.REMEDIATED}
    (alert,) = world.publisher.alerts
    assert alert.type is AlertType.RESTORED and alert.role_arn == ROLE
    assert {r.arn for r in alert.resources} == {KEY, SECRET}
    assert alert.event_name == "CreateRole"


@pytest.mark.parametrize(
    ("name", "elements"),
    [
        ("DeleteRole", {"requestParameters": {"roleName": "x" * 100_000}}),
        ("DeleteRole", {"requestParameters": {"roleName": "pod role"}}),
        ("DeleteRole", {"requestParameters": {}}),
        ("CreateRole", {"responseElements": {"role": "x"}}),
        ("CreateRole", {"responseElements": {"role": {"arn": ROLE, "roleId": "x" * 100_000}}}),
        ("CreateRole", {"responseElements": {"role": {"arn": "x" * 100_000, "roleId": ROLE_ID}}}),
        (
            "CreateRole",  # a role of another account than the event's
            {
                "responseElements": {
                    "role": {"arn": ROLE.replace(ACCOUNT, "999999999999"), "roleId": ROLE_ID}
                }
            },
        ),
    ],
)
def test_a_malformed_role_event_is_a_clear_rejection(
    world: World, name: str, elements: dict[str, Any]
) -> None:
    detail = CloudTrailDetail.model_validate(
        {
            "eventVersion": "1.08",
            "eventSource": "iam.amazonaws.com",
            "eventName": name,
            "eventTime": START.isoformat(),
            "awsRegion": "us-east-1",
            "recipientAccountId": ACCOUNT,
            "eventID": "bad-1",
            "userIdentity": {"type": "IAMUser"},
            **elements,
        }
    )
    handle = (
        world.remediator.on_role_deleted
        if name == "DeleteRole"
        else world.remediator.on_role_created
    )
    with pytest.raises(InvalidEventError, match="bad-1"):
        handle(detail)
    assert world.store.writes == [] and world.publisher.alerts == []


def test_a_policy_event_naming_a_huge_arn_is_a_clear_rejection(world: World) -> None:
    detail = CloudTrailDetail.model_validate(
        {
            "eventVersion": "1.08",
            "eventSource": "fake.amazonaws.com",
            "eventName": "PutFakePolicy",
            "eventTime": START.isoformat(),
            "awsRegion": "us-east-1",
            "recipientAccountId": ACCOUNT,
            "eventID": "bad-2",
            "userIdentity": {"type": "IAMUser"},
            "resources": [{"ARN": "arn:aws:fake:us-east-1:111111111111:thing/" + "x" * 100_000}],
        }
    )
    with pytest.raises(InvalidEventError, match="bad-2"):
        world.remediator.on_policy_change(detail, world.kind)


# --------------------------------------------------------------------------- squatting

SQUATTER_TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": VENDOR}, "Action": "sts:AssumeRole"}],
}


def recreated(world: World, trust: dict[str, Any] | None) -> None:
    """pod-role was deleted (its unique ID in the policy) and a role of that name made
    again, with `trust` (None: the approved one)."""
    world.declare(KEY)
    world.store.put_trust(approved(ROLE, OLD_ROLE_ID))  # the role the team approved
    world.kind.live[KEY] = policy(OLD_ROLE_ID)
    if trust is not None:
        world.iam.trusts[ROLE] = trust


def test_a_role_recreated_with_the_approved_trust_is_restored(world: World) -> None:
    recreated(world, None)
    (result,) = world.remediator.on_role_created(create_role_event())
    assert result.outcome is Outcome.REMEDIATED and world.kind.live[KEY] == DECLARED_POLICY


def test_a_role_recreated_with_another_trust_is_held_until_approved(world: World) -> None:
    recreated(world, SQUATTER_TRUST)

    (result,) = world.remediator.on_role_created(create_role_event())

    assert result.outcome is Outcome.ORPHANED and world.kind.puts == []
    assert "differs from the approved one" in result.reason and VENDOR in result.reason
    assert "driftguard approve-principal" in result.reason
    (alert,) = world.publisher.alerts
    assert alert.type is AlertType.ORPHANED_PRINCIPAL and alert.severity is Severity.HIGH
    world.sweeper.sweep()
    assert world.kind.puts == [] and len(world.publisher.alerts) == 1  # one incident

    world.store.put_trust(approved(ROLE, ROLE_ID, SQUATTER_TRUST))  # the team approves it
    world.sweeper.sweep()
    assert world.kind.live[KEY] == DECLARED_POLICY


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(lambda: None, id="none-recorded"),
        pytest.param(lambda: replace(approved(ROLE, OLD_ROLE_ID), signature=""), id="unsigned"),
        pytest.param(
            lambda: replace(approved(ROLE, OLD_ROLE_ID), policy=json.dumps(SQUATTER_TRUST)),
            id="forged",
        ),
    ],
)
def test_a_recreated_role_without_a_trustworthy_approval_is_held(
    world: World, record: Callable[[], TrustRecord | None]
) -> None:
    recreated(world, SQUATTER_TRUST)
    world.store.trusts.clear()
    if (written := record()) is not None:
        world.store.put_trust(written)  # straight into the table
    (result,) = world.remediator.on_role_created(create_role_event())
    assert result.outcome is Outcome.ORPHANED and world.kind.puts == []
    assert "held until" in result.reason


def test_a_worker_out_of_time_hands_the_rest_of_its_shard_on(world: World) -> None:
    arns = [f"arn:aws:fake:us-east-1:{ACCOUNT}:thing/n{n}" for n in range(6)]
    for arn in arns:
        world.declare(arn)
    widened = arns[3]
    world.kind.live[widened] = policy(ROLE, VENDOR)  # one to restore
    (shard,) = world.sweeper.plan()
    arns.sort(key=lambda arn: position(arn, world.kind.name))  # the shard's order

    first = world.sweeper.sweep_shard(shard, deadline=world.clock.monotonic() - 1)

    assert [r.arn for r in first.results] == arns[:1]  # one, then out of time
    assert first.rest is not None and first.rest.resources == 5
    assert parse_shard(first.rest.body()) == first.rest  # it travels by the queue
    second = world.sweeper.sweep_shard(first.rest)
    assert second.rest is None
    assert [r.arn for r in second.results] == arns[1:]  # each once, none skipped
    assert world.kind.live[widened] == DECLARED_POLICY
    assert world.store.leases == {}  # the shard's lease let go both times
