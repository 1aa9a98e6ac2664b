"""The remediation service: the I/O around the pure decision (driftguard.decision).

Per resource: lease -> declared state and status (one read) -> observation (live
policy through the remediation role, compared) -> which declared principals exist
(only when it matters) -> decide -> put the declared policy and verify it, when
decided -> write status and audit as decided -> release the lease. One alert per
trigger lists every resource whose decision has an alert due.

Nothing waits out what it cannot control: a resource another invocation holds, a
principal AWS has not accepted yet, a re-read that does not show the put yet, a
throttled call: each becomes a scheduled re-check (driftguard.rechecks), never a
long sleep and never an error out of the handler.

The triggers: a policy change, a role deleted or created (fan-out to every resource
naming it), a scheduled re-check, and the sweep over every declared resource
(driftguard.sweep, which uses `glance` and `checked`). A change
to driftguard's safeguards, or to who may assume a declared principal, is alerted only
(driftguard.safeguards).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError

from driftguard import kinds
from driftguard.alerts import AlertPublisher, compose_alert
from driftguard.arns import ROLE_NAME_RE, UNIQUE_ID_RE, role_account, role_arn
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
    recheck_delay,
)
from driftguard.errors import (
    AlreadyHandledError,
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
from driftguard.model import AuditEntry, Declared, Identities, StatusRecord, Trigger, sha256
from driftguard.policy import Policy
from driftguard.principals import PrincipalLookup, TrustChange, compare_trust
from driftguard.rechecks import MAX_ATTEMPTS, MAX_GROUP, Recheck, RecheckQueue
from driftguard.retry import SYSTEM_CLOCK, Clock, retry
from driftguard.safeguards import (
    ROLE_KIND,
    changed_safeguard,
    named_resource,
    safeguard_alert,
    trust_alert,
)
from driftguard.signing import Verifier
from driftguard.state import StateStore
from driftguard.threads import in_threads
from driftguard.vocabulary import AuditAction, Outcome, TriggerKind


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
        rechecks: RecheckQueue,
        *,
        signatures: Verifier,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.clients = clients
        self.store = store
        self.publisher = publisher
        self.rechecks = rechecks
        self.clock = clock
        self.inspector = Inspector(clients, store, signatures)
        self.rules = Rules(
            quarantine_threshold=config.quarantine_threshold,
            quarantine_window=timedelta(seconds=config.quarantine_window_seconds),
            propagation_budget=timedelta(seconds=config.propagation_timeout_seconds),
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
        return self._one(target, trigger_from(detail, TriggerKind.POLICY_CHANGED))

    def on_recheck(self, recheck: Recheck) -> list[Result]:
        for arn in recheck.arns:  # driftguard wrote it: anything else is no re-check
            try:
                kinds.target(arn)
            except DriftguardError as exc:
                raise InvalidEventError(f"re-check of {arn[:200]!r}: {exc}") from None
        lookup = self.lookup()
        if recheck.trigger is TriggerKind.ROLE_CREATED and recheck.role is not None:
            lookup.trust(recheck.role)  # still what its CreateRole said, whatever GetRole says
        return self._check_all(recheck.arns, recheck.as_trigger(), lookup, role=recheck.role)

    def on_role_deleted(self, detail: CloudTrailDetail) -> list[Result]:
        name = (detail.request_parameters or {}).get("roleName")
        if not isinstance(name, str) or not ROLE_NAME_RE.match(name):
            raise InvalidEventError(
                f"DeleteRole event {detail.event_id} names no IAM role (requestParameters.roleName)"
            )
        deleted = role_arn(detail.user_identity.partition, detail.recipient_account_id, name)
        trigger = trigger_from(detail, TriggerKind.ROLE_DELETED)
        return self._fan_out(deleted, trigger, self.lookup())

    def on_role_created(self, detail: CloudTrailDetail) -> list[Result]:
        role = (detail.response_elements or {}).get("role")
        created = role.get("arn") if isinstance(role, dict) else None
        role_id = role.get("roleId") if isinstance(role, dict) else None
        if (
            not isinstance(created, str)
            or not isinstance(role_id, str)
            or not UNIQUE_ID_RE.match(role_id)
            or role_account(created) != detail.recipient_account_id
        ):
            raise InvalidEventError(
                f"CreateRole event {detail.event_id} names no role of account "
                f"{detail.recipient_account_id} (responseElements.role arn/roleId)"
            )
        lookup = self.lookup()
        lookup.trust(created)  # the event says it exists; GetRole may not see it yet
        return self._fan_out(created, trigger_from(detail, TriggerKind.ROLE_CREATED), lookup)

    def on_safeguard_changed(self, detail: CloudTrailDetail) -> list[Result]:
        """driftguard's remediation role, a forwarding rule or a trail changed: one
        critical alert, nothing read or written (driftguard.safeguards)."""
        safeguard = changed_safeguard(detail, self.config.remediation_role_name)
        if safeguard is None:
            raise InvalidEventError(
                f"{detail.event_name} event {detail.event_id} changes none of driftguard's "
                "safeguards"
            )
        self.publisher.publish(safeguard_alert(safeguard, detail, self.clock.now()))
        return [
            Result(
                arn=safeguard.arn,
                outcome=Outcome.DETECTED,
                kind=safeguard.kind,
                reason=f"{detail.event_name} on {safeguard.what}: alerted",
            )
        ]

    def on_trust_changed(self, detail: CloudTrailDetail) -> list[Result]:
        """A role got a new trust policy: when declared policies name it, its trust policy
        as GetRole shows it (never the event's copy) is compared with the identity the
        team approved, and one alert lists what names it when they differ."""
        name = (detail.request_parameters or {}).get("roleName")
        if not isinstance(name, str) or not ROLE_NAME_RE.match(name):
            raise InvalidEventError(
                f"{detail.event_name} event {detail.event_id} names no IAM role "
                "(requestParameters.roleName)"
            )
        role = role_arn(detail.user_identity.partition, detail.recipient_account_id, name)

        def ignored(reason: str) -> list[Result]:
            return [Result(arn=role, outcome=Outcome.IGNORED, kind=ROLE_KIND, reason=reason)]

        named = self.store.resources_naming(role)
        if not named:
            return ignored("no declared policy names the role")
        lookup = self.lookup()
        current = lookup.role(role)
        change: TrustChange | None
        if current is None:
            if not lookup.exists(role):
                return ignored("the role no longer exists (its DeleteRole is handled on its own)")
            change = TrustChange("has a trust policy GetRole did not show: check it by hand")
        else:
            # The approved identity only once its signature verifies (the lookup checks).
            held = lookup.identities(frozenset({role})).held.get(role, "")
            record = self.store.get_trust(role)
            if held or record is None:
                change = TrustChange(held or "has no approved identity on record")
            else:
                change = compare_trust(record.policy, current.trust)
        if change is None:
            return ignored("the trust policy is the approved one")
        resources = []
        for arn in named:
            status = self.store.get_status(arn)
            resources.append(named_resource(arn, status.status.value if status else "unknown"))
        self.publisher.publish(trust_alert(role, change, resources, detail, self.clock.now()))
        return [
            Result(
                arn=role,
                outcome=Outcome.DETECTED,
                kind=ROLE_KIND,
                reason=f"trust policy changed; alerted ({len(named)} declared resources name it)",
            )
        ]

    def glance(
        self,
        target: Target,
        loaded: tuple[Declared | None, StatusRecord | None],
        trigger: Trigger,
        lookup: PrincipalLookup,
    ) -> Decision | Result | None:
        """The sweep's look at a resource it read in a batch (driftguard.sweep), without
        the lease: the decision when there is nothing to write, record or alert (an
        in-sync resource costs its policy read and nothing else), a Result when AWS
        refused for a while; None when it must be checked under the lease (`checked`)."""
        declared, previous = loaded
        if declared is None:
            return None
        try:
            step = self._decide(target, declared, previous, trigger, lookup)
        except (ClientError, BotoCoreError) as exc:
            return self._later(target, trigger, Outcome.FAILED, _describe(exc))
        except DriftguardError:
            return None  # the check under the lease records it
        if isinstance(step, Restore) or step.write or step.audit or step.alert:
            return None
        return step

    def checked(self, target: Target, trigger: Trigger, lookup: PrincipalLookup) -> Result:
        """One resource checked under its lease, alerted on its own (the sweep)."""
        checked = self._isolated(target, trigger, lookup)
        if isinstance(checked, Decision):
            self._alert([checked], trigger)
            return checked.result
        return checked

    def _one(self, target: Target, trigger: Trigger) -> list[Result]:
        decision = self._isolated(target, trigger, self.lookup())
        if isinstance(decision, Decision):
            self._alert([decision], trigger)
            decision = decision.result
        self.schedule_rechecks([decision], trigger)
        return [decision]

    def _fan_out(self, role: str, trigger: Trigger, lookup: PrincipalLookup) -> list[Result]:
        return self._check_all(self.store.resources_naming(role), trigger, lookup, role=role)

    def _check_all(
        self,
        arns: Iterable[str],
        trigger: Trigger,
        lookup: PrincipalLookup,
        *,
        role: str | None = None,
    ) -> list[Result]:
        """Each resource on its own (on threads: each waits on AWS, under its own lease),
        then one alert listing those with news, and one re-check for those that wait
        for the same moment."""
        decisions: list[Decision] = []
        results: list[Result] = []

        def check(arn: str) -> Decision | Result:
            return self._check_isolated(arn, None, trigger, lookup)

        for checked in in_threads(check, list(arns), self.config.sweep_threads):
            if isinstance(checked, Decision):
                decisions.append(checked)
                checked = checked.result
            results.append(checked)
        self._alert(decisions, trigger, role=role)
        self.schedule_rechecks(results, trigger, role=role)
        return results

    # -- one resource ---------------------------------------------------------------

    def lookup(self) -> PrincipalLookup:
        return self.inspector.lookup()

    def check(self, target: Target, trigger: Trigger, lookup: PrincipalLookup) -> Decision | Result:
        """Decide about one resource and carry the decision out (no alert: the trigger
        sends one for all its resources). A Result when it is not declared, or when
        another invocation holds it (then it is checked again shortly)."""
        try:
            with self._lease(target.text, _once_per_event(trigger)):
                declared, previous = self.store.load(target.text)
                if declared is None:
                    return self._undeclared(target, trigger)
                step = self._decide(target, declared, previous, trigger, lookup)
                decision = self._restore(step) if isinstance(step, Restore) else step
                if decision.write:
                    self.store.put_status(decision.record)
                if decision.audit is not None:
                    self.store.append_audit(decision.audit)
        except LeaseBusyError:
            return self._later(target, trigger, Outcome.DEFERRED, "held by another invocation")
        except AlreadyHandledError:
            reason = f"event {trigger.event_id} handled already (redelivered)"
            return Result(arn=target.text, outcome=Outcome.IGNORED, reason=reason)
        return decision

    def _decide(
        self,
        target: Target,
        declared: Declared,
        previous: StatusRecord | None,
        trigger: Trigger,
        lookup: PrincipalLookup,
    ) -> Decision | Restore:
        """Observe, look up what the decision needs of the principals, decide (pure)."""
        observation = self.inspector.observe(target, declared, previous, lookup)
        missing, identities = self._principals(observation, trigger, lookup)
        return decide(
            observation,
            trigger=trigger,
            missing=missing,
            identities=identities,
            now=self.clock.now(),
            rules=self.rules,
        )

    def _check_isolated(
        self, arn: str, kind: str | None, trigger: Trigger, lookup: PrincipalLookup
    ) -> Decision | Result:
        """One resource's failure never stops the others (fan-out, sweep)."""
        try:
            target = kinds.target(arn, kind)
        except DriftguardError as exc:
            return Result(arn=arn, outcome=Outcome.FAILED, reason=str(exc))
        return self._isolated(target, trigger, lookup)

    def _isolated(
        self, target: Target, trigger: Trigger, lookup: PrincipalLookup
    ) -> Decision | Result:
        """`check`, where what AWS refused for a while (throttling, 5xx, a timeout) is
        looked at again later instead of failing the invocation."""
        try:
            return self.check(target, trigger, lookup)
        except (ClientError, BotoCoreError) as exc:
            return self._later(target, trigger, Outcome.FAILED, _describe(exc))
        except DriftguardError as exc:
            return Result(arn=target.text, outcome=Outcome.FAILED, reason=str(exc))

    def _later(self, target: Target, trigger: Trigger, outcome: Outcome, reason: str) -> Result:
        """Look at it again shortly, unless it was re-checked too often already."""
        delay = None
        if trigger.attempt < MAX_ATTEMPTS:
            delay = recheck_delay(trigger.attempt + 1)
            reason += "; checked again shortly"
        return Result(
            arn=target.text,
            outcome=outcome,
            kind=target.kind.name,
            reason=reason,
            recheck_in=delay,
        )

    def schedule_rechecks(
        self, results: Iterable[Result], trigger: Trigger, *, role: str | None = None
    ) -> None:
        """Schedule the re-checks results asked for: one message per delay (in groups of
        MAX_GROUP), so what one event left waiting is looked at together."""
        due: dict[int, list[Result]] = {}
        for result in results:
            if result.recheck_in is not None:
                due.setdefault(result.recheck_in, []).append(result)
        again = trigger.again(since=self.clock.now())
        for delay, waiting in sorted(due.items()):
            for start in range(0, len(waiting), MAX_GROUP):
                group = waiting[start : start + MAX_GROUP]
                reason = "; ".join(dict.fromkeys(r.reason for r in group))
                recheck = Recheck.of([r.arn for r in group], again, reason, role=role)
                self.rechecks.schedule(recheck, delay)

    def _principals(
        self, observation: Observation, trigger: Trigger, lookup: PrincipalLookup
    ) -> tuple[tuple[str, ...], Identities]:
        """Declared principals that do not exist, and roles that exist but are not the
        identity the team approved (only when something may be restored)."""
        if observation.wanted is None or not needs_principals(observation, trigger):
            return (), Identities()
        declared = observation.wanted.principal_arns()
        return lookup.missing(declared), lookup.identities(declared)

    def _undeclared(self, target: Target, trigger: Trigger) -> Result:
        if trigger.kind is TriggerKind.POLICY_CHANGED and trigger.attempt == 0:
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
    def _lease(self, arn: str, event_id: str | None) -> Iterator[None]:
        """Held while one resource is decided and acted on. Waits briefly for a holder
        to finish; then LeaseBusyError (the caller schedules a re-check). With
        `event_id`, the event is remembered on release (the state table's lease)."""
        owner = retry(
            lambda: self.store.take_lease(arn, self.config.lease_seconds, event_id),
            retry_on=LeaseBusyError,
            clock=self.clock,
            budget_seconds=self.config.lease_wait_seconds,
            first_delay=0.05,
            max_delay=0.5,
        )
        try:
            yield
        except BaseException:
            self.store.release_lease(arn, owner)  # not handled: a redelivery runs again
            raise
        self.store.release_lease(arn, owner, event_id)

    # -- restoring ------------------------------------------------------------------

    def _restore(self, restore: Restore) -> Decision:
        """Put the declared policy back, then read it back until it shows. A principal
        AWS refuses is retried for a moment here and then on the re-check schedule
        (what a recreated role that has not propagated yet gets)."""
        obs = restore.observation
        target, policy = obs.target, obs.declared.policy

        def put() -> None:
            target.kind.write_policy(self.clients, target.arn, policy)

        try:
            retry(
                put,
                retry_on=PrincipalNotReadyError,
                clock=self.clock,
                budget_seconds=self.config.put_retry_seconds,
                first_delay=1.0,
                max_delay=2.0,
            )
            digest = retry(
                lambda: self._read_back(target, obs.wanted),
                retry_on=_NotVisibleYet,
                clock=self.clock,
                budget_seconds=self.config.verify_seconds,
                first_delay=0.25,
                max_delay=2.0,
            )
        except PrincipalNotReadyError as exc:
            return restore.rejected(str(exc), self.clock.now())
        except _NotVisibleYet:
            return restore.not_visible(self.clock.now())
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


def _once_per_event(trigger: Trigger) -> str | None:
    """The event a policy-change check is idempotent on: a key or secret policy event
    concerns that one resource, so its lease is its idempotency record (no separate
    one; driftguard.state). Fan-outs and re-checks are not."""
    if trigger.kind is TriggerKind.POLICY_CHANGED and trigger.attempt == 0:
        return trigger.event_id
    return None


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]
