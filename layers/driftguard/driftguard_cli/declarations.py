"""Declaring state: `declare` (a policy file) and `adopt` (the live policy).

In two steps, so a person sees what changes before anything is signed or written:
`plan` (or `plan_adoption`) validates the policy and compares it with the current
declaration and with the live policy, reading only; `apply` signs the planned
declaration and writes it. `declare` and `adopt` do both at once.

Nothing here writes to a member account: the declaration is recorded with the status a
read-only look gives it (the same look the functions take), and the next event, the
sweep or `scan --remediate` enforces it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from driftguard import kinds
from driftguard.access import public_allows
from driftguard.aws import AwsClients
from driftguard.classify import Classification, classify
from driftguard.decision import Observation, observed_status
from driftguard.errors import DeclarationError, PolicyParseError, ResourceNotFoundError
from driftguard.inspector import Inspector
from driftguard.kinds import Target
from driftguard.model import AuditEntry, Declared, StatusRecord, sha256
from driftguard.policy import Policy
from driftguard.retry import SYSTEM_CLOCK, Clock
from driftguard.signing import KmsSignatures
from driftguard.state import StateStore
from driftguard.vocabulary import AuditAction, Finding, Mode
from driftguard_cli.identities import record_identities


@dataclass(frozen=True)
class Plan:
    """What `apply` would declare, and what it changes; nothing signed or written yet.

    Both comparisons use the drift model (driftguard.classify), so "widened" means
    what it means in an alert: someone would gain access."""

    target: Target
    declared: Declared  # unsigned: `apply` dates and signs it
    previous: Declared | None  # the current declaration; None: a first declaration
    # Statements that grant everyone without a condition (accepted with allow_public).
    public: tuple[str, ...]
    # classify(current, new): WIDENED = the new declaration grants what the current one
    # does not; in its diff "+" is only in the new one, "-" only in the current one.
    # None for a first declaration.
    against_declared: Classification | None
    # classify(new, live): what the next check finds on the resource; "+" only in live
    # (taken away in enforce mode), "-" only in the new declaration (put back). Its diff
    # is None when the resource has no policy.
    against_live: Classification
    # Who answers for the resource and the change that asked for it (a declaration
    # file's): recorded in the resource's history, not in the signed declaration.
    owner: str | None = None
    ticket: str | None = None

    @property
    def widens(self) -> bool:
        """Grants what the current declaration does not; for a first declaration, grants
        everyone (the declaration watcher alerts both as critical)."""
        if self.against_declared is None:
            return bool(self.public)
        return Finding.WIDENED in self.against_declared.findings

    @property
    def narrows(self) -> bool:
        found = self.against_declared
        return found is not None and Finding.NARROWED in found.findings


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

    # ----------------------------------------------------------------------- at once

    def declare(
        self,
        arn_text: str,
        policy_text: str,
        mode: Mode,
        declared_by: str,
        *,
        allow_public: bool = False,
    ) -> Declared:
        """Plan and apply: declare `policy_text` without asking anyone."""
        plan = self.plan(arn_text, policy_text, mode, declared_by, allow_public=allow_public)
        return self.apply(plan)

    def adopt(
        self, arn_text: str, mode: Mode, declared_by: str, *, allow_public: bool = False
    ) -> Declared:
        """Take the live policy as the declared state."""
        plan = self.plan_adoption(arn_text, mode, declared_by, allow_public=allow_public)
        return self.apply(plan)

    # ----------------------------------------------------------------------- plan

    def plan(
        self,
        arn_text: str,
        policy_text: str,
        mode: Mode,
        declared_by: str,
        *,
        allow_public: bool = False,
        owner: str | None = None,
        ticket: str | None = None,
    ) -> Plan:
        """Validate the policy, then compare it with the current declaration and the live
        policy. Reads only: nothing is signed or written."""
        target = kinds.target(arn_text)
        policy, public = self._valid(target, policy_text, allow_public)
        live = self._read(target)
        plan = self._plan(target, policy_text, policy, public, mode, declared_by, live)
        return replace(plan, owner=owner, ticket=ticket)

    def plan_adoption(
        self, arn_text: str, mode: Mode, declared_by: str, *, allow_public: bool = False
    ) -> Plan:
        """`plan` for the live policy as it is (read once)."""
        target = kinds.target(arn_text)
        live = self._read(target)
        if live is None:
            raise DeclarationError(f"{target} has no policy to adopt; declare one instead")
        policy, public = self._valid(target, live, allow_public)
        return self._plan(target, live, policy, public, mode, declared_by, live)

    def _valid(
        self, target: Target, policy_text: str, allow_public: bool
    ) -> tuple[Policy, tuple[str, ...]]:
        """The policy and its statements that grant everyone; DeclarationError when it
        may not be declared."""
        policy = self._acceptable(target, policy_text)
        public = tuple(public_allows(policy, target.arn.partition))
        if public and not allow_public:
            raise DeclarationError(
                f"the policy for {target} grants everyone without a condition "
                f"({', '.join(public)}); driftguard would keep it that way. "
                "Narrow it with a condition, or pass --allow-public if that is intended"
            )
        return policy, public

    def _plan(
        self,
        target: Target,
        policy_text: str,
        policy: Policy,
        public: tuple[str, ...],
        mode: Mode,
        declared_by: str,
        live_text: str | None,
    ) -> Plan:
        previous = self._store.get_declared(target.text)
        declared = Declared(
            arn=target.text,
            kind=target.kind.name,
            account=target.arn.account,
            region=target.region,
            policy=policy_text,
            digest=sha256(policy_text),
            mode=mode,
            version=(previous.version if previous else 0) + 1,
            declared_by=declared_by,
            declared_at=self._clock.now(),
            principals=tuple(sorted(policy.principal_arns())),
        )
        if live_text == policy_text:
            live: Policy | None = policy  # adopting: read once, parsed once
        else:
            live = self._parse_live(target, live_text)
        return Plan(
            target=target,
            declared=declared,
            previous=previous,
            public=public,
            against_declared=self._against(previous, policy),
            against_live=classify(policy, live),
        )

    @staticmethod
    def _against(previous: Declared | None, policy: Policy) -> Classification | None:
        """The new policy against the current declaration's (as `current` -> `new`)."""
        if previous is None:
            return None
        try:
            current = Policy.parse(previous.policy)
        except PolicyParseError:
            # Never applied (the functions refuse it): anything new grants more than it.
            return Classification(findings=frozenset({Finding.WIDENED}), diff=None)
        return classify(current, policy)

    def _read(self, target: Target) -> str | None:
        """The live policy's text, read through the remediation role (None: no policy).
        An AWS refusal is the CLI's to report, with AWS's words."""
        try:
            return target.kind.read_policy(self._clients, target.arn)
        except ResourceNotFoundError as exc:
            raise DeclarationError(f"cannot declare {target}: {exc}") from None

    @staticmethod
    def _parse_live(target: Target, text: str | None) -> Policy | None:
        try:
            return Policy.parse(text) if text else None
        except PolicyParseError as exc:
            raise DeclarationError(
                f"cannot declare {target}: cannot read the live policy: {exc}"
            ) from None

    # ----------------------------------------------------------------------- apply

    def apply(self, plan: Plan) -> Declared:
        """Sign the planned declaration (dated now) and write it with the status a
        read-only look gives it. DeclarationError, nothing written, when the resource
        cannot be read or the declaration changed since the plan (its version is
        taken)."""
        declared = replace(plan.declared, declared_at=self._clock.now())
        declared = self._signatures.sign(declared)  # only the declarer role can
        lookup = self._inspector.lookup()
        observation = self._inspector.observe(plan.target, declared, None, lookup)
        if observation.failure is not None:
            raise DeclarationError(f"cannot declare {plan.target}: {observation.reason}")
        # Looking the principals up records their unique ids while they exist.
        lookup.missing(frozenset(declared.principals))
        status, audit = self._first_record(observation, plan)
        self._store.put_declared(declared, status, audit)
        # The roles it names, as they are now, are the identities it grants (declaring
        # anew approves a role recreated with another trust policy, as approving does).
        record_identities(
            lookup,
            self._store,
            self._signatures,
            declared.principals,
            by=declared.declared_by,
            clock=self._clock,
        )
        return declared

    # ----------------------------------------------------------------------- all, removal

    def current(self) -> list[Declared]:
        """Every declaration now, by ARN. Through the status index and one GetItem each:
        the declarer role may Query and GetItem, not Scan or BatchGetItem."""
        arns = sorted({record.arn for record in self._store.iter_statuses()})
        found = (self._store.get_declared(arn) for arn in arns)
        return [declared for declared in found if declared is not None]

    def remove(self, declared: Declared, removed_by: str) -> None:
        """Delete the declaration, if it is still `declared` (its version): driftguard
        stops guarding the resource. Its history keeps the removal; the declarations
        watcher alerts it."""
        audit = AuditEntry(
            arn=declared.arn,
            at=self._clock.now(),
            action=AuditAction.UNDECLARED,
            status="undeclared",
            actor=removed_by,
            trigger="cli",
            message=f"version {declared.version} removed: driftguard no longer guards it",
            before_digest=declared.digest,
        )
        self._store.delete_declaration(declared, audit)

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
        self, observation: Observation, plan: Plan
    ) -> tuple[StatusRecord, AuditEntry]:
        """The status a read-only look gives the new declaration, and its history entry."""
        declared, at, previous = observation.declared, self._clock.now(), plan.previous
        notes = [f"version {declared.version}", f"mode {declared.mode.value}"]
        notes += [f"owner {plan.owner}"] if plan.owner else []
        notes += [f"ticket {plan.ticket}"] if plan.ticket else []
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
            message=", ".join(notes),
            before_digest=previous.digest if previous else None,
            after_digest=declared.digest,
            diff=observation.diff,
            findings=status.findings,
        )
        return status, audit
