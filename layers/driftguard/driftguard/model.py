"""Domain records: frozen dataclasses used inside driftguard (pydantic stays at the edges).

Their names and meanings come from driftguard.vocabulary; how they are stored is
driftguard.state's business.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from driftguard.vocabulary import AuditAction, Mode, Status, TriggerKind


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Declared:
    """The state the security team declared for one resource."""

    arn: str
    kind: str
    account: str
    region: str
    policy: str  # the policy JSON exactly as declared; this is what gets restored
    digest: str  # sha256 of `policy`: names the version in the history (not a safeguard)
    mode: Mode
    version: int
    declared_by: str
    declared_at: datetime
    principals: tuple[str, ...]  # role/user ARNs the policy names
    # The declarer's HMAC over all of the above (driftguard.signing); "" when unsigned.
    signature: str = ""


@dataclass(frozen=True)
class TrustRecord:
    """A role's approved identity: its unique ID and trust policy when the security team
    declared a policy naming it, or approved it. A role recreated under the same name with
    another trust policy is not that identity (a name is not an identity)."""

    principal_arn: str  # without its path (driftguard.arns.role_key)
    unique_id: str
    policy: str  # the trust policy, as GetRole showed it
    recorded_by: str
    recorded_at: datetime
    signature: str = ""  # the declarer's HMAC (driftguard.signing)


@dataclass(frozen=True)
class Identities:
    """Declared roles that exist but may not be given access (yet)."""

    held: Mapping[str, str] = field(default_factory=dict)  # role -> why: not the approved one
    unseen: tuple[str, ...] = ()  # a CreateRole said so; GetRole does not show it yet

    def __bool__(self) -> bool:
        return bool(self.held or self.unseen)


@dataclass(frozen=True)
class StatusRecord:
    """Where a declared resource stands now, and what driftguard remembers about it."""

    arn: str
    kind: str
    account: str
    region: str
    mode: Mode
    status: Status
    updated_at: datetime  # when the status, the live policy or the reason last changed
    reason: str = ""
    findings: tuple[str, ...] = ()
    live_digest: str | None = None
    # What the last alert was about; the same incident is never alerted twice.
    incident: str | None = None
    # When driftguard undid someone else's change (quarantine counts them).
    restores: tuple[datetime, ...] = ()
    orphaned_ids: tuple[str, ...] = ()
    remediated_at: datetime | None = None  # the last verified restore, of any cause


@dataclass(frozen=True)
class Inventory:
    """How many resources of a kind exist in an account and region, as the sweep last counted."""

    account: str
    region: str
    kind: str  # a kinds name: "kms-key", "secret"
    existing: int
    counted_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    arn: str
    at: datetime
    action: AuditAction
    status: str  # a Status value, or "undeclared"
    actor: str | None = None
    trigger: str | None = None
    event_id: str | None = None
    message: str = ""
    before_digest: str | None = None
    after_digest: str | None = None
    diff: dict[str, Any] = field(default_factory=dict)
    findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trigger:
    """Why driftguard is looking at a resource now.

    A scheduled re-check keeps the trigger that started it (so a restore is still
    "after CreateRole by ..."), with `attempt` counting the re-checks and `since`
    when the wait began."""

    kind: TriggerKind
    event_name: str | None = None
    event_id: str | None = None
    actor: str | None = None
    event_time: datetime | None = None
    attempt: int = 0  # 0: the trigger itself; n: its n-th scheduled re-check
    since: datetime | None = None  # when the first re-check was scheduled

    def describe(self) -> str:
        if self.event_name:
            return f"{self.event_name} by {self.actor or 'unknown'}"
        return "reconciler" if self.kind is TriggerKind.SWEEP else self.kind.value

    def again(self, since: datetime) -> Trigger:
        """The same trigger, one re-check further."""
        return replace(self, attempt=self.attempt + 1, since=self.since or since)
