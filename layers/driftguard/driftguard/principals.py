"""Principal lookups: does a role or user exist (in its own account, through the
remediation role), is a role still the identity the security team approved, and which
role did a unique ID belong to (driftguard's registry)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from driftguard.arns import principal_account, role_key
from driftguard.aws import AwsClients
from driftguard.classify import classify
from driftguard.errors import PolicyParseError, SigningError
from driftguard.model import Identities, TrustRecord
from driftguard.policy import Policy
from driftguard.signing import Verifier
from driftguard.state import StateStore
from driftguard.vocabulary import Finding, Severity

APPROVE = "`driftguard approve-principal {principal}` once it is the role you mean"


@dataclass(frozen=True)
class Role:
    """A role as GetRole showed it."""

    arn: str
    unique_id: str
    trust: str  # its trust policy (JSON)


class PrincipalLookup:
    """Answers asked once per principal and per unique ID.

    Make one per trigger: a DeleteRole fan-out or a sweep names the same role in
    many policies, and the answers do not change within one run. A role's unique ID
    is recorded on the way (IAM has no API from unique ID to role), so
    `whois AROA...` can answer later.
    """

    def __init__(
        self,
        clients: AwsClients,
        store: StateStore,
        signatures: Verifier | None = None,
        recorded: set[tuple[str, str]] | None = None,
    ) -> None:
        self._clients = clients
        # (unique ID, role) pairs this container recorded already: written once, not
        # on every GetRole (the caller keeps the set for the container's life).
        self._recorded = recorded if recorded is not None else set()
        self._store = store
        self._signatures = signatures
        self._known: dict[str, bool] = {}
        self._owners: dict[str, str | None] = {}
        self._roles: dict[str, Role] = {}  # what GetRole showed, by principal
        self._trusts: dict[str, TrustRecord | None] = {}  # approved identities, by principal
        self._verdicts: dict[str, str] = {}  # why a role is held ("": it is not)
        # The sweep's threads share one lookup: each question is still asked once.
        self._asking = threading.RLock()

    def exists(self, principal: str) -> bool:
        with self._asking:
            if principal not in self._known:
                self._known[principal] = self._look_up(principal)
            return self._known[principal]

    def trust(self, principal: str) -> None:
        """Take a principal as existing: a CreateRole event says so, and IAM's own
        GetRole may not see the new role yet (it is eventually consistent). Its unique
        ID is recorded only from GetRole's answer, never from the event (a forged one
        would name an attacker's ID)."""
        with self._asking:
            self._look_up(principal)
            self._known[principal] = True

    def missing(self, principals: frozenset[str]) -> tuple[str, ...]:
        return tuple(p for p in sorted(principals) if not self.exists(p))

    def role(self, principal: str) -> Role | None:
        """The role as GetRole showed it in this run (None: not a role, or not seen)."""
        self.exists(principal)
        return self._roles.get(principal)

    def identities(self, principals: frozenset[str]) -> Identities:
        """Of the declared roles that exist: those that are not the identity the team
        approved (recreated under the same name with another trust policy, or never
        approved), and those GetRole does not show yet. Only roles are checked."""
        held: dict[str, str] = {}
        unseen: list[str] = []
        for principal in sorted(principals):
            if ":role/" not in principal or not self.exists(principal):
                continue
            role = self._roles.get(principal)
            if role is None:
                unseen.append(principal)
            elif why := self._verdict(principal, role):
                held[principal] = why
        return Identities(held, tuple(unseen))

    def _verdict(self, principal: str, role: Role) -> str:
        """`_not_approved`, decided once per trigger: the resources of a fan-out,
        checked on threads, ask about the same role at once."""
        with self._asking:
            if principal not in self._verdicts:
                self._verdicts[principal] = self._not_approved(principal, role)
            return self._verdicts[principal]

    def _not_approved(self, principal: str, role: Role) -> str:
        """Why this role may not regain declared access ("" when it may)."""
        approval = APPROVE.format(principal=role_key(principal))
        record = self._trust_record(principal)
        if record is None:
            return f"has no approved identity on record; held until {approval}"
        try:
            if self._signatures is None:
                raise SigningError("no key to verify it with")
            self._signatures.verify(record)
        except SigningError as exc:
            return f"has an approved identity that cannot be trusted ({exc}); held until {approval}"
        if record.unique_id == role.unique_id:
            return ""  # the very role that was approved
        change = compare_trust(record.policy, role.trust)
        if change is None:
            return ""  # recreated as it was: the same identity
        return (
            f"was recreated as {role.unique_id} (was {record.unique_id}) and {change.why} "
            f"({'; '.join(change.changes[:6])}); held until {approval}"
        )

    def _trust_record(self, principal: str) -> TrustRecord | None:
        """The role's approved identity, read once per trigger (every resource of a
        fan-out names the same role)."""
        with self._asking:
            if principal not in self._trusts:
                self._trusts[principal] = self._store.get_trust(principal)
            return self._trusts[principal]

    def owner_of(self, unique_id: str) -> str | None:
        """The role a unique ID belonged to, when driftguard saw it."""
        with self._asking:
            if unique_id not in self._owners:
                self._owners[unique_id] = self._store.principal_for_unique_id(unique_id)
            return self._owners[unique_id]

    def _look_up(self, principal: str) -> bool:
        """Principals that are not roles or users (account roots, services) count as
        existing; so does one in an account driftguard cannot look into: the put
        decides for those."""
        account = principal_account(principal)
        resource = principal.split(":", 5)[-1]
        if account is None or not resource.startswith(("role/", "user/")):
            return True
        name = resource.rsplit("/", 1)[-1]
        try:
            iam: Any = self._clients.in_account(account, "iam")
            if resource.startswith("role/"):
                role = iam.get_role(RoleName=name)["Role"]
                if str(role["Arn"]).startswith("arn:"):  # not yet its unique ID in Arn
                    seen = (str(role["RoleId"]), str(role["Arn"]))
                    if seen not in self._recorded:
                        self._store.record_unique_id(*seen, source="GetRole")
                        self._recorded.add(seen)
                    self._roles[principal] = Role(
                        str(role["Arn"]), str(role["RoleId"]), _trust_text(role)
                    )
            else:
                iam.get_user(UserName=name)
            return True
        except ClientError as exc:
            return bool(exc.response.get("Error", {}).get("Code") != "NoSuchEntity")


@dataclass(frozen=True)
class TrustChange:
    """How a role's trust policy now stands against the approved one."""

    why: str  # one sentence, after the role's name
    changes: tuple[str, ...] = ()  # readable diff lines, approved -> now
    widened: bool = False  # someone may assume it who could not before

    @property
    def severity(self) -> Severity:
        return Severity.CRITICAL if self.widened else Severity.HIGH


def compare_trust(approved: str, now: str) -> TrustChange | None:
    """None when `now` grants what the approved trust policy grants, no more, no less."""
    try:
        before, after = Policy.parse(approved), Policy.parse(now)
    except PolicyParseError as exc:
        return TrustChange(f"has a trust policy driftguard cannot compare ({exc})", widened=True)
    if before.semantically_equal(after):
        return None
    found = classify(before, after)
    changes: list[str] = []
    if found.diff is not None:
        # A trust policy's point is often its condition (which service account): the
        # conditions that came or went, before the principal and grant lines.
        added = {c for grant in found.diff.added_grants for c in grant.conditions}
        removed = {c for grant in found.diff.removed_grants for c in grant.conditions}
        for sign, conditions in (("+", added - removed), ("-", removed - added)):
            changes += sorted(
                f"{sign} condition {operator} {key} {', '.join(values)}"
                for operator, key, values in conditions
            )
        changes += found.diff.to_dict().get("summary", [])
    widened = Finding.WIDENED in found.findings
    who = "lets in someone it did not" if widened else "lets in fewer"
    return TrustChange(
        f"has a trust policy that differs from the approved one: it {who}", tuple(changes), widened
    )


def _trust_text(role: Mapping[str, Any]) -> str:
    """GetRole's trust policy as JSON text: boto3 gives it decoded, the wire URL-encoded."""
    document = role.get("AssumeRolePolicyDocument", "")
    if isinstance(document, str):
        return urllib.parse.unquote(document)
    return json.dumps(document, sort_keys=True)
