"""The per-resource decision as a table: every previous status x finding (and failure)
x mode x trigger x principals x quarantine count, against the rules written out below.

Pure: no sockets, no clock. `decide` is run for real on observations built by hand.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

from driftguard.arns import Arn
from driftguard.classify import Classification
from driftguard.decision import (
    Decision,
    Observation,
    Restore,
    Rules,
    decide,
    incident,
    needs_principals,
    observed_status,
    recheck_delay,
)
from driftguard.kinds import Target
from driftguard.model import Declared, StatusRecord, Trigger
from driftguard.policy import Policy, PolicyDiff
from driftguard.vocabulary import (
    AlertType,
    AuditAction,
    Failure,
    Finding,
    Mode,
    Outcome,
    Severity,
    Status,
    TriggerKind,
)
from tests.support.fakes import START, FakePolicies, declaration

ARN = "arn:aws:fake:us-east-1:111111111111:thing/a"
ROLE = "arn:aws:iam::111111111111:role/pod-role"
ORPHAN = "AROAAAAAAAAAAAAAAAAAA"
RULES = Rules(
    quarantine_threshold=3,
    quarantine_window=timedelta(hours=1),
    propagation_budget=timedelta(minutes=2),
)
NOW = START + timedelta(days=1)
POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    f'"Principal":{{"AWS":"{ROLE}"}},"Action":"kms:Decrypt","Resource":"*"}}]}}'
)
TARGET = Target(Arn.parse(ARN), FakePolicies())
WANTED = Policy.parse(POLICY)

# What a look can find: no finding (in sync), findings, or a failure.
IN_SYNC: frozenset[Finding] = frozenset()
FINDINGS: tuple[frozenset[Finding], ...] = (
    IN_SYNC,
    frozenset({Finding.WIDENED}),
    frozenset({Finding.NARROWED}),
    frozenset({Finding.MISSING}),
    frozenset({Finding.ORPHANED_PRINCIPAL}),
    frozenset({Finding.ORPHANED_PRINCIPAL, Finding.WIDENED}),
)
PREVIOUS: tuple[Status | None, ...] = (None, *Status)


def declared(mode: Mode = Mode.ENFORCE) -> Declared:
    return declaration(ARN, POLICY, principals=(ROLE,), mode=mode)


def previous_record(status: Status | None, restores: int = 0) -> StatusRecord | None:
    if status is None:
        return None
    return StatusRecord(
        arn=ARN,
        kind="fake",
        account="111111111111",
        region="us-east-1",
        mode=Mode.ENFORCE,
        status=status,
        updated_at=START,
        reason="an earlier reason",
        live_digest="digest-before",
        incident=f"{status.value}:digest-before" if status.is_problem else None,
        restores=tuple(NOW - timedelta(minutes=10 * (i + 1)) for i in range(restores)),
    )


def observation(
    findings: frozenset[Finding] | Failure,
    *,
    previous: StatusRecord | None,
    mode: Mode = Mode.ENFORCE,
    live_digest: str = "digest-now",
) -> Observation:
    if isinstance(findings, Failure):
        return Observation(
            TARGET, declared(mode), previous, failure=findings, reason=f"{findings.value} here"
        )
    orphaned = frozenset({ORPHAN}) if Finding.ORPHANED_PRINCIPAL in findings else frozenset()
    return Observation(
        TARGET,
        declared(mode),
        previous,
        wanted=WANTED,
        classification=Classification(findings, PolicyDiff(), orphaned),
        live_digest=live_digest,
        owners={ORPHAN: ROLE} if orphaned else {},
    )


def trigger(kind: TriggerKind) -> Trigger:
    if kind in (TriggerKind.SWEEP, TriggerKind.CLI, TriggerKind.DECLARATION_CHANGED):
        return Trigger(kind=kind)
    return Trigger(kind=kind, event_name="Call", event_id="event-1", actor="mallory")


# --------------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class Case:
    look: frozenset[Finding] | Failure
    previous: Status | None
    mode: Mode
    trigger: TriggerKind
    missing: bool  # a declared principal does not exist
    fights: int  # restores of someone's edits within the quarantine window

    @property
    def orphaned(self) -> bool:
        found = not isinstance(self.look, Failure) and Finding.ORPHANED_PRINCIPAL in self.look
        return found or self.trigger is TriggerKind.ROLE_DELETED

    @property
    def fighting(self) -> bool:
        """Undoing an edit (anything but a deleted role's unique ID) is a fight."""
        return not isinstance(self.look, Failure) and bool(self.look - {Finding.ORPHANED_PRINCIPAL})


RESTORE = "restore"
ORPHANED = Status.ORPHANED_PRINCIPAL


def expected(case: Case) -> Status | str:
    """The rules, first match wins (README "Architecture": the check per resource)."""
    if isinstance(case.look, Failure):
        return Status.ERROR
    if case.look == IN_SYNC:
        # A role just deleted, or still gone: access is gone before AWS shows its
        # unique ID.
        gone = case.trigger is TriggerKind.ROLE_DELETED or case.previous is ORPHANED
        return Status.ORPHANED_PRINCIPAL if gone and case.missing else Status.IN_SYNC
    widened = not isinstance(case.look, Failure) and Finding.WIDENED in case.look
    if case.previous is Status.QUARANTINED and not widened:
        return Status.QUARANTINED  # stays, until declared or adopted again
    if case.mode is Mode.DETECT:
        return Status.ORPHANED_PRINCIPAL if case.orphaned else Status.DRIFTED
    if case.missing:
        return Status.ORPHANED_PRINCIPAL if case.orphaned else Status.PENDING_PRINCIPAL
    counted = case.fights if case.previous is not None else 0  # restores live in the record
    # Quarantine never leaves access wider than declared: a widening is always undone.
    if case.fighting and counted >= RULES.quarantine_threshold and not widened:
        return Status.QUARANTINED
    return RESTORE


def cases() -> list[Case]:
    looks: list[frozenset[Finding] | Failure] = [*FINDINGS, *Failure]
    looks.remove(Failure.RESTORE_FAILED)  # not something a look finds; see Restore.failed
    return [
        Case(*values)
        for values in itertools.product(
            looks, PREVIOUS, list(Mode), list(TriggerKind), (False, True), (0, 3)
        )
    ]


def run(case: Case) -> Decision | Restore:
    obs = observation(
        case.look, previous=previous_record(case.previous, case.fights), mode=case.mode
    )
    missing = (ROLE,) if case.missing else ()
    return decide(obs, trigger=trigger(case.trigger), missing=missing, now=NOW, rules=RULES)


# --------------------------------------------------------------------------- the table


def test_every_combination_follows_the_rules() -> None:
    wrong = []
    for case in cases():
        step = run(case)
        got = RESTORE if isinstance(step, Restore) else step.status
        if got != expected(case):
            wrong.append(f"{case}: expected {expected(case)}, decided {got}")
    assert not wrong, f"{len(wrong)} combination(s) decided wrongly:\n" + "\n".join(wrong[:20])


def test_the_table_covers_every_member_of_every_dimension() -> None:
    all_cases = cases()
    assert len(all_cases) == 10 * 7 * 2 * 6 * 2 * 2
    assert {c.previous for c in all_cases} == {None, *Status}
    assert {c.trigger for c in all_cases} == set(TriggerKind)
    assert {c.mode for c in all_cases} == set(Mode)
    seen = {f for c in all_cases if not isinstance(c.look, Failure) for f in c.look}
    assert seen == set(Finding)
    results = {expected(c) for c in all_cases}
    assert results == {*Status, RESTORE}, "some outcome is never reached by the table"


def test_outcome_follows_the_status() -> None:
    outcome = {
        Status.IN_SYNC: Outcome.IN_SYNC,
        Status.DRIFTED: Outcome.DETECTED,
        Status.PENDING_PRINCIPAL: Outcome.PENDING,
        Status.ORPHANED_PRINCIPAL: Outcome.ORPHANED,
        Status.ERROR: Outcome.FAILED,
        Status.QUARANTINED: Outcome.QUARANTINED,
    }
    for case in cases():
        step = run(case)
        if isinstance(step, Decision):
            assert step.outcome is outcome[step.status], case


def test_principals_are_looked_up_only_when_the_decision_uses_them() -> None:
    """Wherever `needs_principals` says no, the answer must not change the decision."""
    for case in cases():
        obs = observation(case.look, previous=previous_record(case.previous), mode=case.mode)
        if not needs_principals(obs, trigger(case.trigger)):
            with_missing = run(replace(case, missing=True))
            without = run(replace(case, missing=False))
            assert type(with_missing) is type(without), case
            if isinstance(with_missing, Decision) and isinstance(without, Decision):
                assert with_missing.status is without.status, case


# --------------------------------------------------------------------------- what is written


def settle(step: Decision | Restore) -> Decision:
    return step.succeeded("digest-now", NOW) if isinstance(step, Restore) else step


def test_deciding_again_on_the_same_look_writes_and_alerts_nothing() -> None:
    """At-least-once delivery and the hourly sweep: the second look at an unchanged
    resource is silent, whatever the first one did."""
    for case in cases():
        first = settle(run(case))
        obs = observation(case.look, previous=first.record, mode=case.mode)
        if first.restored:  # the policy is back as declared now
            obs = observation(IN_SYNC, previous=first.record, mode=case.mode)
        again = decide(
            obs,
            trigger=trigger(case.trigger),
            missing=(ROLE,) if case.missing else (),
            now=NOW + timedelta(minutes=1),
            rules=RULES,
        )
        assert isinstance(again, Decision), case  # a restored resource is not restored again
        assert (again.write, again.audit, again.alert) == (False, None, None), case


def test_entering_a_problem_is_one_audit_entry_and_one_alert() -> None:
    for case in cases():
        if case.previous is not Status.IN_SYNC:
            continue
        step = settle(run(case))
        if step.status is Status.IN_SYNC and not step.restored:
            assert (step.audit, step.alert) == (None, None), case
            continue
        assert step.audit is not None and step.alert is not None and step.write, case


def test_a_problem_resolved_by_someone_else_is_history_without_an_alert() -> None:
    for status in Status:
        if not status.is_problem:
            continue
        step = decide(
            observation(IN_SYNC, previous=previous_record(status)),
            trigger=trigger(TriggerKind.SWEEP),
            missing=(),
            now=NOW,
            rules=RULES,
        )
        assert isinstance(step, Decision)
        assert step.status is Status.IN_SYNC and step.outcome is Outcome.IN_SYNC
        assert step.audit is not None and step.audit.action is AuditAction.RESOLVED
        assert step.alert is None
        assert step.record.findings == () and step.record.incident is None


@pytest.mark.parametrize(
    ("status", "action", "alert"),
    [
        (Status.DRIFTED, AuditAction.DRIFTED, AlertType.DRIFT_DETECTED),
        (Status.PENDING_PRINCIPAL, AuditAction.PENDING_PRINCIPAL, AlertType.PENDING_PRINCIPAL),
        (Status.ORPHANED_PRINCIPAL, AuditAction.ORPHANED_PRINCIPAL, AlertType.ORPHANED_PRINCIPAL),
        (Status.QUARANTINED, AuditAction.QUARANTINED, AlertType.QUARANTINED),
    ],
)
def test_each_problem_status_has_its_audit_action_and_alert(
    status: Status, action: AuditAction, alert: AlertType
) -> None:
    case = next(
        c
        for c in cases()
        if c.previous is Status.IN_SYNC and expected(c) == status and c.look != IN_SYNC
    )
    step = run(case)
    assert isinstance(step, Decision)
    assert step.audit is not None and step.audit.action is action
    assert step.alert is alert


@pytest.mark.parametrize(
    ("failure", "action", "alert"),
    [
        (Failure.INVALID_DECLARATION, AuditAction.ERROR, AlertType.INVALID_DECLARATION),
        (Failure.RESOURCE_GONE, AuditAction.ERROR, AlertType.CHECK_FAILED),
        (Failure.UNREADABLE, AuditAction.ERROR, AlertType.CHECK_FAILED),
    ],
)
def test_a_failed_look_is_an_error_with_its_own_audit_action_and_alert(
    failure: Failure, action: AuditAction, alert: AlertType
) -> None:
    step = decide(
        observation(failure, previous=previous_record(Status.IN_SYNC)),
        trigger=trigger(TriggerKind.SWEEP),
        missing=(),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(step, Decision)
    assert (step.status, step.outcome, step.reason) == (
        Status.ERROR,
        Outcome.FAILED,
        f"{failure.value} here",
    )
    assert step.audit is not None and step.audit.action is action
    assert step.alert is alert and step.severity is Severity.HIGH


def test_the_same_error_again_is_not_news_but_another_error_is() -> None:
    case = Case(Failure.UNREADABLE, Status.IN_SYNC, Mode.ENFORCE, TriggerKind.SWEEP, False, 0)
    first = settle(run(case))
    same = decide(
        observation(Failure.UNREADABLE, previous=first.record),
        trigger=trigger(TriggerKind.SWEEP),
        missing=(),
        now=NOW,
        rules=RULES,
    )
    other = decide(
        observation(Failure.RESOURCE_GONE, previous=first.record),
        trigger=trigger(TriggerKind.SWEEP),
        missing=(),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(same, Decision) and isinstance(other, Decision)
    assert (same.alert, same.audit) == (None, None)
    assert other.alert is AlertType.CHECK_FAILED and other.audit is not None


# --------------------------------------------------------------------------- restoring


def restore_of(findings: frozenset[Finding], fights: int = 0) -> Restore:
    step = decide(
        observation(findings, previous=previous_record(Status.IN_SYNC, fights)),
        trigger=trigger(TriggerKind.POLICY_CHANGED),
        missing=(),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(step, Restore)
    return step


def test_a_verified_restore_is_in_sync_with_history_and_one_alert() -> None:
    done = restore_of(frozenset({Finding.WIDENED})).succeeded("digest-after", NOW)
    assert (done.status, done.outcome) == (Status.IN_SYNC, Outcome.REMEDIATED)
    assert done.record.remediated_at == NOW and done.record.live_digest == "digest-after"
    assert done.record.incident is None and done.record.findings == ()
    assert done.audit is not None and done.audit.action is AuditAction.RESTORED
    assert done.audit.before_digest == "digest-now" and done.audit.after_digest == "digest-after"
    assert done.audit.actor == "mallory" and done.audit.findings == ("widened",)
    assert done.alert is AlertType.RESTORED
    assert done.severity is Severity.CRITICAL  # a widening was undone: look at who did it


def test_a_restore_after_a_role_came_back_is_routine() -> None:
    done = restore_of(frozenset({Finding.ORPHANED_PRINCIPAL})).succeeded("digest-after", NOW)
    assert done.alert is AlertType.RESTORED and done.severity is Severity.INFO
    assert done.record.restores == ()  # not a fight: does not count towards quarantine


def test_a_failed_restore_is_an_error_that_says_why() -> None:
    failed = restore_of(frozenset({Finding.NARROWED})).failed("KMS said no", NOW)
    assert (failed.status, failed.outcome, failed.reason) == (
        Status.ERROR,
        Outcome.FAILED,
        "KMS said no",
    )
    assert failed.audit is not None and failed.audit.action is AuditAction.RESTORE_FAILED
    assert failed.alert is AlertType.RESTORE_FAILED


def test_fights_are_counted_within_the_window_only() -> None:
    record = previous_record(Status.IN_SYNC, restores=2)
    assert record is not None
    old = NOW - RULES.quarantine_window - timedelta(seconds=1)
    record = replace(record, restores=(old, *record.restores))
    step = decide(
        observation(frozenset({Finding.WIDENED}), previous=record),
        trigger=trigger(TriggerKind.POLICY_CHANGED),
        missing=(),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(step, Restore)  # two recent ones: below the threshold of three
    assert step.restores == (*record.restores[1:], NOW)  # the old one is forgotten


def test_the_quarantine_reason_names_the_count_and_the_last_actor() -> None:
    step = decide(
        observation(frozenset({Finding.NARROWED}), previous=previous_record(Status.IN_SYNC, 3)),
        trigger=trigger(TriggerKind.POLICY_CHANGED),
        missing=(),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(step, Decision) and step.status is Status.QUARANTINED
    assert "changed back 3 times within 3600s (last by mallory)" in step.reason


@pytest.mark.parametrize("previous", [Status.IN_SYNC, Status.QUARANTINED])
def test_a_fight_over_a_widening_is_always_restored_and_said_to_be_one(previous: Status) -> None:
    """Quarantine never leaves access wider than declared (it used to: a fourth widening
    stayed for good)."""
    step = decide(
        observation(frozenset({Finding.WIDENED}), previous=previous_record(previous, 3)),
        trigger=trigger(TriggerKind.POLICY_CHANGED),
        missing=(),
        now=NOW,
        rules=RULES,
    )

    assert isinstance(step, Restore)
    done = step.succeeded("digest-now", NOW)
    assert done.restored and done.status is Status.IN_SYNC
    assert done.alert is AlertType.RESTORED and done.severity is Severity.CRITICAL
    assert "someone keeps widening it: restored 4 times within 3600s" in done.reason
    assert "last change by mallory" in done.reason


# --------------------------------------------------------------------------- details


def test_a_deleted_role_is_named_even_before_its_unique_id_shows() -> None:
    step = decide(
        observation(frozenset({Finding.NARROWED}), previous=previous_record(Status.IN_SYNC)),
        trigger=trigger(TriggerKind.ROLE_DELETED),
        missing=(ROLE,),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(step, Decision) and step.status is Status.ORPHANED_PRINCIPAL
    assert step.missing == (ROLE,) and ROLE in step.reason


def test_a_record_keeps_its_time_while_nothing_changes() -> None:
    record = previous_record(Status.DRIFTED)
    assert record is not None
    step = decide(
        observation(
            frozenset({Finding.WIDENED}),
            previous=replace(
                record, mode=Mode.DETECT, reason="detect mode: not restored", findings=("widened",)
            ),
            mode=Mode.DETECT,
            live_digest="digest-before",
        ),
        trigger=trigger(TriggerKind.SWEEP),
        missing=(),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(step, Decision)
    assert step.record.updated_at == START and not step.write


def test_incidents_are_identified_by_status_and_what_was_found() -> None:
    assert incident(Status.IN_SYNC, "d", "") is None
    assert incident(Status.DRIFTED, "d1", "") != incident(Status.DRIFTED, "d2", "")
    assert incident(Status.QUARANTINED, "d1", "a") == incident(Status.QUARANTINED, "d2", "b")
    assert incident(Status.ERROR, "d1", "a") == incident(Status.ERROR, "d2", "a")
    assert incident(Status.ERROR, "d", "a") != incident(Status.ERROR, "d", "b")


@pytest.mark.parametrize(
    ("look", "status"),
    [
        (IN_SYNC, Status.IN_SYNC),
        (frozenset({Finding.WIDENED}), Status.DRIFTED),
        (frozenset({Finding.ORPHANED_PRINCIPAL, Finding.NARROWED}), Status.ORPHANED_PRINCIPAL),
        (Failure.INVALID_DECLARATION, Status.ERROR),
    ],
)
def test_a_read_only_look_has_a_status_too(look: Any, status: Status) -> None:
    assert observed_status(observation(look, previous=None)) is status


# --------------------------------------------------------------------------- waiting


def test_rechecks_back_off_to_every_fifteen_seconds() -> None:
    assert [recheck_delay(n) for n in range(1, 8)] == [2, 4, 8, 10, 10, 10, 10]


def test_a_refused_principal_is_a_quiet_wait_looked_at_again() -> None:
    """A recreated role AWS does not accept yet: no alert, a re-check soon."""
    waiting = restore_of(frozenset({Finding.ORPHANED_PRINCIPAL})).rejected("KMS said no", NOW)
    assert waiting.status is Status.PENDING_PRINCIPAL and waiting.outcome is Outcome.PENDING
    assert waiting.alert is None and waiting.record.incident is None
    assert waiting.recheck_in == 2 and "KMS said no" in waiting.reason


def test_a_principal_refused_past_the_budget_is_a_failed_restore() -> None:
    trigger = Trigger(
        kind=TriggerKind.ROLE_CREATED,
        event_name="CreateRole",
        attempt=9,
        since=NOW - RULES.propagation_budget,
    )
    step = decide(
        observation(frozenset({Finding.ORPHANED_PRINCIPAL}), previous=previous_record(None)),
        trigger=trigger,
        missing=(),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(step, Restore)
    failed = step.rejected("KMS said no", NOW)
    assert failed.status is Status.ERROR and failed.alert is AlertType.RESTORE_FAILED
    assert failed.recheck_in is None and "still refused after 120s" in failed.reason


def test_a_put_that_does_not_show_yet_is_one_alert_and_a_re_check() -> None:
    first = restore_of(frozenset({Finding.WIDENED})).not_visible(NOW)
    assert first.status is Status.ERROR and first.alert is AlertType.RESTORE_FAILED
    assert first.recheck_in is not None
    again = decide(
        observation(frozenset({Finding.WIDENED}), previous=first.record),
        trigger=trigger(TriggerKind.POLICY_CHANGED),
        missing=(),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(again, Restore)
    assert again.not_visible(NOW).alert is None  # the same incident: no alarm storm


def test_a_sweep_before_aws_shows_the_unique_id_keeps_the_orphan_and_its_incident() -> None:
    deleted = decide(
        observation(IN_SYNC, previous=previous_record(Status.IN_SYNC)),
        trigger=trigger(TriggerKind.ROLE_DELETED),
        missing=(ROLE,),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(deleted, Decision) and deleted.alert is AlertType.ORPHANED_PRINCIPAL
    sweep = observation(IN_SYNC, previous=deleted.record)
    assert needs_principals(sweep, trigger(TriggerKind.SWEEP))  # the role is looked up
    still = decide(sweep, trigger=trigger(TriggerKind.SWEEP), missing=(ROLE,), now=NOW, rules=RULES)
    assert isinstance(still, Decision) and still.status is Status.ORPHANED_PRINCIPAL
    assert still.alert is None and still.record.incident == deleted.record.incident
    back = decide(sweep, trigger=trigger(TriggerKind.SWEEP), missing=(), now=NOW, rules=RULES)
    assert isinstance(back, Decision) and back.status is Status.IN_SYNC


def test_a_deleted_role_is_one_incident_before_and_after_aws_shows_its_unique_id() -> None:
    before = decide(
        observation(IN_SYNC, previous=previous_record(Status.IN_SYNC)),
        trigger=trigger(TriggerKind.ROLE_DELETED),
        missing=(ROLE,),
        now=NOW,
        rules=RULES,
    )
    assert isinstance(before, Decision) and before.status is Status.ORPHANED_PRINCIPAL
    assert before.alert is AlertType.ORPHANED_PRINCIPAL
    after = decide(
        observation(frozenset({Finding.ORPHANED_PRINCIPAL}), previous=before.record),
        trigger=trigger(TriggerKind.SWEEP),
        missing=(ROLE,),
        now=NOW + timedelta(hours=1),
        rules=RULES,
    )
    assert isinstance(after, Decision) and after.status is Status.ORPHANED_PRINCIPAL
    assert after.alert is None  # the rewrite showing up is not news
