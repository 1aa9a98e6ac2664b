"""Configuration, validated once at cold start from the environment the template sets.

No silent defaults: every setting the functions need is named in template.yaml's
Globals, and a missing or malformed one is a ConfigError that names it. The one
exception is PARTITION (`aws` when unset): the CLI reads these settings from an
operator's shell, where the commercial partition is what driftguard always assumed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from driftguard.errors import ConfigError, MissingSettingError
from driftguard.vocabulary import Mode

NonEmpty = Annotated[str, Field(min_length=1)]


class EnvSettings(BaseModel):
    """Settings read from environment variables (by alias), validated once."""

    # Each is built when first read (the functions read one, once): not at import.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False, defer_build=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        environ = os.environ if environ is None else environ
        try:
            return cls.model_validate(dict(environ))
        except ValidationError as exc:
            missing = [str(err["loc"][0]) for err in exc.errors() if err["type"] == "missing"]
            if missing:
                raise MissingSettingError(f"not set: {', '.join(missing)}") from None
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"invalid driftguard configuration: {problems}") from None


class StoreConfig(EnvSettings):
    """What reading the state table needs (the CLI's read commands)."""

    table_name: NonEmpty = Field(alias="TABLE_NAME")


class PartitionConfig(EnvSettings):
    """The AWS partition the remediation role's ARN is built in (`aws-us-gov`, `aws-cn`...)."""

    partition: str = Field(default="aws", alias="PARTITION", pattern=r"^aws(-[a-z]+)*$")


class SigningConfig(EnvSettings):
    """The KMS HMAC key declarations are signed with (an id, ARN, alias or alias ARN)."""

    signing_key_id: NonEmpty = Field(alias="SIGNING_KEY_ID")


class Config(StoreConfig, PartitionConfig, SigningConfig):
    """What the functions need (all set by template.yaml Globals)."""

    alert_topic_arn: NonEmpty = Field(alias="ALERT_TOPIC_ARN")
    remediation_role_name: NonEmpty = Field(alias="REMEDIATION_ROLE_NAME")
    default_mode: Mode = Field(alias="DEFAULT_MODE")
    dead_letter_queue_url: NonEmpty = Field(alias="DEAD_LETTER_QUEUE_URL")
    recheck_queue_url: NonEmpty = Field(alias="RECHECK_QUEUE_URL")
    sweep_queue_url: NonEmpty = Field(alias="SWEEP_QUEUE_URL")
    # A sweep worker's threads, and the part of each member-account quota driftguard
    # takes (driftguard.quotas): the rest is the organisation's own.
    sweep_threads: int = Field(alias="SWEEP_THREADS", ge=1, le=32)
    # How many sweep workers may run at once: they share the hub's quotas.
    sweep_concurrency: int = Field(alias="SWEEP_CONCURRENCY", ge=1, le=1000)
    quota_share: float = Field(alias="QUOTA_SHARE", gt=0, le=1)
    # Re-checked on a schedule, so it need not fit in a function's timeout.
    propagation_timeout_seconds: float = Field(alias="PROPAGATION_TIMEOUT_SECONDS", ge=0, le=3600)
    # Waits inside one invocation: short by design (at most 30 s each, so together
    # they always fit the functions' 300 s timeout).
    lease_wait_seconds: float = Field(alias="LEASE_WAIT_SECONDS", ge=0, le=30)
    put_retry_seconds: float = Field(alias="PUT_RETRY_SECONDS", ge=0, le=30)
    verify_seconds: float = Field(alias="VERIFY_SECONDS", ge=0, le=30)
    lease_seconds: int = Field(alias="LEASE_SECONDS", gt=0, le=3600)
    quarantine_threshold: int = Field(alias="QUARANTINE_THRESHOLD", ge=2)
    quarantine_window_seconds: int = Field(alias="QUARANTINE_WINDOW_SECONDS", gt=0)
    audit_retention_days: int = Field(alias="AUDIT_RETENTION_DAYS", gt=0)
    # The accounts driftguard may act in (the hub's and MemberAccountIds); empty when
    # the hub admits its organization's accounts (OrganizationId).
    member_account_ids: str = Field(alias="MEMBER_ACCOUNT_IDS", pattern=r"^(\d{12}(,\d{12})*)?$")

    @property
    def member_accounts(self) -> frozenset[str] | None:
        """None: every account of the organization (the hub bus admits no other)."""
        return frozenset(self.member_account_ids.split(",")) if self.member_account_ids else None
