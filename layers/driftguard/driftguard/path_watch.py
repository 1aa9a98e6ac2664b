"""The path watch: a CloudTrail call that touches declared access paths re-verifies
each of them at once (driftguard.path_check, the one check), alerts once when a path
breaks and once when it heals, and in enforce mode puts the two safe cases right: a
key scheduled for deletion (CancelKeyDeletion, then EnableKey) or disabled
(EnableKey). It writes nothing else, ever: no policy, no role, no secret.

Which paths a call touches and which fix it calls for: driftguard.path_events (pure).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from driftguard import kinds
from driftguard.alerts import Alert, AlertPath, AlertPublisher
from driftguard.arns import Arn
from driftguard.aws import AwsClients
from driftguard.decision import Result
from driftguard.errors import DriftguardError, RemediationError, SigningError
from driftguard.events import CloudTrailDetail
from driftguard.model import Trigger
from driftguard.observability import logger
from driftguard.path_alerts import grant_alert, path_alert, replica_alert
from driftguard.path_check import PathVerdict, check, status_of
from driftguard.path_declaration_watch import PathDeclarationChange, path_declaration_alert
from driftguard.path_events import (
    fix_calls,
    grant_of,
    may_fix,
    not_watched,
    replica_of,
    touched,
)
from driftguard.path_model import PATH_KIND, PathDeclaration
from driftguard.path_store import PathStatus, PathStore, audit_arn
from driftguard.retry import Clock
from driftguard.signing import Verifier
from driftguard.vocabulary import AlertType, Link, Mode, Outcome, TriggerKind

__all__ = ["FixNotVisibleError", "PathWatch", "Watched"]

# After a fix, KMS may still answer with the old state for a moment (its reads are
# eventually consistent): read again this many times, waiting 0.25 s, 0.5 s, ... (at
# most ~4 s in all), before checking the path.
SETTLE_READS: Final = 5
FIRST_SETTLE_WAIT: Final = 0.25
ENABLED: Final = "Enabled"


class FixNotVisibleError(RemediationError):
    """The fix was applied but KMS still shows the key unusable: the invocation fails,
    so Lambda's retry (and after it the dead-letter queue) looks again."""


@dataclass(frozen=True)
class Watched:
    """What happened to one path on one call (the handler's answer, the logs)."""

    name: str
    broken: Link | None  # the first broken link after driftguard's look (None: it works)
    alerts: tuple[AlertType, ...] = ()
    fixed: tuple[str, ...] = ()  # the KMS calls driftguard made
    refused: str = ""  # why it was not checked (a declaration nobody signed)

    def result(self) -> Result:
        """As the dispatcher's results read (`driftguard replay-dlq`)."""
        if self.refused:
            outcome, reason = Outcome.IGNORED, f"declaration refused: {self.refused}"
        elif self.broken is not None:
            outcome = Outcome.REMEDIATED if self.fixed else Outcome.DETECTED
            reason = f"broken at {self.broken.value}"
        else:
            outcome = Outcome.REMEDIATED if self.fixed else Outcome.IN_SYNC
            reason = "every link holds"
        return Result(arn=audit_arn(self.name), outcome=outcome, kind=PATH_KIND, reason=reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.name,
            "broken": self.broken.value if self.broken else None,
            "alerts": [alert.value for alert in self.alerts],
            "fixed": list(self.fixed),
            **({"refused": self.refused} if self.refused else {}),
        }


class PathWatch:
    def __init__(
        self,
        store: PathStore,
        clients: AwsClients,
        verifier: Verifier,
        publisher: AlertPublisher,
        *,
        remediation_role_name: str,
        clock: Clock,
    ) -> None:
        self.store = store
        self.clients = clients
        self.verifier = verifier
        self.publisher = publisher
        self.remediation_role_name = remediation_role_name
        self.clock = clock

    def on_event(self, detail: CloudTrailDetail) -> list[Watched]:
        """Every declared path the call touches (`_each`), then what the call gave
        beside the policy (a grant, a replica)."""
        if reason := not_watched(detail, self.remediation_role_name):
            logger.info("path watch: nothing to look at", reason=reason)
            return []
        paths = touched(self.store.declarations(), detail)
        watched = self._each(paths, _trigger(detail), lambda d: may_fix(d, detail))
        if paths:  # after every path was checked: a retried call says it once
            self._offer(paths[0].path.key_arn, detail)
        return watched

    def on_declaration(
        self, change: PathDeclarationChange, check_now: Callable[[str], None]
    ) -> AlertType:
        """A path declaration written to the table (its stream): alerted, and a signed
        one handed to `check_now` (a sweep worker checks it as the sweep would). One
        nobody signed is never checked."""
        signed = change.after is not None
        if change.after is not None:
            try:
                self.verifier.verify(change.after)
            except SigningError:
                signed = False
        alert = path_declaration_alert(change, signed, self.clock.now())
        self.publisher.publish(alert)
        if signed:
            check_now(change.name)
        return alert.type

    def _offer(self, key_arn: str, detail: CloudTrailDetail) -> None:
        """Access to a path's key beside its policy: a replica with a policy of its own
        (offered for adoption), a grant (named, with how to revoke it). Once per call."""
        now, trigger = self.clock.now(), _trigger(detail)
        if replica := replica_of(detail):
            alert = replica_alert(
                key_arn, replica, trigger, now=now, console_url=_console_url(replica)
            )
            self.publisher.publish(alert)
        if grant := grant_of(detail):
            page = _console_url(key_arn)
            alert = grant_alert(key_arn, grant, trigger, now=now, console_url=page)
            self.publisher.publish(alert)

    def sweep(self, names: Sequence[str]) -> list[Watched]:
        """The reconciler's look at these paths (a batch of the sweep): each verified,
        recorded and alerted like on an event, and an enforce path's unusable key put
        right (an event about it may have been lost). A path removed since the plan is
        skipped; one that cannot be read fails the batch after the others are done."""
        declared = {d.name: d for d in self.store.declarations()}
        paths = [declared[name] for name in names if name in declared]
        return self._each(paths, Trigger(kind=TriggerKind.SWEEP), lambda d: d.mode is Mode.ENFORCE)

    def _each(
        self,
        paths: Sequence[PathDeclaration],
        trigger: Trigger,
        fixable: Callable[[PathDeclaration], bool],
    ) -> list[Watched]:
        """Each path on its own: one that cannot be read does not keep the others from
        being checked; the call then fails (and is retried: every check re-reads, and
        alerts only on a change). A declaration nobody signed is skipped (the
        declarations watcher alerts it)."""
        watched, failed = [], []
        for declaration in paths:
            try:
                watched.append(self._watch(declaration, trigger, fixable(declaration)))
            except SigningError as exc:
                logger.error("path declaration refused", path=declaration.name, reason=str(exc))
                watched.append(Watched(declaration.name, None, refused=str(exc)))
            except (ClientError, BotoCoreError, DriftguardError) as exc:
                logger.exception("path could not be checked", path=declaration.name)
                failed.append(exc)
        if failed:
            raise failed[0]
        return watched

    def _watch(self, declaration: PathDeclaration, trigger: Trigger, fixable: bool) -> Watched:
        verdict = self._check(declaration)
        calls = self._fix_for(declaration, fixable, verdict)
        alerts = self._record(verdict, trigger, calls)
        if not calls:
            return Watched(declaration.name, _link(verdict), alerts)
        self.verifier.verify(declaration)  # never write for a declaration nobody signed
        self._apply(declaration.path.key_arn, calls)
        verdict = self._check(declaration, settle=declaration.path.key_arn)
        alerts += self._record(verdict, trigger, calls)
        if Link.KEY_STATE in _failing(verdict):
            raise FixNotVisibleError(
                f"{declaration.name}: {', '.join(calls)} done, but the key still reads as "
                "unusable; the retry looks again"
            )
        return Watched(declaration.name, _link(verdict), alerts, calls)

    def _check(self, declaration: PathDeclaration, settle: str | None = None) -> PathVerdict:
        if settle is not None:
            self._wait_until_enabled(settle)
        return check(declaration, clients=self.clients, verifier=self.verifier, clock=self.clock)

    def _fix_for(
        self, declaration: PathDeclaration, fixable: bool, verdict: PathVerdict
    ) -> tuple[str, ...]:
        """The safe fix's calls, when the trigger allows it and the key is unusable now."""
        if not fixable or Link.KEY_STATE not in _failing(verdict):
            return ()
        return fix_calls(self._key_state(declaration.path.key_arn))

    def _kms(self, key_arn: str) -> Any:
        key = Arn.parse(key_arn)
        return self.clients.in_account(key.account, "kms", key.region)

    def _key_state(self, key_arn: str) -> str:
        return str(self._kms(key_arn).describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"])

    def _apply(self, key_arn: str, calls: tuple[str, ...]) -> None:
        kms = self._kms(key_arn)
        # CancelKeyDeletion, EnableKey: KeyId is their one parameter. The key's id, in its
        # own account and region (KMS takes the ARN too; moto only the id).
        key_id = Arn.parse(key_arn).resource.split("/", 1)[-1]
        for call in calls:
            getattr(kms, _snake(call))(KeyId=key_id)
            logger.info("path fix applied", key=key_arn, call=call)

    def _wait_until_enabled(self, key_arn: str) -> None:
        wait = FIRST_SETTLE_WAIT
        for _ in range(SETTLE_READS - 1):
            if self._key_state(key_arn) == ENABLED:
                return
            self.clock.sleep(wait)
            wait *= 2

    def _record(
        self, verdict: PathVerdict, trigger: Trigger, calls: tuple[str, ...]
    ) -> tuple[AlertType, ...]:
        """Store the verdict; alert when it changed which link is broken first."""
        name = verdict.declaration.name
        status = status_of(verdict, self.store.status(name))
        if not self.store.record(status):
            return ()
        alert_type = AlertType.PATH_HEALED if status.ok else AlertType.PATH_BROKEN
        alert = _alert(alert_type, verdict, status, trigger, calls, self.clock.now())
        self.publisher.publish(alert)
        logger.info("path alert", path=name, alert=alert_type.value)
        return (alert_type,)


def _alert(
    alert_type: AlertType,
    verdict: PathVerdict,
    status: PathStatus,
    trigger: Trigger,
    calls: tuple[str, ...],
    now: datetime,
) -> Alert:
    declaration = verdict.declaration
    path = declaration.path
    facts = AlertPath(
        name=declaration.name,
        role_arn=path.role_arn,
        secret_arn=path.secret_arn,
        key_arn=path.key_arn,
        mode=declaration.mode.value,
        broken=status.broken,
        reason=status.reason,
        fix=status.fix,
        failing=list(status.failing),
        driftguard_calls=list(calls),
    )
    return path_alert(
        alert_type,
        facts,
        trigger,
        account=Arn.parse(path.role_arn).account,
        region=Arn.parse(path.secret_arn).region,
        now=now,
        console_url=_console_url(path.secret_arn),
    )


def _console_url(arn: str) -> str:
    try:
        target = kinds.target(arn)
    except DriftguardError:
        return ""
    return target.kind.console_url(target.arn)


def _trigger(detail: CloudTrailDetail) -> Trigger:
    return Trigger(
        kind=TriggerKind.POLICY_CHANGED,  # the alert's wording reads the call, not the kind
        event_name=detail.event_name,
        event_id=detail.event_id,
        actor=detail.user_identity.describe(),
        event_time=detail.event_time,
    )


def _failing(verdict: PathVerdict) -> set[Link]:
    return {result.link for result in verdict.links if not result.ok}


def _link(verdict: PathVerdict) -> Link | None:
    broken = verdict.broken
    return broken.link if broken else None


def _snake(call: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in call).lstrip("_")
