"""The per-resource decision, as pure functions. No I/O, no clock: the caller gives both.

    Observation (what one look found) + trigger + missing principals + now
        --decide-->  Decision (final)  or  Restore (put the declared policy back)
    Restore + what the put and its verification did
        --succeeded / rejected / not_visible / failed-->  Decision

A Decision says everything the service then does: the status record to write (or
that nothing changed), the audit entry (or none), whether an alert is due and of
what type and severity, and when to look again (a scheduled re-check: nothing in
driftguard sleeps out a wait). driftguard.service does the I/O around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from driftguard import kinds
from driftguard.classify import Classification
from driftguard.errors import DeclarationError, PolicyParseError
from driftguard.kinds.base import Target
from driftguard.model import AuditEntry, Declared, Identities, StatusRecord, Trigger, sha256
from driftguard.policy import Policy
from driftguard.vocabulary import (
    ALERT_SEVERITY,
    FAILURE_ALERT,
    FAILURE_AUDIT,
    STATUS_ALERT,
    STATUS_AUDIT,
    STATUS_OUTCOME,
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


@dataclass(frozen=True)
class Rules:
    """The settings the decision depends on (from Config)."""

    quarantine_threshold: int
    quarantine_window: timedelta
    # How long a restore keeps being re-checked while AWS refuses a principal that
    # exists (IAM propagation), counted from the first refusal.
    propagation_budget: timedelta = timedelta(minutes=2)


# Re-checks: 2, 4, 8 s, then every 10 s, so a restore follows a principal within
# about 10 s of AWS accepting it (the promise is 15 s; the rest is margin).
RECHECK_FIRST_SECONDS = 2
RECHECK_MAX_SECONDS = 10


def recheck_delay(attempt: int) -> int:
    """Seconds until the `attempt`-th re-check (1, 2, ...)."""
    return int(min(RECHECK_FIRST_SECONDS * 2 ** max(attempt - 1, 0), RECHECK_MAX_SECONDS))


@dataclass(frozen=True)
class Observation:
    """One look at a declared resource, before anything is decided or written."""

    target: Target
    declared: Declared
    previous: StatusRecord | None
    wanted: Policy | None = None  # the declared policy, parsed; None when unusable
    classification: Classification | None = None  # None when `failure` is set
    live_digest: str | None = None
    failure: Failure | None = None
    reason: str = ""  # why, when `failure` is set
    owners: Mapping[str, str | None] = field(default_factory=dict)  # unique ID -> its role

    @property
    def in_sync(self) -> bool:
        return self.classification is not None and self.classification.in_sync

    @property
    def findings(self) -> tuple[str, ...]:
        found = self.classification.findings if self.classification else ()
        return tuple(sorted(f.value for f in found))

    @property
    def orphaned_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.classification.orphaned_ids)) if self.classification else ()

    @property
    def diff(self) -> dict[str, Any]:
        changes = self.classification.diff if self.classification else None
        return changes.to_dict() if changes else {}


@dataclass(frozen=True)
class Result:
    """What handling one resource ended in, as handlers, metrics and the CLI report it."""

    arn: str
    outcome: Outcome
    kind: str = ""
    status: Status | None = None
    reason: str = ""
    recheck_in: int | None = None  # looked at again in this many seconds

    def as_dict(self) -> dict[str, object]:
        return {
            "arn": self.arn,
            "outcome": self.outcome.value,
            "status": self.status.value if self.status else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Decision:
    """Everything decided about one resource; the service only carries it out."""

    observation: Observation
    trigger: Trigger
    status: Status
    outcome: Outcome
    at: datetime
    record: StatusRecord  # the status from now on
    write: bool  # `record` differs from what is stored
    audit: AuditEntry | None  # None: nothing happened worth a history entry
    alert: AlertType | None  # None: no alert due (nothing new)
    severity: Severity
    reason: str = ""
    missing: tuple[str, ...] = ()  # declared principals that do not exist
    recheck_in: int | None = None  # look again in this many seconds (a scheduled re-check)

    @property
    def target(self) -> Target:
        return self.observation.target

    @property
    def restored(self) -> bool:
        return self.outcome is Outcome.REMEDIATED

    @property
    def result(self) -> Result:
        return Result(
            arn=self.target.text,
            outcome=self.outcome,
            kind=self.target.kind.name,
            status=self.status,
            reason=self.reason,
            recheck_in=self.recheck_in,
        )


@dataclass(frozen=True)
class Restore:
    """The decision to put the declared policy back; what the put did ends it."""

    observation: Observation
    trigger: Trigger
    restores: tuple[datetime, ...]  # the record's restores once this one is done
    rules: Rules

    def succeeded(self, live_digest: str, now: datetime) -> Decision:
        """Put and verified; `live_digest` is that of the policy read back."""
        fights, window = len(self.restores), int(self.rules.quarantine_window.total_seconds())
        reason = ""
        if fights > self.rules.quarantine_threshold:  # widened again and again: say so
            reason = (
                f"someone keeps widening it: restored {fights} times within {window}s "
                f"(last change by {self.trigger.actor or 'unknown'}); find out who"
            )
        return _conclude(
            self.observation,
            self.trigger,
            now,
            status=Status.IN_SYNC,
            reason=reason,
            restored=True,
            restores=self.restores,
            live_digest=live_digest,
        )

    def rejected(self, reason: str, now: datetime) -> Decision:
        """AWS refused a principal that exists: it has not propagated yet. Pending, with
        no alert, and looked at again shortly, until the propagation budget is spent."""
        since = self.trigger.since or now
        if now - since >= self.rules.propagation_budget:
            budget = int(self.rules.propagation_budget.total_seconds())
            return self.failed(f"{reason}; still refused after {budget}s of re-checks", now)
        return _conclude(
            self.observation,
            self.trigger,
            now,
            status=Status.PENDING_PRINCIPAL,
            reason=f"{reason}; waiting for IAM to propagate the principal",
            quiet=True,
            recheck_in=recheck_delay(self.trigger.attempt + 1),
        )

    def not_visible(self, now: datetime) -> Decision:
        """Put, but the re-read still shows another policy (KMS reads are eventually
        consistent, or someone changed it again): a clear error, looked at again."""
        return self.failed(
            f"restored {self.observation.target}, but re-reading it still shows another "
            "policy; driftguard checks it again",
            now,
            recheck_in=recheck_delay(self.trigger.attempt + 1),
        )

    def failed(self, reason: str, now: datetime, *, recheck_in: int | None = None) -> Decision:
        return _conclude(
            self.observation,
            self.trigger,
            now,
            status=Status.ERROR,
            failure=Failure.RESTORE_FAILED,
            reason=reason,
            recheck_in=recheck_in,
        )


def validate_declaration(declared: Declared) -> Policy:
    """The declared policy, or DeclarationError when it must never be applied (its
    signature is checked before, by driftguard.signing: that takes a KMS call)."""
    try:
        wanted = Policy.parse(declared.policy)
    except PolicyParseError as exc:
        raise DeclarationError(str(exc)) from None
    # What AWS refuses whoever puts it (size, characters, a missing principal) is never
    # put: its refusal would read as a principal that has not propagated yet.
    kinds.get(declared.kind).check_policy(declared.policy, wanted)
    if orphans := sorted(wanted.unique_id_principals()):
        raise DeclarationError(
            f"the declared policy names orphaned unique id(s) {', '.join(orphans)}; "
            "AWS rejects them. Declare it again with the role ARNs"
        )
    return wanted


def needs_principals(observation: Observation, trigger: Trigger) -> bool:
    """Whether `decide` looks at which declared principals exist (an IAM call each):
    when something differs, or when a role was just deleted (AWS may not show the
    unique ID in its place yet)."""
    if observation.failure is not None:
        return False
    previous = observation.previous
    if trigger.kind is TriggerKind.ROLE_DELETED or _was_orphaned(previous):
        return True
    quarantined = previous is not None and previous.status is Status.QUARANTINED
    findings = observation.classification.findings if observation.classification else ()
    return not observation.in_sync and (not quarantined or Finding.WIDENED in findings)


def _was_orphaned(previous: StatusRecord | None) -> bool:
    """Orphaned when last looked at: until the role exists again, a policy that still
    shows its ARN (AWS rewrites it a moment after DeleteRole) is no sign of a fix."""
    return previous is not None and previous.status is Status.ORPHANED_PRINCIPAL


def observed_status(observation: Observation) -> Status:
    """What a read-only look says (declare, `scan`), before any decision to act."""
    if observation.failure is not None:
        return Status.ERROR
    if observation.in_sync:
        return Status.IN_SYNC
    found = observation.classification.findings if observation.classification else frozenset()
    if Finding.ORPHANED_PRINCIPAL in found:
        return Status.ORPHANED_PRINCIPAL
    return Status.DRIFTED


# --------------------------------------------------------------------------- the decision


def decide(
    observation: Observation,
    *,
    trigger: Trigger,
    missing: tuple[str, ...],
    now: datetime,
    rules: Rules,
    identities: Identities | None = None,
) -> Decision | Restore:
    """What to do about one resource. `missing`: declared principals that do not exist;
    `identities`: declared roles that exist but are not the approved identity, or not
    visible yet (both only consulted when `needs_principals`)."""
    obs, previous = observation, observation.previous

    def conclude(status: Status, reason: str = "", **kwargs: Any) -> Decision:
        return _conclude(obs, trigger, now, status=status, reason=reason, **kwargs)

    if obs.failure is not None:
        return conclude(Status.ERROR, obs.reason, failure=obs.failure)
    assert obs.classification is not None
    deleted = trigger.kind is TriggerKind.ROLE_DELETED
    if obs.classification.in_sync:
        if missing and (deleted or _was_orphaned(previous)):
            # AWS has not put the unique ID in the ARN's place yet, but access is gone.
            reason = f"{', '.join(missing)} was deleted; the policy no longer grants it"
            return conclude(Status.ORPHANED_PRINCIPAL, reason, missing=missing)
        return conclude(Status.IN_SYNC)
    # Quarantine never leaves access wider than declared: a widening is always undone.
    widening = Finding.WIDENED in obs.classification.findings
    if previous is not None and previous.status is Status.QUARANTINED and not widening:
        return conclude(Status.QUARANTINED, previous.reason)
    # A DeleteRole names the cause even before the unique ID shows in the policy.
    orphaned = Finding.ORPHANED_PRINCIPAL in obs.classification.findings or deleted
    if obs.declared.mode is Mode.DETECT:
        status = Status.ORPHANED_PRINCIPAL if orphaned else Status.DRIFTED
        return conclude(status, "detect mode: not restored", missing=missing)
    if missing:
        status = Status.ORPHANED_PRINCIPAL if orphaned else Status.PENDING_PRINCIPAL
        reason = f"waiting for {', '.join(missing)} to exist again before restoring"
        return conclude(status, reason, missing=missing)
    if identities:
        return _not_the_approved_identity(obs, trigger, now, identities, orphaned=orphaned)
    fighting = counts_as_fight(obs.classification)
    recent = recent_restores(previous, now, rules)
    if fighting and len(recent) >= rules.quarantine_threshold and not widening:
        return conclude(
            Status.QUARANTINED,
            f"changed back {len(recent)} times within "
            f"{int(rules.quarantine_window.total_seconds())}s "
            f"(last by {trigger.actor or 'unknown'}); it grants no one more than declared, "
            "so driftguard stopped restoring it. "
            "Find out who keeps changing it, then `driftguard declare` or `adopt` it again",
        )
    return Restore(obs, trigger, restores=(*recent, now) if fighting else recent, rules=rules)


def _not_the_approved_identity(
    obs: Observation, trigger: Trigger, now: datetime, identities: Identities, *, orphaned: bool
) -> Decision:
    """A role recreated under a declared name is not given the declared access unless it
    is the identity the team approved (a name is not an identity): held, one alert that
    says why, until approved. One GetRole does not show yet: looked at again shortly."""
    status = Status.ORPHANED_PRINCIPAL if orphaned else Status.PENDING_PRINCIPAL
    if identities.held:
        reason = "; ".join(f"{role} {why}" for role, why in sorted(identities.held.items()))
        # Its own incident (not "waiting for it to exist"): each new identity is alerted.
        held = tuple(f"{role} held:{sha256(why)[:12]}" for role, why in identities.held.items())
        return _conclude(obs, trigger, now, status=status, reason=reason, missing=held)
    unseen = ", ".join(identities.unseen)
    return _conclude(  # as IAM propagation is: a wait, no incident
        obs,
        trigger,
        now,
        status=Status.PENDING_PRINCIPAL,
        reason=f"waiting for IAM to show {unseen} (GetRole) to check it is the approved role",
        quiet=True,
        recheck_in=recheck_delay(trigger.attempt + 1),
    )


def counts_as_fight(classification: Classification) -> bool:
    """Restoring after a role came back is not fighting anyone; undoing an edit is."""
    return bool(classification.findings - {Finding.ORPHANED_PRINCIPAL})


def recent_restores(
    previous: StatusRecord | None, now: datetime, rules: Rules
) -> tuple[datetime, ...]:
    if previous is None:
        return ()
    since = now - rules.quarantine_window
    return tuple(moment for moment in previous.restores if moment > since)


def incident(
    status: Status, live_digest: str | None, reason: str, missing: tuple[str, ...] = ()
) -> str | None:
    """The identity of what an alert is about: the same incident is alerted once.
    Principals that are gone name the incident: AWS rewriting a deleted role's ARN
    to its unique ID a moment later is the same incident."""
    match status:
        case Status.IN_SYNC:
            return None
        case Status.QUARANTINED:
            return "quarantined"
        case Status.ERROR:
            return f"error:{sha256(reason)[:16]}"
        case Status.ORPHANED_PRINCIPAL | Status.PENDING_PRINCIPAL if missing:
            return f"{status.value}:{','.join(sorted(missing))}"
        case _:
            return f"{status.value}:{live_digest}"


def _conclude(
    obs: Observation,
    trigger: Trigger,
    now: datetime,
    *,
    status: Status,
    reason: str = "",
    failure: Failure | None = None,
    restored: bool = False,
    restores: tuple[datetime, ...] | None = None,
    live_digest: str | None = None,
    missing: tuple[str, ...] = (),
    quiet: bool = False,
    recheck_in: int | None = None,
) -> Decision:
    """The full decision once the status is known: what to write, audit and alert.
    `quiet`: a wait expected to end by itself (IAM propagation) is no incident."""
    previous = obs.previous
    digest = live_digest if live_digest is not None else obs.live_digest
    key = None if quiet else incident(status, digest, reason, missing)
    record = _record(obs, now, status, reason, digest, key, restored=restored, restores=restores)
    new_incident = record.incident is not None and (
        previous is None or previous.incident != record.incident
    )
    status_changed = previous is not None and previous.status is not status
    audit = None
    if restored or new_incident or status_changed:
        audit = AuditEntry(
            arn=obs.target.text,
            at=now,
            action=_audit_action(status, failure, restored),
            status=status.value,
            actor=trigger.actor,
            trigger=trigger.describe(),
            event_id=trigger.event_id,
            message=reason,
            before_digest=obs.live_digest,
            after_digest=digest,
            diff=obs.diff,
            findings=obs.findings,
        )
    alert = _alert_type(status, failure, restored) if restored or new_incident else None
    return Decision(
        observation=obs,
        trigger=trigger,
        status=status,
        outcome=Outcome.REMEDIATED if restored else STATUS_OUTCOME[status],
        at=now,
        record=record,
        write=record != previous,
        audit=audit,
        alert=alert,
        severity=_severity(alert, obs.classification),
        reason=reason,
        missing=missing,
        recheck_in=recheck_in,
    )


def _record(
    obs: Observation,
    now: datetime,
    status: Status,
    reason: str,
    digest: str | None,
    key: str | None,
    *,
    restored: bool,
    restores: tuple[datetime, ...] | None,
) -> StatusRecord:
    """The status item from now on; it keeps its time while nothing about it changes."""
    previous = obs.previous
    reason = reason if status.is_problem else ""  # why it is fine again is the alert's
    changed = (
        previous is None
        or previous.status is not status
        or previous.live_digest != digest
        or previous.reason != reason
    )
    problem = status.is_problem
    return StatusRecord(
        # The resource looked at, never what a declaration names (it may be a copy).
        arn=obs.target.text,
        kind=obs.target.kind.name,
        account=obs.target.arn.account,
        region=obs.target.region,
        mode=obs.declared.mode,
        status=status,
        updated_at=now if changed or previous is None else previous.updated_at,
        reason=reason,
        findings=obs.findings if problem else (),
        live_digest=digest,
        incident=key,
        restores=restores if restores is not None else (previous.restores if previous else ()),
        orphaned_ids=obs.orphaned_ids if problem else (),
        remediated_at=now if restored else (previous.remediated_at if previous else None),
    )


def _audit_action(status: Status, failure: Failure | None, restored: bool) -> AuditAction:
    if restored:
        return AuditAction.RESTORED
    return FAILURE_AUDIT[failure] if failure is not None else STATUS_AUDIT[status]


def _alert_type(status: Status, failure: Failure | None, restored: bool) -> AlertType | None:
    if restored:
        return AlertType.RESTORED
    return FAILURE_ALERT[failure] if failure is not None else STATUS_ALERT[status]


def _severity(alert: AlertType | None, classification: Classification | None) -> Severity:
    if alert is None:
        return Severity.NONE
    fixed = ALERT_SEVERITY[alert]
    if fixed is not None:
        return fixed
    found = classification.severity if classification else Severity.HIGH
    if alert is AlertType.RESTORED:
        # Widened access that was reverted still deserves a critical look.
        edited = classification is not None and counts_as_fight(classification)
        return found if edited else Severity.INFO
    return found if found is not Severity.NONE else Severity.HIGH
