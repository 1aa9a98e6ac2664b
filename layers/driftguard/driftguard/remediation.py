"""The remediation service: DESIGN.md's algorithm, per resource, and the three
ways it is triggered (a policy event, a role deleted or created, the sweep).

Per resource: lease -> declared state (integrity) -> live policy through the
remediation role -> classify -> detect: record and alert / enforce: check the
declared principals exist, put the declared policy with bounded backoff on the
propagation error, verify by re-reading -> status + audit -> one alert per
incident -> release the lease.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from driftguard import kinds
from driftguard.alerts import Alert, AlertPublisher, AlertResource, AlertType, Severity
from driftguard.arns import Arn, role_arn
from driftguard.aws import AwsClients
from driftguard.classify import Classification, Finding, classify
from driftguard.config import Config, Mode
from driftguard.errors import (
    DriftguardError,
    InvalidEventError,
    LeaseBusyError,
    PolicyParseError,
    PrincipalNotReadyError,
    RemediationError,
    ResourceNotFoundError,
)
from driftguard.events import CloudTrailDetail
from driftguard.model import AuditEntry, Declared, Status, StatusRecord, Trigger, sha256
from driftguard.outcomes import Outcome, ResourceResult
from driftguard.policy import Policy
from driftguard.principals import PrincipalLookup
from driftguard.state import StateStore

_MAX_BACKOFF_SECONDS = 16.0
_VERIFY_ATTEMPTS = 4


def trigger_from(detail: CloudTrailDetail) -> Trigger:
    return Trigger(
        source="event",
        event_name=detail.event_name,
        event_id=detail.event_id,
        actor=detail.user_identity.describe(),
        event_time=detail.event_time,
    )


@dataclass(frozen=True)
class _Check:
    """What one look at a resource found, before anything is written."""

    declared: Declared
    arn: Arn
    previous: StatusRecord | None
    live_digest: str | None
    classification: Classification | None


class Remediator:
    def __init__(
        self,
        config: Config,
        clients: AwsClients,
        store: StateStore,
        publisher: AlertPublisher,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.clients = clients
        self.store = store
        self.publisher = publisher
        self._clock = clock
        self._sleep = sleep

    # -- triggers -------------------------------------------------------------------

    def ignore_reason(self, detail: CloudTrailDetail) -> str | None:
        """Failed calls and driftguard's own restores never trigger a fix."""
        if detail.error_code:
            return f"failed call ({detail.error_code})"
        issuer = detail.user_identity.issuer_arn or ""
        if issuer.rsplit("/", 1)[-1] == self.config.remediation_role_name:
            return "driftguard's own change"
        return None

    def on_policy_event(self, detail: CloudTrailDetail) -> ResourceResult:
        if reason := self.ignore_reason(detail):
            return ResourceResult(arn="", outcome=Outcome.IGNORED, reason=reason)
        kind = kinds.for_event_source(detail.event_source)
        if kind is None or detail.event_name not in kind.policy_event_names:
            return ResourceResult(
                arn="",
                outcome=Outcome.IGNORED,
                reason=f"{detail.event_name} is not a policy change",
            )
        arn = kind.arn_from_event(detail, self.clients)
        if arn is None:
            raise InvalidEventError(
                f"{detail.event_name} event {detail.event_id} names no {kind.name} resource"
            )
        trigger = trigger_from(detail)
        result = self.check(arn, trigger)
        self._alert([result], trigger)
        return result

    def on_role_deleted(self, detail: CloudTrailDetail) -> list[ResourceResult]:
        if reason := self.ignore_reason(detail):
            return [ResourceResult(arn="", outcome=Outcome.IGNORED, reason=reason)]
        name = (detail.request_parameters or {}).get("roleName")
        if not isinstance(name, str) or not name:
            raise InvalidEventError(f"DeleteRole event {detail.event_id} has no roleName")
        deleted = role_arn(_partition(detail), detail.recipient_account_id, name)
        trigger = trigger_from(detail)
        return self._fan_out(self.store.resources_naming(deleted), trigger, role=deleted)

    def on_role_created(self, detail: CloudTrailDetail) -> list[ResourceResult]:
        if reason := self.ignore_reason(detail):
            return [ResourceResult(arn="", outcome=Outcome.IGNORED, reason=reason)]
        role = (detail.response_elements or {}).get("role") or {}
        created, role_id = role.get("arn"), role.get("roleId")
        if not isinstance(created, str) or not isinstance(role_id, str):
            raise InvalidEventError(
                f"CreateRole event {detail.event_id} has no responseElements.role arn/roleId"
            )
        self.store.record_unique_id(role_id, created, source="CreateRole")
        trigger = trigger_from(detail)
        return self._fan_out(self.store.resources_naming(created), trigger, role=created)

    def sweep(
        self, on_result: Callable[[ResourceResult], None] | None = None
    ) -> list[ResourceResult]:
        """The reconciler: every declared resource, one alert per new incident.
        `on_result` sees each result as it comes (the CLI's progress bar)."""
        trigger = Trigger(source="reconciler")
        lookup = PrincipalLookup(self.clients, self.store)
        results = []
        for record in list(self.store.iter_statuses()):
            try:
                result = self._check_guarded(record.arn, trigger, lookup)
            except LeaseBusyError:
                continue  # an event is handling it right now
            self._alert([result], trigger)
            results.append(result)
            if on_result is not None:
                on_result(result)
        return results

    # -- one resource ---------------------------------------------------------------

    def check(
        self, arn: str, trigger: Trigger, lookup: PrincipalLookup | None = None
    ) -> ResourceResult:
        declared = self.store.get_declared(arn)
        if declared is None:
            if trigger.source == "event":
                self.store.append_audit(
                    AuditEntry(
                        arn=arn,
                        at=self._clock(),
                        action="observed-undeclared",
                        status="undeclared",
                        actor=trigger.actor,
                        trigger=trigger.describe(),
                        event_id=trigger.event_id,
                        message="changed, but not declared; `driftguard adopt` guards it",
                    )
                )
            return ResourceResult(arn=arn, outcome=Outcome.UNDECLARED, reason="not declared")
        owner = self.store.acquire_lease(arn, self.config.lease_seconds)
        try:
            return self._check_leased(
                declared, trigger, lookup or PrincipalLookup(self.clients, self.store)
            )
        finally:
            self.store.release_lease(arn, owner)

    def _fan_out(self, arns: Iterable[str], trigger: Trigger, *, role: str) -> list[ResourceResult]:
        """Every resource naming the role, then one alert. A resource another
        invocation holds is retried with the whole event: the ones done now are
        in sync or the same incident by then, so the retry alerts nothing twice."""
        lookup = PrincipalLookup(self.clients, self.store)
        results, busy = [], []
        for arn in arns:
            try:
                results.append(self._check_guarded(arn, trigger, lookup))
            except LeaseBusyError:
                busy.append(arn)
        self._alert(results, trigger, role=role)
        if busy:
            raise LeaseBusyError(f"retry later, held by another invocation: {', '.join(busy)}")
        return results

    def _check_guarded(self, arn: str, trigger: Trigger, lookup: PrincipalLookup) -> ResourceResult:
        """One resource's failure must not stop the others (fan-out, sweep)."""
        try:
            return self.check(arn, trigger, lookup)
        except LeaseBusyError:
            raise
        except DriftguardError as exc:
            return ResourceResult(arn=arn, outcome=Outcome.FAILED, reason=str(exc))

    def _check_leased(
        self, declared: Declared, trigger: Trigger, lookup: PrincipalLookup
    ) -> ResourceResult:
        arn = Arn.parse(declared.arn)
        previous = self.store.get_status(declared.arn)
        base = _Check(declared, arn, previous, None, None)
        if not declared.intact:
            return self._record(
                base,
                Status.ERROR,
                Outcome.FAILED,
                trigger,
                reason="the stored declared policy fails its digest check; declare it again",
                declaration_invalid=True,
            )
        try:
            wanted = Policy.parse(declared.policy)
        except PolicyParseError as exc:
            return self._record(
                base,
                Status.ERROR,
                Outcome.FAILED,
                trigger,
                reason=str(exc),
                declaration_invalid=True,
            )
        if orphans := sorted(wanted.unique_id_principals()):
            return self._record(
                base,
                Status.ERROR,
                Outcome.FAILED,
                trigger,
                reason=(
                    f"the declared policy names orphaned unique id(s) {', '.join(orphans)}; "
                    "AWS rejects them. Declare it again with the role ARNs"
                ),
                declaration_invalid=True,
            )
        kind = kinds.get(declared.kind)
        try:
            live_raw = kind.read_policy(self.clients, arn)
            live = Policy.parse(live_raw) if live_raw else None
        except ResourceNotFoundError as exc:
            return self._record(base, Status.ERROR, Outcome.FAILED, trigger, reason=str(exc))
        except (ClientError, PolicyParseError) as exc:
            return self._record(
                base,
                Status.ERROR,
                Outcome.FAILED,
                trigger,
                reason=f"cannot read the live policy: {_describe(exc)}",
            )
        found = replace(
            base,
            live_digest=sha256(live_raw) if live_raw else None,
            classification=classify(wanted, live),
        )
        assert found.classification is not None
        classification = found.classification
        if classification.in_sync:
            keep = previous is not None and previous.status == Status.REMEDIATED
            status = Status.REMEDIATED if keep else Status.IN_SYNC
            return self._record(found, status, Outcome.IN_SYNC, trigger)
        if previous is not None and previous.status == Status.QUARANTINED:
            return self._record(
                found,
                Status.QUARANTINED,
                Outcome.QUARANTINED,
                trigger,
                reason=previous.reason,
            )
        orphaned = Finding.ORPHANED_PRINCIPAL in classification.findings or (
            trigger.event_name == "DeleteRole"
        )
        if declared.mode == Mode.DETECT:
            status = Status.ORPHANED_PRINCIPAL if orphaned else Status.DRIFTED
            outcome = Outcome.ORPHANED if orphaned else Outcome.DETECTED
            return self._record(found, status, outcome, trigger, reason="detect mode: not restored")
        missing = lookup.missing(wanted.principal_arns())
        if missing:
            status = Status.ORPHANED_PRINCIPAL if orphaned else Status.PENDING_PRINCIPAL
            return self._record(
                found,
                status,
                Outcome.ORPHANED if orphaned else Outcome.PENDING,
                trigger,
                missing=missing,
                reason=f"waiting for {', '.join(missing)} to exist again before restoring",
            )
        fighting = _counts_as_fight(classification)
        recent = self._recent_restores(previous)
        if fighting and len(recent) >= self.config.quarantine_threshold:
            return self._record(
                found,
                Status.QUARANTINED,
                Outcome.QUARANTINED,
                trigger,
                reason=(
                    f"changed back {len(recent)} times within "
                    f"{self.config.quarantine_window_seconds}s "
                    f"(last by {trigger.actor or 'unknown'}); "
                    "driftguard stopped restoring it. Find out who keeps changing it, then "
                    "`driftguard declare` or `adopt` it again"
                ),
            )
        try:
            self._put_with_backoff(kind, arn, declared.policy)
            self._verify(kind, arn, wanted)
        except DriftguardError as exc:
            return self._record(found, Status.ERROR, Outcome.FAILED, trigger, reason=str(exc))
        restores = (*recent, self._clock()) if fighting else recent
        return self._record(
            found,
            Status.REMEDIATED,
            Outcome.REMEDIATED,
            trigger,
            restores=restores,
            after_digest=declared.digest,
        )

    def _recent_restores(self, previous: StatusRecord | None) -> tuple[datetime, ...]:
        if previous is None:
            return ()
        since = self._clock() - timedelta(seconds=self.config.quarantine_window_seconds)
        return tuple(moment for moment in previous.restores if moment > since)

    def _put_with_backoff(self, kind: kinds.ResourceKind, arn: Arn, policy: str) -> None:
        """Retry only AWS's principal rejection, which is also what a recreated role
        that has not propagated yet gets (Terraform retries it for 2 minutes)."""
        deadline = time.monotonic() + self.config.propagation_timeout_seconds
        delay = 1.0
        attempts = 0
        while True:
            attempts += 1
            try:
                kind.write_policy(self.clients, arn, policy)
                return
            except PrincipalNotReadyError as exc:
                if time.monotonic() + delay > deadline:
                    raise RemediationError(
                        f"AWS kept rejecting the declared policy of {arn.text} after {attempts} "
                        f"attempt(s) over {self.config.propagation_timeout_seconds:.0f}s "
                        "(MalformedPolicyDocumentException): a principal has not propagated or "
                        "no longer exists, or the policy would lock driftguard out"
                    ) from exc
                self._sleep(delay)
                delay = min(delay * 2, _MAX_BACKOFF_SECONDS)

    def _verify(self, kind: kinds.ResourceKind, arn: Arn, wanted: Policy) -> None:
        """Re-read after the put; KMS is eventually consistent, so allow a moment."""
        delay = 0.25
        for _ in range(_VERIFY_ATTEMPTS):
            live = kind.read_policy(self.clients, arn)
            if live and Policy.parse(live).semantically_equal(wanted):
                return
            self._sleep(delay)
            delay *= 2
        raise RemediationError(f"restored {arn.text} but re-reading it shows another policy")

    # -- recording ------------------------------------------------------------------

    def _record(
        self,
        check: _Check,
        status: Status,
        outcome: Outcome,
        trigger: Trigger,
        *,
        reason: str = "",
        missing: tuple[str, ...] = (),
        restores: tuple[datetime, ...] | None = None,
        after_digest: str | None = None,
        declaration_invalid: bool = False,
    ) -> ResourceResult:
        declared, previous, classification = check.declared, check.previous, check.classification
        at = self._clock()
        findings = tuple(sorted(f.value for f in classification.findings)) if classification else ()
        orphaned_ids = tuple(sorted(classification.orphaned_ids)) if classification else ()
        diff = classification.diff.to_dict() if classification and classification.diff else {}
        incident = _incident(status, check.live_digest, reason, trigger)
        new_incident = incident is not None and (previous is None or previous.incident != incident)
        changed = _changed(previous, status, check.live_digest)
        updated_at = at if changed or previous is None else previous.updated_at
        self.store.put_status(
            StatusRecord(
                arn=declared.arn,
                kind=declared.kind,
                account=declared.account,
                region=declared.region,
                mode=declared.mode,
                status=status,
                updated_at=updated_at,
                reason=reason,
                findings=findings,
                live_digest=after_digest or check.live_digest,
                incident=incident,
                restores=restores
                if restores is not None
                else (previous.restores if previous else ()),
                orphaned_ids=orphaned_ids,
            )
        )
        if new_incident or changed:
            self.store.append_audit(
                AuditEntry(
                    arn=declared.arn,
                    at=at,
                    action=_audit_action(status, outcome, previous),
                    status=status.value,
                    actor=trigger.actor,
                    trigger=trigger.describe(),
                    event_id=trigger.event_id,
                    message=reason,
                    before_digest=check.live_digest,
                    after_digest=after_digest or check.live_digest,
                    diff=diff,
                    findings=findings,
                )
            )
        return ResourceResult(
            arn=declared.arn,
            kind=declared.kind,
            outcome=outcome,
            status=status,
            reason=reason,
            classification=classification,
            orphaned_ids=orphaned_ids,
            missing_principals=missing,
            new_incident=new_incident,
            declaration_invalid=declaration_invalid,
            at=at,
            diff=diff,
        )

    # -- alerts ---------------------------------------------------------------------

    def _alert(
        self, results: list[ResourceResult], trigger: Trigger, *, role: str | None = None
    ) -> Alert | None:
        """Exactly one alert per incident: a DeleteRole that orphans 30 resources
        gives one alert listing them, and an incident already alerted is not
        alerted again."""
        due = [r for r in results if r.new_incident]
        if not due:
            return None
        alert = self._build_alert(due, trigger, role)
        self.publisher.publish(alert)
        return alert

    def _build_alert(
        self, results: list[ResourceResult], trigger: Trigger, role: str | None
    ) -> Alert:
        worst = max(results, key=lambda r: _STATUS_RANK[r.status or Status.IN_SYNC])
        alert_type, severity = _alert_kind(worst)
        unique_ids: dict[str, str] = {}
        for result in results:
            for uid in result.orphaned_ids:
                known = self.store.principal_for_unique_id(uid)
                unique_ids[uid] = known or (f"probably {role}" if role else "unknown")
        resources = [
            AlertResource(
                arn=r.arn,
                kind=r.kind,
                account=Arn.parse(r.arn).account,
                region=Arn.parse(r.arn).region,
                status=(r.status or Status.ERROR).value,
                findings=sorted(f.value for f in r.classification.findings)
                if r.classification
                else [],
                orphaned_ids=list(r.orphaned_ids),
                diff=r.diff,
                reason=r.reason,
                console_url=kinds.get(r.kind).console_url(Arn.parse(r.arn)) if r.kind else "",
            )
            for r in results
        ]
        count = len(results)
        subject = role or results[0].arn
        title, summary, next_steps = _wording(alert_type, subject, count, trigger)
        detected_at = self._clock()
        time_to_fix = None
        if alert_type == AlertType.RESTORED and trigger.event_time is not None:
            time_to_fix = max(
                0.0, (worst.at or detected_at).timestamp() - trigger.event_time.timestamp()
            )
        return Alert(
            type=alert_type,
            severity=severity,
            title=title,
            summary=summary,
            resources=resources,
            next_steps=next_steps,
            role_arn=role,
            unique_ids=unique_ids,
            actor=trigger.actor,
            event_name=trigger.event_name,
            event_id=trigger.event_id,
            changed_at=trigger.event_time,
            detected_at=detected_at,
            time_to_fix_seconds=time_to_fix,
        )


_STATUS_RANK = {
    Status.IN_SYNC: 0,
    Status.REMEDIATED: 1,
    Status.DRIFTED: 2,
    Status.PENDING_PRINCIPAL: 3,
    Status.ORPHANED_PRINCIPAL: 4,
    Status.ERROR: 5,
    Status.QUARANTINED: 6,
}


def _alert_kind(result: ResourceResult) -> tuple[AlertType, Severity]:
    drift_severity = {
        "critical": Severity.CRITICAL,
        "high": Severity.HIGH,
        "medium": Severity.MEDIUM,
    }.get(result.classification.severity if result.classification else "", Severity.HIGH)
    match result.status:
        case Status.ORPHANED_PRINCIPAL:
            return AlertType.ORPHANED_PRINCIPAL, Severity.HIGH
        case Status.PENDING_PRINCIPAL:
            return AlertType.PENDING_PRINCIPAL, Severity.HIGH
        case Status.DRIFTED:
            return AlertType.DRIFT_DETECTED, drift_severity
        case Status.REMEDIATED:
            # Widened access that was reverted still deserves a critical look.
            edited = result.classification is not None and _counts_as_fight(result.classification)
            return AlertType.RESTORED, drift_severity if edited else Severity.INFO
        case Status.QUARANTINED:
            return AlertType.QUARANTINED, Severity.CRITICAL
        case _:
            if result.declaration_invalid:
                return AlertType.INVALID_DECLARATION, Severity.HIGH
            return AlertType.RESTORE_FAILED, Severity.HIGH


def _wording(
    alert_type: AlertType, subject: str, count: int, trigger: Trigger
) -> tuple[str, str, str]:
    plural = f"{count} resource{'s' if count != 1 else ''}"
    by = f" after {trigger.describe()}" if trigger.event_name else " (found by the sweep)"
    match alert_type:
        case AlertType.ORPHANED_PRINCIPAL:
            return (
                f"Orphaned principal: {subject}",
                f"{plural} now name a deleted principal by its unique ID{by}; access is broken.",
                "driftguard restores the declared policies as soon as the role exists again "
                "and IAM has propagated. Recreate the role, or declare new policies.",
            )
        case AlertType.PENDING_PRINCIPAL:
            return (
                f"Waiting for principal: {subject}",
                f"{plural} drifted{by}, but a declared principal does not exist, so the "
                "declared policy cannot be put back yet.",
                "Create the missing principal, or declare a policy without it.",
            )
        case AlertType.DRIFT_DETECTED:
            return (
                f"Drift detected: {subject}",
                f"{plural} differ from the declared state{by} (detect mode: not restored).",
                "Review the change (`driftguard history ARN`); adopt it or switch to enforce.",
            )
        case AlertType.RESTORED:
            return (
                f"Restored: {subject}",
                f"{plural} put back to the declared policy{by} and verified.",
                "Nothing to do, unless the change was intended: then declare it.",
            )
        case AlertType.QUARANTINED:
            return (
                f"Quarantined: {subject}",
                f"{plural} keep being changed back{by}; driftguard stopped restoring.",
                "Find who keeps changing it (history), then declare or adopt it again.",
            )
        case AlertType.INVALID_DECLARATION:
            return (
                f"Declared state unusable: {subject}",
                f"The declared state of {plural} cannot be applied{by}.",
                "Declare the policy again (`driftguard declare`).",
            )
        case _:
            return (
                f"Restore failed: {subject}",
                f"driftguard could not restore {plural}{by}.",
                "See the reason per resource; driftguard retries on the next event or sweep.",
            )


def _incident(status: Status, live_digest: str | None, reason: str, trigger: Trigger) -> str | None:
    """The identity of what an alert is about. Same incident, no second alert."""
    match status:
        case Status.IN_SYNC:
            return None
        case Status.REMEDIATED:
            # Every restore is news; its incident is the change that caused it.
            return f"remediated:{trigger.event_id or datetime.now(UTC).isoformat()}"
        case Status.QUARANTINED:
            return "quarantined"
        case Status.ERROR:
            return f"error:{sha256(reason)[:16]}"
        case _:
            return f"{status.value}:{live_digest}"


def _changed(previous: StatusRecord | None, status: Status, live_digest: str | None) -> bool:
    return previous is None or previous.status != status or previous.live_digest != live_digest


def _counts_as_fight(classification: Classification) -> bool:
    """Restoring after a role came back is not fighting anyone; undoing an edit is."""
    return bool(classification.findings - {Finding.ORPHANED_PRINCIPAL})


def _audit_action(status: Status, outcome: Outcome, previous: StatusRecord | None) -> str:
    if outcome == Outcome.REMEDIATED:
        return "restored"
    if outcome == Outcome.IN_SYNC and previous is not None and previous.status.is_problem:
        return "resolved"
    if outcome == Outcome.FAILED:
        return "restore-failed" if status == Status.ERROR else "error"
    return status.value


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return str(exc)


def _partition(detail: CloudTrailDetail) -> str:
    arn = detail.user_identity.arn or ""
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"
