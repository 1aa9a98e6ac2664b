"""What handling one resource ended in. Expected no-ops are outcomes, not errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from driftguard.classify import Classification
from driftguard.model import Status


class Outcome(StrEnum):
    IN_SYNC = "in-sync"
    REMEDIATED = "remediated"
    DETECTED = "detected"  # drift recorded, detect mode
    ORPHANED = "orphaned-principal"
    PENDING = "pending-principal"
    QUARANTINED = "quarantined"
    FAILED = "failed"
    UNDECLARED = "undeclared"  # not declared: nothing to restore
    IGNORED = "ignored"  # failed call, or driftguard's own change


@dataclass(frozen=True)
class ResourceResult:
    arn: str
    outcome: Outcome
    kind: str = ""
    status: Status | None = None
    reason: str = ""
    classification: Classification | None = None
    orphaned_ids: tuple[str, ...] = ()
    missing_principals: tuple[str, ...] = ()
    new_incident: bool = False  # an alert is due for this resource
    declaration_invalid: bool = False  # the declared state itself is unusable
    at: datetime | None = None
    diff: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "arn": self.arn,
            "outcome": self.outcome.value,
            "status": self.status.value if self.status else None,
            "reason": self.reason,
        }
