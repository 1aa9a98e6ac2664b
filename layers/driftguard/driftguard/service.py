"""The remediation service: the I/O around the pure decision (driftguard.decision).

Per resource: lease -> declared state and status (one read) -> observation (live
policy through the remediation role, compared) -> which declared principals exist
(only when it matters) -> decide -> put the declared policy with backoff and verify
it, when decided -> write status and audit as decided -> release the lease. One
alert per trigger lists every resource whose decision has an alert due.

The three triggers: a policy change, a role deleted or created (fan-out to every
resource naming it), and the sweep over every declared resource.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from driftguard import kinds
from driftguard.alerts import AlertPublisher, compose_alert
from driftguard.arns import role_arn
from driftguard.aws import AwsClients
from driftguard.config import Config
from driftguard.decision import (
    Decision,
    Observation,
    Restore,
    Result,
    Rules,
    decide,
    needs_principals,
)
from driftguard.errors import (
    DriftguardError,
    InvalidEventError,
    LeaseBusyError,
    PolicyParseError,
    PrincipalNotReadyError,
    UnknownResourceKindError,
)
from driftguard.events import CloudTrailDetail
from driftguard.inspector import Inspector
from driftguard.kinds import ResourceKind, Target
from driftguard.model import AuditEntry, Trigger, sha256
from driftguard.policy import Policy
from driftguard.principals import PrincipalLookup
from driftguard.retry import SYSTEM_CLOCK, Clock, retry
from driftguard.state import StateStore
from driftguard.vocabulary import AuditAction, Outcome, TriggerKind

LEASE_WAIT_SECONDS = 5.0  # wait this long for another invocation to finish, then retry later
VERIFY_SECONDS = 2.0  # KMS is eventually consistent: re-read for this long after a put


class _NotVisibleYet(Exception):
    """The re-read after a put does not show the declared policy (yet)."""


def trigger_from(detail: CloudTrailDetail, kind: TriggerKind) -> Trigger:
    return Trigger(
        kind=kind,
        event_name=detail.event_name,
        event_id=detail.event_id,
        actor=detail.user_identity.describe(),
        event_time=detail.event_time,
    )


class Remediator:
    def __init__(
        self,
        config: Config,
        clients: AwsClients,
        store: StateStore,
        publisher: AlertPublisher,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.clients = clients
        self.store = store
        self.publisher = publisher
        self.clock = clock
        self.inspector = Inspector(clients, store)
        self.rules = Rules(
            quarantine_threshold=config.quarantine_threshold,
            quarantine_window=timedelta(seconds=config.quarantine_window_seconds),
        )

    # -- triggers -------------------------------------------------------------------

    def on_policy_change(self, detail: CloudTrailDetail, kind: ResourceKind) -> list[Result]:
        arn = kind.arn_from_event(detail, self.clients)
        if arn is None:
            raise InvalidEventError(
                f"{detail.event_name} event {detail.event_id} names no {kind.name} resource"
            )
        try:
            target = kinds.target(arn, kind.name)
        except UnknownResourceKindError as exc:
            raise InvalidEventError(f"{detail.event_name} event {detail.event_id}: {exc}") from None
        trigger = trigger_from(detail, TriggerKind.POLICY_CHANGED)
        decision = self.check(target, trigger, self.lookup())
        if isinstance(decision, Result):
            return [decision]
        self._alert([decision], trigger)
        return [decision.result]

    def on_role_deleted(self, detail: CloudTrailDetail) -> list[Result]:
        name = (detail.request_parameters or {}).get("roleName")
        if not isinstance(name, str) or not name:
            raise InvalidEventError(f"DeleteRole event {detail.event_id} has no roleName")
        deleted = role_arn(detail.user_identity.partition, detail.recipient_account_id, name)
        trigger = trigger_from(detail, TriggerKind.ROLE_DELETED)
        return self._fan_out(deleted, trigger)

    def on_role_created(self, detail: CloudTrailDetail) -> list[Result]:
        role = (detail.response_elements or {}).get("role") or {}
        created, role_id = role.get("arn"), role.get("roleId")
        if not isinstance(created, str) or not isinstance(role_id, str):
            raise InvalidEventError(
                f"CreateRole event {detail.event_id} has no responseElements.role arn/roleId"
            )
        self.store.record_unique_id(role_id, created, source="CreateRole")
        trigger = trigger_from(detail, TriggerKind.ROLE_CREATED)
        return self._fan_out(created, trigger)

    def sweep(self, on_result: Callable[[Result], None] | None = None) -> list[Result]:
        """The reconciler: every declared resource, one alert per resource with news.
        `on_result` sees each result as it comes (the CLI's progress bar)."""
        trigger = Trigger(kind=TriggerKind.SWEEP)
        lookup = self.lookup()
        results = []
        for record in list(self.store.iter_statuses()):
            try:
                checked = self._check_guarded(record.arn, record.kind, trigger, lookup)
            except LeaseBusyError:
                continue  # an event is handling it right now
            if isinstance(checked, Decision):
                self._alert([checked], trigger)
                checked = checked.result
            results.append(checked)
            if on_result is not None:
                on_result(checked)
        return results

    def _fan_out(self, role: str, trigger: Trigger) -> list[Result]:
        """Every resource naming the role, then one alert. A resource another
        invocation holds is retried with the whole event: the ones done now are
        in sync or the same incident by then, so the retry alerts nothing twice."""
        lookup = self.lookup()
        decisions: list[Decision] = []
        results: list[Result] = []
        busy: list[str] = []
        for arn in self.store.resources_naming(role):
            try:
                checked = self._check_guarded(arn, None, trigger, lookup)
            except LeaseBusyError:
                busy.append(arn)
                continue
            if isinstance(checked, Decision):
                decisions.append(checked)
                checked = checked.result
            results.append(checked)
        self._alert(decisions, trigger, role=role)
        if busy:
            raise LeaseBusyError(f"retry later, held by another invocation: {', '.join(busy)}")
        return results

    # -- one resource ---------------------------------------------------------------

    def lookup(self) -> PrincipalLookup:
        return self.inspector.lookup()

    def check(self, target: Target, trigger: Trigger, lookup: PrincipalLookup) -> Decision | Result:
        """Decide about one resource and carry the decision out (no alert: the trigger
        sends one for all its resources). A Result when it is not declared."""
        with self._lease(target.text):
            declared, previous = self.store.load(target.text)
            if declared is None:
                return self._undeclared(target, trigger)
            observation = self.inspector.observe(target, declared, previous, lookup)
            step = decide(
                observation,
                trigger=trigger,
                missing=self._missing(observation, lookup),
                now=self.clock.now(),
                rules=self.rules,
            )
            decision = self._restore(step) if isinstance(step, Restore) else step
            if decision.write:
                self.store.put_status(decision.record)
            if decision.audit is not None:
                self.store.append_audit(decision.audit)
            return decision

    def _check_guarded(
        self, arn: str, kind: str | None, trigger: Trigger, lookup: PrincipalLookup
    ) -> Decision | Result:
        """One resource's failure must not stop the others (fan-out, sweep)."""
        try:
            return self.check(kinds.target(arn, kind), trigger, lookup)
        except LeaseBusyError:
            raise
        except DriftguardError as exc:
            return Result(arn=arn, outcome=Outcome.FAILED, reason=str(exc))

    def _missing(self, observation: Observation, lookup: PrincipalLookup) -> tuple[str, ...]:
        if observation.wanted is None or not needs_principals(observation):
            return ()
        return lookup.missing(observation.wanted.principal_arns())

    def _undeclared(self, target: Target, trigger: Trigger) -> Result:
        if trigger.kind is TriggerKind.POLICY_CHANGED:
            self.store.append_audit(
                AuditEntry(
                    arn=target.text,
                    at=self.clock.now(),
                    action=AuditAction.OBSERVED_UNDECLARED,
                    status="undeclared",
                    actor=trigger.actor,
                    trigger=trigger.describe(),
                    event_id=trigger.event_id,
                    message="changed, but not declared; `driftguard adopt` guards it",
                )
            )
        return Result(arn=target.text, outcome=Outcome.UNDECLARED, reason="not declared")

    @contextmanager
    def _lease(self, arn: str) -> Iterator[None]:
        """Held while one resource is decided and acted on. Waits briefly for a holder
        to finish; then LeaseBusyError, so the invocation is retried (and the sweep
        comes by anyway)."""
        owner = retry(
            lambda: self.store.take_lease(arn, self.config.lease_seconds),
            retry_on=LeaseBusyError,
            clock=self.clock,
            budget_seconds=LEASE_WAIT_SECONDS,
            first_delay=0.05,
            max_delay=1.0,
        )
        try:
            yield
        finally:
            self.store.release_lease(arn, owner)

    # -- restoring ------------------------------------------------------------------

    def _restore(self, restore: Restore) -> Decision:
        """Put the declared policy back, retrying AWS's principal rejection (also what a
        recreated role that has not propagated yet gets; Terraform retries it for two
        minutes), then read it back until it shows (KMS is eventually consistent)."""
        obs = restore.observation
        target, policy = obs.target, obs.declared.policy
        assert obs.wanted is not None
        attempts = 0

        def put() -> None:
            nonlocal attempts
            attempts += 1
            target.kind.write_policy(self.clients, target.arn, policy)

        try:
            retry(
                put,
                retry_on=PrincipalNotReadyError,
                clock=self.clock,
                budget_seconds=self.config.propagation_timeout_seconds,
                first_delay=1.0,
                max_delay=16.0,
            )
            digest = retry(
                lambda: self._read_back(target, obs.wanted),
                retry_on=_NotVisibleYet,
                clock=self.clock,
                budget_seconds=VERIFY_SECONDS,
                first_delay=0.25,
                max_delay=1.0,
            )
        except PrincipalNotReadyError:
            return restore.failed(
                f"AWS kept rejecting the declared policy of {target} after {attempts} "
                f"attempt(s) over {self.config.propagation_timeout_seconds:.0f}s "
                "(MalformedPolicyDocumentException): a principal has not propagated or "
                "no longer exists, or the policy would lock driftguard out",
                self.clock.now(),
            )
        except _NotVisibleYet:
            return restore.failed(
                f"restored {target} but re-reading it shows another policy", self.clock.now()
            )
        except DriftguardError as exc:
            return restore.failed(str(exc), self.clock.now())
        return restore.succeeded(digest, self.clock.now())

    def _read_back(self, target: Target, wanted: Policy | None) -> str:
        text = target.kind.read_policy(self.clients, target.arn)
        try:
            if text and wanted is not None and Policy.parse(text).semantically_equal(wanted):
                return sha256(text)
        except PolicyParseError:
            pass
        raise _NotVisibleYet

    # -- alerts ---------------------------------------------------------------------

    def _alert(
        self, decisions: Iterable[Decision], trigger: Trigger, *, role: str | None = None
    ) -> None:
        """Exactly one alert per incident: only decisions with an alert due count."""
        due = [d for d in decisions if d.alert is not None]
        if due:
            self.publisher.publish(compose_alert(due, trigger, role=role, now=self.clock.now()))
