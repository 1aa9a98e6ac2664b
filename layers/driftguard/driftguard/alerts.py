"""Alerts: one per incident, published to the SNS alert topic as JSON.

The notifier turns them into Slack messages; the model is the contract between
the two, so it is pydantic (an edge).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AlertType(StrEnum):
    ORPHANED_PRINCIPAL = "orphaned-principal"
    DRIFT_DETECTED = "drift-detected"
    RESTORED = "restored"
    RESTORE_FAILED = "restore-failed"
    PENDING_PRINCIPAL = "pending-principal"
    QUARANTINED = "quarantined"
    INVALID_DECLARATION = "invalid-declaration"


class Severity(StrEnum):
    CRITICAL = "critical"  # access widened beyond the declared state
    HIGH = "high"  # access broken (orphaned principal, policy missing), or a fix failed
    MEDIUM = "medium"  # access narrowed
    INFO = "info"  # restored, nothing left to do


class AlertResource(BaseModel):
    model_config = ConfigDict(frozen=True)

    arn: str
    kind: str
    account: str
    region: str
    status: str
    findings: list[str] = []
    orphaned_ids: list[str] = []
    diff: dict[str, Any] = {}
    reason: str = ""
    console_url: str = ""


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: AlertType
    severity: Severity
    title: str
    summary: str
    resources: list[AlertResource] = Field(min_length=1)
    next_steps: str = ""
    role_arn: str | None = None
    unique_ids: dict[str, str] = {}  # unique id -> role ARN it belonged to, when known
    actor: str | None = None
    event_name: str | None = None
    event_id: str | None = None
    changed_at: datetime | None = None
    detected_at: datetime
    time_to_fix_seconds: float | None = None

    def render_text(self) -> str:
        """Plain text for terminals and logs (the demo prints this)."""
        lines = [f"[{self.severity.value.upper()}] {self.title}", f"  {self.summary}"]
        if self.actor:
            lines.append(f"  changed by: {self.actor} ({self.event_name})")
        for uid, arn in self.unique_ids.items():
            lines.append(f"  {uid} was {arn}")
        for resource in self.resources:
            lines.append(f"  - {resource.arn}: {resource.status}")
            if resource.orphaned_ids:
                lines.append(f"      unique ids in policy: {', '.join(resource.orphaned_ids)}")
            for change in readable_changes(resource.diff):
                lines.append(f"      {change}")
            if resource.reason:
                lines.append(f"      {resource.reason}")
        if self.time_to_fix_seconds is not None:
            lines.append(f"  fixed {self.time_to_fix_seconds:.1f}s after the change")
        if self.next_steps:
            lines.append(f"  next: {self.next_steps}")
        return "\n".join(lines)


def readable_changes(diff: dict[str, Any]) -> list[str]:
    """Principal and action changes when there are any; the grant lines only when
    nothing else shows what changed (a condition or resource, say)."""
    lines: list[str] = diff.get("summary", [])
    short = [line for line in lines if not line.lstrip("+- ").startswith("grant ")]
    return short or lines


class AlertPublisher:
    """Publishes alerts to SNS. The message attributes let subscribers filter."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn

    def publish(self, alert: Alert) -> str:
        response = self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=alert.title[:100],
            Message=alert.model_dump_json(),
            MessageAttributes={
                "alert_type": {"DataType": "String", "StringValue": alert.type.value},
                "severity": {"DataType": "String", "StringValue": alert.severity.value},
            },
        )
        return str(response["MessageId"])
