"""One read-only look at a declared resource: the Observation every decision starts from.

Used by the functions (inside the lease) and by the CLI's `drift` and `scan` alike, so
both refuse a declaration whose signature does not verify in the same words.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from driftguard.aws import AwsClients
from driftguard.classify import classify
from driftguard.decision import Observation, validate_declaration
from driftguard.errors import (
    DeclarationError,
    PolicyParseError,
    ResourceNotFoundError,
    SigningError,
)
from driftguard.kinds import Target
from driftguard.kinds.base import error_code, is_transient
from driftguard.model import Declared, StatusRecord, sha256
from driftguard.policy import Policy
from driftguard.principals import PrincipalLookup
from driftguard.signing import Verifier
from driftguard.state import StateStore
from driftguard.vocabulary import Failure


class Inspector:
    def __init__(self, clients: AwsClients, store: StateStore, signatures: Verifier) -> None:
        self._clients = clients
        self._store = store
        self._signatures = signatures
        self._recorded: set[tuple[str, str]] = set()  # role identities recorded

    def look(self, target: Target, lookup: PrincipalLookup | None = None) -> Observation | None:
        """A read-only look at a resource as it is now (the CLI's `drift` and `scan`):
        no lease, nothing written. None when the resource is not declared."""
        declared, previous = self._store.load(target.text)
        if declared is None:
            return None
        return self.observe(target, declared, previous, lookup or self.lookup())

    def lookup(self) -> PrincipalLookup:
        """Principal answers to share between the resources of one trigger."""
        return PrincipalLookup(self._clients, self._store, self._signatures, self._recorded)

    def observe(
        self,
        target: Target,
        declared: Declared,
        previous: StatusRecord | None,
        lookup: PrincipalLookup,
    ) -> Observation:
        """Validate the declaration, read the live policy through the remediation role,
        compare them; any failure becomes part of the observation, not an exception."""

        def failed(failure: Failure, reason: str) -> Observation:
            return Observation(target, declared, previous, failure=failure, reason=reason)

        if (declared.arn, declared.kind) != (target.text, target.kind.name):
            # A declaration signed for another resource, copied here: the MAC covers
            # the ARN and kind it names, so those must be this resource's.
            return failed(
                Failure.UNSIGNED_DECLARATION,
                f"the declaration stored for {target.text} is signed for {declared.arn} "
                f"({declared.kind}): copied from another resource, never applied",
            )
        try:
            self._signatures.verify(declared)
        except SigningError as exc:
            return failed(Failure.UNSIGNED_DECLARATION, str(exc))
        except ClientError as exc:
            if is_transient(exc):
                raise
            return failed(
                Failure.UNSIGNED_DECLARATION,
                f"cannot verify the declaration's signature: {error_code(exc)}",
            )
        try:
            wanted = validate_declaration(declared)
        except DeclarationError as exc:
            return failed(Failure.INVALID_DECLARATION, str(exc))
        try:
            text = target.kind.read_policy(self._clients, target.arn)
            live = Policy.parse(text) if text else None
        except ResourceNotFoundError as exc:
            return failed(Failure.RESOURCE_GONE, str(exc))
        except ClientError as exc:
            if is_transient(exc):
                raise  # AWS refuses for a while: looked at again, not recorded
            return failed(Failure.UNREADABLE, f"cannot read the live policy: {error_code(exc)}")
        except PolicyParseError as exc:
            return failed(Failure.UNREADABLE, f"cannot read the live policy: {exc}")
        classification = classify(wanted, live)
        return Observation(
            target,
            declared,
            previous,
            wanted=wanted,
            classification=classification,
            live_digest=sha256(text) if text else None,
            owners={uid: lookup.owner_of(uid) for uid in sorted(classification.orphaned_ids)},
        )
