"""Principal lookups: does a role or user exist (in its own account, through the
remediation role), and which role did a unique ID belong to (driftguard's registry)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from driftguard.arns import principal_account
from driftguard.aws import AwsClients
from driftguard.state import StateStore


class PrincipalLookup:
    """Answers asked once per principal and per unique ID.

    Make one per trigger: a DeleteRole fan-out or a sweep names the same role in
    many policies, and the answers do not change within one run. A role's unique ID
    is recorded on the way (IAM has no API from unique ID to role), so
    `whois AROA...` can answer later.
    """

    def __init__(self, clients: AwsClients, store: StateStore) -> None:
        self._clients = clients
        self._store = store
        self._known: dict[str, bool] = {}
        self._owners: dict[str, str | None] = {}

    def exists(self, principal: str) -> bool:
        if principal not in self._known:
            self._known[principal] = self._look_up(principal)
        return self._known[principal]

    def trust(self, principal: str) -> None:
        """Take a principal as existing: a CreateRole event says so, and IAM's own
        GetRole may not see the new role yet (it is eventually consistent). Its unique
        ID is recorded only from GetRole's answer, never from the event (a forged one
        would name an attacker's ID)."""
        self._look_up(principal)
        self._known[principal] = True

    def missing(self, principals: frozenset[str]) -> tuple[str, ...]:
        return tuple(p for p in sorted(principals) if not self.exists(p))

    def owner_of(self, unique_id: str) -> str | None:
        """The role a unique ID belonged to, when driftguard saw it."""
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
                    self._store.record_unique_id(role["RoleId"], role["Arn"], source="GetRole")
            else:
                iam.get_user(UserName=name)
            return True
        except ClientError as exc:
            return bool(exc.response.get("Error", {}).get("Code") != "NoSuchEntity")
