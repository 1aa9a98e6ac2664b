"""Domain records: frozen dataclasses used inside driftguard (pydantic stays at the edges)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from driftguard.config import Mode


class Status(StrEnum):
    IN_SYNC = "in-sync"
    DRIFTED = "drifted"
    REMEDIATED = "remediated"
    ORPHANED_PRINCIPAL = "orphaned-principal"
    PENDING_PRINCIPAL = "pending-principal"
    QUARANTINED = "quarantined"
    ERROR = "error"

    @property
    def is_problem(self) -> bool:
        return self not in (Status.IN_SYNC, Status.REMEDIATED)


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
    digest: str  # sha256 of `policy`, checked before every use
    mode: Mode
    version: int
    declared_by: str
    declared_at: datetime
    principals: tuple[str, ...]  # role/user ARNs the policy names

    @property
    def intact(self) -> bool:
        return sha256(self.policy) == self.digest


@dataclass(frozen=True)
class StatusRecord:
    arn: str
    kind: str
    account: str
    region: str
    mode: Mode
    status: Status
    updated_at: datetime
    reason: str = ""
    findings: tuple[str, ...] = ()
    live_digest: str | None = None
    # What the last alert was about; the same incident is never alerted twice.
    incident: str | None = None
    # When driftguard restored this resource after someone else changed it.
    restores: tuple[datetime, ...] = ()
    orphaned_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditEntry:
    arn: str
    at: datetime
    action: str
    status: str
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
    """Why driftguard is looking at a resource now."""

    source: str  # "event", "reconciler", "cli"
    event_name: str | None = None
    event_id: str | None = None
    actor: str | None = None
    event_time: datetime | None = None

    def describe(self) -> str:
        if self.event_name:
            return f"{self.event_name} by {self.actor or 'unknown'}"
        return self.source
