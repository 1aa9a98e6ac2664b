"""Typed errors. Expected no-ops are outcomes (driftguard.vocabulary.Outcome), not errors."""

from __future__ import annotations


class DriftguardError(Exception):
    """Base of every error driftguard raises on purpose."""


class ConfigError(DriftguardError):
    """The environment or flags do not describe a usable configuration."""


class MissingSettingError(ConfigError):
    """Settings absent from the environment (the CLI points at --stack for them)."""


class PolicyParseError(DriftguardError):
    """A policy document is not a valid IAM policy."""


class InvalidEventError(DriftguardError):
    """An incoming event does not have the shape driftguard expects."""


class UnknownResourceKindError(DriftguardError):
    """No registered resource kind handles this ARN or name."""


class DeclarationError(DriftguardError):
    """A declared policy cannot be accepted (orphaned unique ID, lockout, wrong kind...)."""


class SigningError(DeclarationError):
    """A declaration's signature is missing or does not verify, or this caller may not
    sign: never applied."""


class AccountNotAllowedError(DriftguardError):
    """An account outside the configured members: driftguard never assumes into it."""


class LeaseBusyError(DriftguardError):
    """Another invocation holds the lease on this resource; retry later."""


class AlreadyHandledError(DriftguardError):
    """This CloudTrail event was handled on this resource already (a redelivery)."""


class StoreBusyError(DriftguardError):
    """DynamoDB kept a batch read unprocessed (throttled) after every retry."""


class ResourceNotFoundError(DriftguardError):
    """The resource itself (key, secret) does not exist in its account."""


class PrincipalNotReadyError(DriftguardError):
    """AWS rejected a principal in the policy (not propagated yet, or gone)."""


class RemediationError(DriftguardError):
    """Restoring the declared policy failed for a reason retrying will not fix."""


class SlackDeliveryError(DriftguardError):
    """Slack did not accept an alert after the client's retries.

    Raised by the notifier so that Lambda retries the invocation and then keeps the
    alert on the notifier's dead-letter queue. The message never contains the
    webhook URL (it is a credential)."""

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
