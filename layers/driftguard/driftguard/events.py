"""Parser models for the CloudTrail-via-EventBridge events driftguard reacts to.

Field names follow CloudTrail; only what driftguard reads is typed, the rest is
kept (extra="allow") so nothing of the record is lost when it is stored or parked.

The models are built on first use (defer_build), not at import: only the two event
functions parse CloudTrail, and every function imports this module (issue 10).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from driftguard.errors import InvalidEventError


class _CloudTrailPart(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True, defer_build=True)


class SessionIssuer(_CloudTrailPart):
    type: str | None = None
    arn: str | None = None
    user_name: str | None = Field(default=None, alias="userName")


class SessionContext(_CloudTrailPart):
    session_issuer: SessionIssuer | None = Field(default=None, alias="sessionIssuer")


class UserIdentity(_CloudTrailPart):
    type: str | None = None
    principal_id: str | None = Field(default=None, alias="principalId")
    arn: str | None = None
    account_id: str | None = Field(default=None, alias="accountId")
    invoked_by: str | None = Field(default=None, alias="invokedBy")
    session_context: SessionContext | None = Field(default=None, alias="sessionContext")

    @property
    def issuer_arn(self) -> str | None:
        issuer = self.session_context.session_issuer if self.session_context else None
        return issuer.arn if issuer else None

    @property
    def partition(self) -> str:
        """The partition of the caller's ARN (`aws` when it names none)."""
        parts = (self.arn or "").split(":")
        return parts[1] if len(parts) > 1 and parts[1] else "aws"

    def describe(self) -> str:
        """Who made the call, as a person would want to read it."""
        return self.arn or self.invoked_by or self.principal_id or self.type or "unknown"


class CloudTrailDetail(_CloudTrailPart):
    event_version: str = Field(alias="eventVersion")
    event_source: str = Field(alias="eventSource")
    event_name: str = Field(alias="eventName")
    event_time: datetime = Field(alias="eventTime")
    # A region's name: it ends up in ARNs, clients and alerts (the fuzzer sent 100 KB).
    aws_region: str = Field(alias="awsRegion", pattern=r"^[a-z]{2}(-[a-z0-9]+){2,3}$")
    recipient_account_id: str = Field(alias="recipientAccountId", pattern=r"^\d{12}$")
    event_id: str = Field(alias="eventID", min_length=1)
    user_identity: UserIdentity = Field(alias="userIdentity")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")
    resources: list[dict[str, Any]] | None = None
    error_code: str | None = Field(default=None, alias="errorCode")
    error_message: str | None = Field(default=None, alias="errorMessage")


class EventBridgeEvent(BaseModel):
    """EventBridge's envelope: the fields, aliases and validation of Powertools'
    EventBridgeModel, which is built when imported; this one is built on first use.
    (Powertools also reads an EventBridge Scheduler's "{}" detail as {}: no CloudTrail
    event has one, and such an event is rejected either way.)"""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: Any  # each kind of event says what its detail is
    replay_name: str | None = Field(default=None, alias="replay-name")


class CloudTrailEvent(EventBridgeEvent):
    detail_type: Literal["AWS API Call via CloudTrail"] = Field(alias="detail-type")
    detail: CloudTrailDetail

    @model_validator(mode="after")
    def _one_account(self) -> CloudTrailEvent:
        # EventBridge sets `account` to the account that put the event on the bus; a
        # member forwards only its own trail, so a record that says it was received by
        # another account was not (a forged or misrouted event).
        if self.account != self.detail.recipient_account_id:
            raise ValueError(
                f"sent by account {self.account[:40]} but says it was received by "
                f"{self.detail.recipient_account_id}"
            )
        return self


def parse_cloudtrail(event: Any) -> CloudTrailDetail:
    """The CloudTrail record inside an EventBridge event, or InvalidEventError."""
    try:
        # A JSON text is parsed as JSON, as Powertools' parse() did.
        if isinstance(event, str):
            return CloudTrailEvent.model_validate_json(event).detail
        return CloudTrailEvent.model_validate(event).detail
    except (ValidationError, ValueError, TypeError) as exc:
        raise InvalidEventError(f"not a CloudTrail API-call event: {brief(exc)}") from None


def brief(exc: Exception) -> str:
    """A validation error in one line: each field and what is wrong with it."""
    cause = exc if isinstance(exc, ValidationError) else exc.__cause__
    if isinstance(cause, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'event'}: {err['msg']}"
            for err in cause.errors()[:5]
        )
    return str(exc)[:300]
