"""Declaring state: `declare` (a policy file) and `adopt` (the live policy), and the
read-only inspection `scan` uses. Nothing here writes to a member account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from driftguard import kinds
from driftguard.arns import Arn
from driftguard.aws import AwsClients
from driftguard.classify import Classification, Finding, classify
from driftguard.config import Mode
from driftguard.errors import DeclarationError, PolicyParseError, RemediationError
from driftguard.model import AuditEntry, Declared, Status, StatusRecord, sha256
from driftguard.policy import Policy
from driftguard.principals import PrincipalLookup
from driftguard.state import StateStore


@dataclass(frozen=True)
class Inspection:
    arn: str
    kind: str
    live: str | None
    classification: Classification

    @property
    def status(self) -> Status:
        if self.classification.in_sync:
            return Status.IN_SYNC
        if Finding.ORPHANED_PRINCIPAL in self.classification.findings:
            return Status.ORPHANED_PRINCIPAL
        return Status.DRIFTED


def read_live(kind: kinds.ResourceKind, clients: AwsClients, arn: Arn) -> str | None:
    try:
        return kind.read_policy(clients, arn)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise RemediationError(f"cannot read the policy of {arn.text}: {code}") from exc


class Declarations:
    def __init__(
        self,
        clients: AwsClients,
        store: StateStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clients = clients
        self._store = store
        self._clock = clock

    def inspect(self, declared: Declared) -> Inspection:
        """Compare the live policy with the declared one; reads only."""
        arn = Arn.parse(declared.arn)
        kind = kinds.get(declared.kind)
        live = read_live(kind, self._clients, arn)
        wanted = Policy.parse(declared.policy)
        return Inspection(
            declared.arn, kind.name, live, classify(wanted, Policy.parse(live) if live else None)
        )

    def declare(self, arn_text: str, policy_text: str, mode: Mode, declared_by: str) -> Declared:
        arn = Arn.parse(arn_text)
        kind = kinds.for_arn(arn)
        try:
            policy = Policy.parse(policy_text)
        except PolicyParseError as exc:
            raise DeclarationError(f"the policy for {arn.text} is not valid: {exc}") from None
        if orphans := sorted(policy.unique_id_principals()):
            raise DeclarationError(
                f"the policy names unique id(s) {', '.join(orphans)} of deleted principals; "
                "AWS rejects them. Name the role ARN instead"
            )
        kind.validate_declared(policy, arn, self._clients.role_arn(arn.account))
        previous = self._store.get_declared(arn.text)
        declared = Declared(
            arn=arn.text,
            kind=kind.name,
            account=arn.account,
            region=arn.region,
            policy=policy_text,
            digest=sha256(policy_text),
            mode=mode,
            version=(previous.version if previous else 0) + 1,
            declared_by=declared_by,
            declared_at=self._clock(),
            principals=tuple(sorted(policy.principal_arns())),
        )
        inspection = self.inspect(declared)
        # Looking the principals up records their unique ids while they exist.
        PrincipalLookup(self._clients, self._store).missing(policy.principal_arns())
        at = self._clock()
        status = StatusRecord(
            arn=declared.arn,
            kind=declared.kind,
            account=declared.account,
            region=declared.region,
            mode=mode,
            status=inspection.status,
            updated_at=at,
            reason=""
            if inspection.classification.in_sync
            else "live policy differs from the declaration",
            findings=tuple(sorted(f.value for f in inspection.classification.findings)),
            live_digest=sha256(inspection.live) if inspection.live else None,
            orphaned_ids=tuple(sorted(inspection.classification.orphaned_ids)),
        )
        diff = inspection.classification.diff
        self._store.put_declared(
            declared,
            status,
            AuditEntry(
                arn=declared.arn,
                at=at,
                action="declared",
                status=status.status.value,
                actor=declared_by,
                trigger="cli",
                message=f"version {declared.version}, mode {mode.value}",
                before_digest=previous.digest if previous else None,
                after_digest=declared.digest,
                diff=diff.to_dict() if diff else {},
                findings=status.findings,
            ),
        )
        return declared

    def adopt(self, arn_text: str, mode: Mode, declared_by: str) -> Declared:
        """Take the live policy as the declared state."""
        arn = Arn.parse(arn_text)
        kind = kinds.for_arn(arn)
        live = read_live(kind, self._clients, arn)
        if live is None:
            raise DeclarationError(f"{arn.text} has no policy to adopt; declare one instead")
        return self.declare(arn.text, live, mode, declared_by)
