"""driftguard's one vocabulary: every status, finding, severity, outcome, audit action,
alert type, failure and trigger, and every mapping between them.

Nothing else defines these names or maps one to another; tests/unit/test_vocabulary.py
fails when a member lacks a mapping. Values are what the state table stores and the
CLI prints, so renaming a value is a data migration.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Mode(StrEnum):
    """What driftguard does about a declared resource that drifted."""

    ENFORCE = "enforce"  # restore the declared policy
    DETECT = "detect"  # record and alert only


class Status(StrEnum):
    """Where a declared resource stands now (the STATUS item).

    There is no "remediated" status: a restore is something that happened (an audit
    entry, an alert); after a verified restore the resource is in sync."""

    IN_SYNC = "in-sync"
    DRIFTED = "drifted"
    PENDING_PRINCIPAL = "pending-principal"
    ORPHANED_PRINCIPAL = "orphaned-principal"
    ERROR = "error"
    QUARANTINED = "quarantined"

    @property
    def is_problem(self) -> bool:
        return self is not Status.IN_SYNC


# Statuses written by earlier versions, read as what they mean now. The sweep still
# reads their index partitions, so no resource falls out of it.
LEGACY_STATUSES: Final[Mapping[str, Status]] = MappingProxyType({"remediated": Status.IN_SYNC})


class Finding(StrEnum):
    """How a live policy differs from the declared one (driftguard.classify)."""

    ORPHANED_PRINCIPAL = "orphaned-principal"  # a deleted role or user, now a unique ID
    WIDENED = "widened"  # someone gained access
    NARROWED = "narrowed"  # access was lost, nobody gained any
    MISSING = "missing"  # the resource has no policy at all


class Severity(StrEnum):
    """Lowest to highest (declaration order is the ranking)."""

    NONE = "none"  # nothing found
    INFO = "info"  # restored, nothing left to do
    MEDIUM = "medium"  # access narrowed
    HIGH = "high"  # access broken (orphaned principal, policy missing), or a fix failed
    CRITICAL = "critical"  # access widened beyond the declared state

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Outcome(StrEnum):
    """What handling one resource ended in (handler results, metrics)."""

    IN_SYNC = "in-sync"
    REMEDIATED = "remediated"  # restored and verified just now
    DETECTED = "detected"  # drift recorded, detect mode
    PENDING = "pending-principal"
    ORPHANED = "orphaned-principal"
    QUARANTINED = "quarantined"
    FAILED = "failed"
    UNDECLARED = "undeclared"  # not declared: nothing to restore
    IGNORED = "ignored"  # a failed call, or driftguard's own change
    DEFERRED = "deferred"  # another invocation holds it: checked again shortly


class Failure(StrEnum):
    """Why a resource is in `error`."""

    UNSIGNED_DECLARATION = "unsigned-declaration"  # its signature is missing or wrong
    INVALID_DECLARATION = "invalid-declaration"  # unparsable, or names a unique ID
    RESOURCE_GONE = "resource-gone"  # the key or secret itself no longer exists
    UNREADABLE = "unreadable"  # the live policy could not be read or parsed
    RESTORE_FAILED = "restore-failed"  # the put or its verification failed


class AuditAction(StrEnum):
    """What an audit entry records (the resource's history)."""

    DECLARED = "declared"
    # The declaration was removed (`apply --prune`): driftguard stops guarding it.
    UNDECLARED = "undeclared"
    OBSERVED_UNDECLARED = "observed-undeclared"
    DRIFTED = "drifted"
    PENDING_PRINCIPAL = "pending-principal"
    ORPHANED_PRINCIPAL = "orphaned-principal"
    QUARANTINED = "quarantined"
    RESTORED = "restored"
    RESOLVED = "resolved"  # back in sync without a restore (someone fixed it)
    RESTORE_FAILED = "restore-failed"
    ERROR = "error"  # the declaration is unusable, or the resource could not be read


# Audit actions written by earlier versions (a re-check that found the resource in
# sync after its policy text changed), read as what they mean now.
LEGACY_AUDIT_ACTIONS: Final[Mapping[str, AuditAction]] = MappingProxyType(
    {"in-sync": AuditAction.RESOLVED, "remediated": AuditAction.RESOLVED}
)


class AlertType(StrEnum):
    """What an alert (one Slack message) is about. Declaration order is the ranking:
    a fan-out alert listing several resources takes the type of the worst."""

    RESTORED = "restored"
    # A declared access path works again (driftguard.path_watch).
    PATH_HEALED = "path-healed"
    # A declared path's key got a replica in another region, whose key policy KMS does
    # not keep in step: unguarded until it is declared (the alert offers `adopt`).
    KEY_REPLICATED = "key-replicated"
    # Someone created a grant on a declared path's key: access beside its policy.
    KEY_GRANT_CREATED = "key-grant-created"
    DRIFT_DETECTED = "drift-detected"
    PENDING_PRINCIPAL = "pending-principal"
    ORPHANED_PRINCIPAL = "orphaned-principal"
    CHECK_FAILED = "check-failed"
    RESTORE_FAILED = "restore-failed"
    # A declared access path's first broken link changed (driftguard.path_watch).
    PATH_BROKEN = "path-broken"
    INVALID_DECLARATION = "invalid-declaration"
    # Who may assume a role declared policies name changed (driftguard.safeguards).
    PRINCIPAL_TRUST_CHANGED = "principal-trust-changed"
    QUARANTINED = "quarantined"
    # What driftguard itself stands on changed: the remediation role, a forwarding rule,
    # a trail (driftguard.safeguards).
    SAFEGUARD_CHANGED = "safeguard-changed"
    # Written to the table, not applied by a function (the declarations watcher).
    DECLARATION_CHANGED = "declaration-changed"
    DECLARATION_REFUSED = "declaration-refused"  # its signature does not verify

    @property
    def rank(self) -> int:
        return list(AlertType).index(self)


class TriggerKind(StrEnum):
    """Why driftguard looks at a resource now."""

    POLICY_CHANGED = "policy-changed"  # a key or secret policy call (CloudTrail)
    ROLE_DELETED = "role-deleted"  # DeleteRole of a role declared policies name
    ROLE_CREATED = "role-created"  # CreateRole of such a role
    SWEEP = "sweep"  # the reconciler (schedule, or `scan --remediate`)
    CLI = "cli"  # a person, through the command line (declare, adopt)
    DECLARATION_CHANGED = "declaration-changed"  # written to the state table (its stream)


class TimelineCategory(StrEnum):
    """How the HTML report groups audit actions on its timeline."""

    DECLARED = "declared"
    DRIFT = "drift"
    REMEDIATION = "remediation"
    FAILURE = "failure"
    OBSERVED = "observed"


class Link(StrEnum):
    """One link of a declared access path (driftguard.paths), in chain order: the pod
    reaches its secret only when every link holds, and the first broken one is the fix."""

    ROLE_EXISTS = "role-exists"
    TRUST = "trust"  # the role's trust policy lets exactly that service account in
    # What hands the pod the role: IRSA, the cluster's OIDC provider exists; EKS Pod
    # Identity, an association maps the service account to the role.
    BINDING = "binding"
    IDENTITY_POLICY = "identity-policy"  # the role may read the secret and decrypt
    SECRET_EXISTS = "secret-exists"  # and is not scheduled for deletion
    SECRET_POLICY = "secret-policy"  # the secret's resource policy allows the role
    SECRET_KEY = "secret-key"  # the secret is encrypted with the path's key
    KEY_STATE = "key-state"  # enabled, not pending deletion
    KEY_POLICY = "key-policy"  # allows the role kms:Decrypt through Secrets Manager
    # Each replica of the secret in another region: its key is enabled and lets the role
    # decrypt there (KMS does not synchronise a replica key's policy).
    REPLICA_KEYS = "replica-keys"


class PathFinding(StrEnum):
    """What is wrong around a path that works (driftguard.path_hygiene): not a broken
    link, a risk the story warns of."""

    # A key or secret policy lets an EKS node instance role in: every pod on the node
    # may use it (the fallback when IRSA or Pod Identity is not used).
    NODE_ROLE_GRANTED = "node-role-granted"
    # The role lacks the permissions boundary its declaration asks for.
    BOUNDARY_MISSING = "boundary-missing"


# --------------------------------------------------------------------------- mappings

FINDING_SEVERITY: Final[Mapping[Finding, Severity]] = MappingProxyType(
    {
        Finding.WIDENED: Severity.CRITICAL,
        Finding.ORPHANED_PRINCIPAL: Severity.HIGH,  # access lost; the policy cannot be re-put
        Finding.MISSING: Severity.HIGH,
        Finding.NARROWED: Severity.MEDIUM,
    }
)

# The status a resource rests in, by what was decided (errors: FAILURE_*).
STATUS_OUTCOME: Final[Mapping[Status, Outcome]] = MappingProxyType(
    {
        Status.IN_SYNC: Outcome.IN_SYNC,
        Status.DRIFTED: Outcome.DETECTED,
        Status.PENDING_PRINCIPAL: Outcome.PENDING,
        Status.ORPHANED_PRINCIPAL: Outcome.ORPHANED,
        Status.ERROR: Outcome.FAILED,
        Status.QUARANTINED: Outcome.QUARANTINED,
    }
)

# Entering a problem status: what the audit entry says and what the alert is.
# (IN_SYNC: RESOLVED when leaving a problem, no alert; ERROR: by its Failure.)
STATUS_AUDIT: Final[Mapping[Status, AuditAction]] = MappingProxyType(
    {
        Status.IN_SYNC: AuditAction.RESOLVED,
        Status.DRIFTED: AuditAction.DRIFTED,
        Status.PENDING_PRINCIPAL: AuditAction.PENDING_PRINCIPAL,
        Status.ORPHANED_PRINCIPAL: AuditAction.ORPHANED_PRINCIPAL,
        Status.ERROR: AuditAction.ERROR,
        Status.QUARANTINED: AuditAction.QUARANTINED,
    }
)
STATUS_ALERT: Final[Mapping[Status, AlertType | None]] = MappingProxyType(
    {
        Status.IN_SYNC: None,
        Status.DRIFTED: AlertType.DRIFT_DETECTED,
        Status.PENDING_PRINCIPAL: AlertType.PENDING_PRINCIPAL,
        Status.ORPHANED_PRINCIPAL: AlertType.ORPHANED_PRINCIPAL,
        Status.ERROR: AlertType.CHECK_FAILED,
        Status.QUARANTINED: AlertType.QUARANTINED,
    }
)
FAILURE_AUDIT: Final[Mapping[Failure, AuditAction]] = MappingProxyType(
    {
        Failure.UNSIGNED_DECLARATION: AuditAction.ERROR,
        Failure.INVALID_DECLARATION: AuditAction.ERROR,
        Failure.RESOURCE_GONE: AuditAction.ERROR,
        Failure.UNREADABLE: AuditAction.ERROR,
        Failure.RESTORE_FAILED: AuditAction.RESTORE_FAILED,
    }
)
FAILURE_ALERT: Final[Mapping[Failure, AlertType]] = MappingProxyType(
    {
        Failure.UNSIGNED_DECLARATION: AlertType.DECLARATION_REFUSED,
        Failure.INVALID_DECLARATION: AlertType.INVALID_DECLARATION,
        Failure.RESOURCE_GONE: AlertType.CHECK_FAILED,
        Failure.UNREADABLE: AlertType.CHECK_FAILED,
        Failure.RESTORE_FAILED: AlertType.RESTORE_FAILED,
    }
)

# Alert severity where it does not depend on what changed (DRIFT_DETECTED takes the
# findings' severity; RESTORED too when it undid someone's edit, else INFO).
ALERT_SEVERITY: Final[Mapping[AlertType, Severity | None]] = MappingProxyType(
    {
        AlertType.RESTORED: None,
        AlertType.DRIFT_DETECTED: None,
        AlertType.PENDING_PRINCIPAL: Severity.HIGH,
        AlertType.ORPHANED_PRINCIPAL: Severity.HIGH,
        AlertType.CHECK_FAILED: Severity.HIGH,
        AlertType.RESTORE_FAILED: Severity.HIGH,
        AlertType.PATH_BROKEN: Severity.HIGH,  # the pod cannot read its secret
        AlertType.PATH_HEALED: Severity.INFO,
        AlertType.KEY_REPLICATED: Severity.MEDIUM,
        AlertType.KEY_GRANT_CREATED: Severity.HIGH,
        AlertType.INVALID_DECLARATION: Severity.HIGH,
        # CRITICAL when it widens who may assume the role, else HIGH.
        AlertType.PRINCIPAL_TRUST_CHANGED: None,
        AlertType.QUARANTINED: Severity.CRITICAL,
        AlertType.SAFEGUARD_CHANGED: Severity.CRITICAL,
        AlertType.DECLARATION_CHANGED: None,  # CRITICAL when it widens access, else INFO
        AlertType.DECLARATION_REFUSED: Severity.CRITICAL,
    }
)

# CloudWatch metric per outcome worth counting (None: not counted).
OUTCOME_METRIC: Final[Mapping[Outcome, str | None]] = MappingProxyType(
    {
        Outcome.IN_SYNC: None,
        Outcome.REMEDIATED: "PolicyRestored",
        Outcome.DETECTED: "DriftDetected",
        Outcome.PENDING: "PendingPrincipal",
        Outcome.ORPHANED: "OrphanedPrincipal",
        Outcome.QUARANTINED: "Quarantined",
        Outcome.FAILED: "RestoreFailed",
        Outcome.UNDECLARED: None,
        Outcome.IGNORED: None,
        Outcome.DEFERRED: "Deferred",
    }
)

AUDIT_CATEGORY: Final[Mapping[AuditAction, TimelineCategory]] = MappingProxyType(
    {
        AuditAction.DECLARED: TimelineCategory.DECLARED,
        AuditAction.UNDECLARED: TimelineCategory.DECLARED,
        AuditAction.OBSERVED_UNDECLARED: TimelineCategory.OBSERVED,
        AuditAction.DRIFTED: TimelineCategory.DRIFT,
        AuditAction.PENDING_PRINCIPAL: TimelineCategory.DRIFT,
        AuditAction.ORPHANED_PRINCIPAL: TimelineCategory.DRIFT,
        AuditAction.QUARANTINED: TimelineCategory.DRIFT,
        AuditAction.RESTORED: TimelineCategory.REMEDIATION,
        AuditAction.RESOLVED: TimelineCategory.REMEDIATION,
        AuditAction.RESTORE_FAILED: TimelineCategory.FAILURE,
        AuditAction.ERROR: TimelineCategory.FAILURE,
    }
)

# What each link of an access path is, as the answer and the report name it.
LINK_SUBJECT: Final[Mapping[Link, str]] = MappingProxyType(
    {
        Link.ROLE_EXISTS: "the workload role exists",
        Link.TRUST: "the role trusts exactly the service account",
        Link.BINDING: "the OIDC provider exists, or the Pod Identity association",
        Link.IDENTITY_POLICY: "the role's policies allow the secret and the key",
        Link.SECRET_EXISTS: "the secret exists",
        Link.SECRET_POLICY: "the secret's policy allows the role",
        Link.SECRET_KEY: "the secret is encrypted with the key",
        Link.KEY_STATE: "the key is enabled",
        Link.KEY_POLICY: "the key's policy lets the role decrypt through Secrets Manager",
        Link.REPLICA_KEYS: "every replica's key lets the role decrypt in its region",
    }
)
