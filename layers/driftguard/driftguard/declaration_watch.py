"""Every change to a declaration is alerted, however it was written.

The state table's stream (filtered to DECLARED items) brings each write here: the CLI's
signed `declare`, but also a direct PutItem by anyone who may write the table. A change
whose signature does not verify is a forged declaration (critical; the functions refuse
to apply it as well). A verified change is critical when it widens access, high when it
removes a declaration (driftguard stops guarding the resource), else informational.

A changed declaration is also checked at once (a re-check with no delay): a verified
one is enforced without waiting for the sweep, and a forged one is refused by the same
check that would refuse it at any other time, which records it (status `error`) and
alerts it once, as critical. The watcher itself alerts only the changes that verify and
the removals, so a forgery is one alert, not two.

`change_alert` is pure: the images, the time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from driftguard import kinds
from driftguard.access import public_allows
from driftguard.alerts import Alert, AlertPublisher, AlertResource
from driftguard.arns import Arn
from driftguard.classify import classify
from driftguard.errors import (
    InvalidEventError,
    PolicyParseError,
    SigningError,
    UnknownResourceKindError,
)
from driftguard.model import Declared, Trigger
from driftguard.policy import Policy
from driftguard.rechecks import Recheck, RecheckQueue
from driftguard.retry import Clock
from driftguard.signing import Verifier
from driftguard.state import declared_from_item
from driftguard.vocabulary import AlertType, Finding, Severity, TriggerKind


@dataclass(frozen=True)
class DeclarationChange:
    """One stream record: the declaration before and after (None: absent)."""

    arn: str
    before: Declared | None
    after: Declared | None

    @classmethod
    def of(cls, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> DeclarationChange:
        """From the record's images (already deserialized); InvalidEventError when an
        image is not a declaration driftguard can read."""
        image = new or old
        if not image or not str(image.get("pk", "")).startswith("RES#"):
            raise InvalidEventError("the stream record has no declaration image")
        arn = str(image["pk"]).removeprefix("RES#")
        try:
            before = declared_from_item(dict(old)) if old else None
            after = declared_from_item(dict(new)) if new else None
        except ValidationError as exc:
            raise InvalidEventError(f"the declaration of {arn} is unreadable: {exc}") from None
        return cls(arn, before, after)


class DeclarationWatch:
    """What the watcher does with one change: verify, alert, look at the resource now."""

    def __init__(
        self,
        signatures: Verifier,
        publisher: AlertPublisher,
        rechecks: RecheckQueue,
        clock: Clock,
    ) -> None:
        self._signatures = signatures
        self._publisher = publisher
        self._rechecks = rechecks
        self._clock = clock

    def on_change(self, change: DeclarationChange) -> AlertType | None:
        """The alert published (None: left to the check)."""
        now = self._clock.now()
        if change.after is not None:
            signed = change.after.arn == change.arn  # else copied from another resource
            if signed:
                try:
                    self._signatures.verify(change.after)
                except SigningError:
                    signed = False
            trigger = Trigger(
                kind=TriggerKind.DECLARATION_CHANGED,
                # Who declared it, when the signature says so; a forger is not known.
                actor=change.after.declared_by if signed else None,
                attempt=1,
                since=now,
            )
            recheck = Recheck.of([change.arn], trigger, "the declaration changed")
            self._rechecks.schedule(recheck, 0)
            if not signed:
                return None  # the check refuses it, records it and alerts it once
        alert = change_alert(change, now)
        self._publisher.publish(alert)
        return alert.type


def change_alert(change: DeclarationChange, now: datetime) -> Alert:
    """The alert for a verified change or a removal."""
    after, before = change.after, change.before
    if after is None:
        assert before is not None
        return _alert(
            change,
            AlertType.DECLARATION_CHANGED,
            Severity.HIGH,
            f"Declaration removed: {change.arn}",
            f"The declaration (version {before.version}, by {before.declared_by}) was "
            "deleted from the state table: driftguard no longer guards this resource.",
            "If nobody meant to, declare it again (`driftguard declare` or `adopt`).",
            now,
        )
    widened, diff = _widening(before, after)
    severity = Severity.CRITICAL if widened else Severity.INFO
    what = "widens access" if widened else "does not widen access"
    return _alert(
        change,
        AlertType.DECLARATION_CHANGED,
        severity,
        f"Declaration {'widened' if widened else 'changed'}: {change.arn}",
        f"Version {after.version}, mode {after.mode.value}, signed by {after.declared_by}; "
        f"it {what} compared with {_compared_with(before)}.",
        "Nothing to do if this change was reviewed; else declare the previous policy again.",
        now,
        findings=[Finding.WIDENED.value] if widened else [],
        diff=diff,
    )


def _widening(before: Declared | None, after: Declared) -> tuple[bool, dict[str, Any]]:
    """Whether `after` grants anything `before` did not (a first declaration: whether it
    grants everyone), and the readable diff."""
    try:
        policy = Policy.parse(after.policy)
        if before is None:
            public = public_allows(policy, Arn.parse(after.arn).partition)
            summary = [f"+ grants everyone: {', '.join(public)}"] if public else []
            return bool(public), {"summary": summary} if public else {}
        found = classify(Policy.parse(before.policy), policy)
    except PolicyParseError:
        return True, {}  # the functions refuse it; unreadable counts as the worst
    diff = found.diff.to_dict() if found.diff else {}
    return Finding.WIDENED in found.findings, diff


def _compared_with(before: Declared | None) -> str:
    return f"version {before.version}" if before else "no declaration (a first declaration)"


def _alert(
    change: DeclarationChange,
    alert_type: AlertType,
    severity: Severity,
    title: str,
    summary: str,
    next_steps: str,
    now: datetime,
    *,
    findings: list[str] | None = None,
    diff: dict[str, Any] | None = None,
) -> Alert:
    declared = change.after or change.before
    assert declared is not None
    arn = Arn.parse(change.arn)
    try:
        console_url = kinds.get(declared.kind).console_url(arn)
    except UnknownResourceKindError:
        console_url = ""
    return Alert(
        type=alert_type,
        severity=severity,
        title=title,
        summary=summary,
        next_steps=next_steps,
        resources=[
            AlertResource(
                arn=change.arn,
                kind=declared.kind,
                account=arn.account,
                region=declared.region,
                status="declared" if change.after else "undeclared",
                findings=findings or [],
                diff=diff or {},
                console_url=console_url,
            )
        ],
        actor=declared.declared_by,
        detected_at=now,
    )
