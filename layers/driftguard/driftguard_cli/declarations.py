"""Declaring state: `declare` (a policy file) and `adopt` (the live policy).

Nothing here writes to a member account: the declaration is recorded with the status a
read-only look gives it (the same look the functions take), and the next event, the
sweep or `scan --remediate` enforces it.
"""

from __future__ import annotations

from driftguard import kinds
from driftguard.access import public_allows
from driftguard.aws import AwsClients
from driftguard.decision import Observation, observed_status
from driftguard.errors import DeclarationError, PolicyParseError
from driftguard.inspector import Inspector
from driftguard.kinds import Target
from driftguard.model import AuditEntry, Declared, StatusRecord, sha256
from driftguard.policy import Policy
from driftguard.retry import SYSTEM_CLOCK, Clock
from driftguard.signing import KmsSignatures
from driftguard.state import StateStore
from driftguard.vocabulary import AuditAction, Mode


class Declarations:
    def __init__(
        self,
        clients: AwsClients,
        store: StateStore,
        signatures: KmsSignatures,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._clients = clients
        self._store = store
        self._clock = clock
        self._signatures = signatures
        self._inspector = Inspector(clients, store, signatures)

    def declare(
        self,
        arn_text: str,
        policy_text: str,
        mode: Mode,
        declared_by: str,
        *,
        allow_public: bool = False,
    ) -> Declared:
        target = kinds.target(arn_text)
        policy = self._acceptable(target, policy_text)
        if (public := public_allows(policy, target.arn.partition)) and not allow_public:
            raise DeclarationError(
                f"the policy for {target} grants everyone without a condition "
                f"({', '.join(public)}); driftguard would keep it that way. "
                "Narrow it with a condition, or pass --allow-public if that is intended"
            )
        previous = self._store.get_declared(target.text)
        declared = Declared(
            arn=target.text,
            kind=target.kind.name,
            account=target.arn.account,
            region=target.arn.region,
            policy=policy_text,
            digest=sha256(policy_text),
            mode=mode,
            version=(previous.version if previous else 0) + 1,
            declared_by=declared_by,
            declared_at=self._clock.now(),
            principals=tuple(sorted(policy.principal_arns())),
        )
        declared = self._signatures.sign(declared)  # only the declarer role can
        lookup = self._inspector.lookup()
        observation = self._inspector.observe(target, declared, None, lookup)
        if observation.failure is not None:
            raise DeclarationError(f"cannot declare {target}: {observation.reason}")
        # Looking the principals up records their unique ids while they exist.
        lookup.missing(policy.principal_arns())
        status, audit = self._first_record(observation, previous)
        self._store.put_declared(declared, status, audit)
        return declared

    def _acceptable(self, target: Target, policy_text: str) -> Policy:
        """The policy, or DeclarationError when AWS (or driftguard) could never apply it."""
        try:
            policy = Policy.parse(policy_text)
        except PolicyParseError as exc:
            raise DeclarationError(f"the policy for {target} is not valid: {exc}") from None
        if orphans := sorted(policy.unique_id_principals()):
            raise DeclarationError(
                f"the policy names unique id(s) {', '.join(orphans)} of deleted principals; "
                "AWS rejects them. Name the role ARN instead"
            )
        target.kind.validate_declared(
            policy_text, policy, target.arn, self._clients.role_arn(target.arn.account)
        )
        return policy

    def _first_record(
        self, observation: Observation, previous: Declared | None
    ) -> tuple[StatusRecord, AuditEntry]:
        """The status a read-only look gives the new declaration, and its history entry."""
        declared, at = observation.declared, self._clock.now()
        status = StatusRecord(
            arn=declared.arn,
            kind=declared.kind,
            account=declared.account,
            region=declared.region,
            mode=declared.mode,
            status=observed_status(observation),
            updated_at=at,
            reason="" if observation.in_sync else "live policy differs from the declaration",
            findings=observation.findings,
            live_digest=observation.live_digest,
            orphaned_ids=observation.orphaned_ids,
        )
        audit = AuditEntry(
            arn=declared.arn,
            at=at,
            action=AuditAction.DECLARED,
            status=status.status.value,
            actor=declared.declared_by,
            trigger="cli",
            message=f"version {declared.version}, mode {declared.mode.value}",
            before_digest=previous.digest if previous else None,
            after_digest=declared.digest,
            diff=observation.diff,
            findings=status.findings,
        )
        return status, audit

    def adopt(
        self, arn_text: str, mode: Mode, declared_by: str, *, allow_public: bool = False
    ) -> Declared:
        """Take the live policy as the declared state."""
        target = kinds.target(arn_text)
        live = target.kind.read_policy(self._clients, target.arn)
        if live is None:
            raise DeclarationError(f"{target} has no policy to adopt; declare one instead")
        return self.declare(target.text, live, mode, declared_by, allow_public=allow_public)
