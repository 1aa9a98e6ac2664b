"""Every write to a declared access path, from the state table's stream (pure, but for
`PathDeclarationChange.of`'s reading): alerted like a policy declaration's. A path
declared or changed by the declarer is said (info) and checked at once; one removed
says driftguard no longer watches it (high); one nobody signed is refused (critical):
the watch and the sweep never check or fix it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from driftguard.alerts import Alert, AlertResource, fit_alert
from driftguard.arns import Arn
from driftguard.errors import InvalidEventError
from driftguard.path_model import PATH_KIND, PathDeclaration
from driftguard.path_store import PATH_PK, audit_arn, declaration_from_item
from driftguard.vocabulary import AlertType, Severity

__all__ = ["PathDeclarationChange", "is_path_image", "path_declaration_alert"]

_DECLARED = "DECLARED#"


def is_path_image(image: Mapping[str, Any] | None) -> bool:
    if not image:
        return False
    return image.get("pk") == PATH_PK and str(image.get("sk", "")).startswith(_DECLARED)


@dataclass(frozen=True)
class PathDeclarationChange:
    """One stream record of a path declaration: before and after (None: absent)."""

    name: str
    before: PathDeclaration | None
    after: PathDeclaration | None

    @classmethod
    def of(
        cls, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> PathDeclarationChange:
        image = new or old
        if not image or not is_path_image(image):
            raise InvalidEventError("the stream record has no access path declaration image")
        name = str(image["sk"]).removeprefix(_DECLARED)
        try:
            before = declaration_from_item(dict(old)) if old else None
            after = declaration_from_item(dict(new)) if new else None
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidEventError(f"access path {name} is unreadable: {exc}") from None
        return cls(name, before, after)


def path_declaration_alert(change: PathDeclarationChange, signed: bool, now: datetime) -> Alert:
    """The alert for one write: removed, refused (not signed), or declared."""
    subject = f"access path {change.name}"
    if change.after is None:
        before = change.before
        assert before is not None
        return _alert(
            change,
            before,
            AlertType.DECLARATION_CHANGED,
            Severity.HIGH,
            f"Declaration removed: {subject}",
            f"The declaration of {subject} (version {before.version}, by "
            f"{before.declared_by}) was deleted from the state table: driftguard no longer "
            "checks this path, on events or in the sweep.",
            "If nobody meant to, declare it again (`driftguard adopt-path` or `declare-path`).",
            now,
        )
    after = change.after
    if not signed:
        return _alert(
            change,
            after,
            AlertType.DECLARATION_REFUSED,
            Severity.CRITICAL,
            f"Declaration refused: {subject}",
            f"The declaration of {subject} is not signed by the declarer role: someone wrote "
            "it straight into the state table. driftguard will not check or fix this path.",
            "Find who wrote it (the table's CloudTrail data events), then declare the path "
            "again with `driftguard declare-path` or `adopt-path`.",
            now,
        )
    was = f"version {change.before.version}" if change.before else "no declaration"
    return _alert(
        change,
        after,
        AlertType.DECLARATION_CHANGED,
        Severity.INFO,
        f"Declaration changed: {subject}",
        f"Version {after.version}, mode {after.mode.value}, signed by {after.declared_by} "
        f"(was {was}); driftguard checks the path now.",
        "Nothing to do if this change was reviewed; else declare the previous path again.",
        now,
    )


def _alert(
    change: PathDeclarationChange,
    declaration: PathDeclaration,
    alert_type: AlertType,
    severity: Severity,
    title: str,
    summary: str,
    next_steps: str,
    now: datetime,
) -> Alert:
    path = declaration.path
    status = {
        AlertType.DECLARATION_REFUSED: "refused",
        AlertType.DECLARATION_CHANGED: "declared" if change.after else "undeclared",
    }[alert_type]
    return fit_alert(
        Alert(
            type=alert_type,
            severity=severity,
            title=title,
            summary=summary,
            resources=[
                AlertResource(
                    arn=audit_arn(change.name),
                    kind=PATH_KIND,
                    account=Arn.parse(path.role_arn).account,
                    region=Arn.parse(path.secret_arn).region,
                    status=status,
                    reason=f"{path.role_arn} -> {path.secret_arn} -> {path.key_arn}"[:1000],
                )
            ],
            next_steps=next_steps,
            # Who declared it, when the signature says so; a forger is not known.
            actor=declaration.declared_by if alert_type is AlertType.DECLARATION_CHANGED else None,
            detected_at=now,
        )
    )
