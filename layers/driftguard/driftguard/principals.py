"""Principal lookups in their own accounts, through the remediation role."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from driftguard.arns import principal_account
from driftguard.aws import AwsClients
from driftguard.state import StateStore


class PrincipalLookup:
    """Whether role and user ARNs exist now, asked once per ARN.

    Make one per trigger: a DeleteRole fan-out or a sweep names the same role in
    many policies, and IAM's answer does not change within one run. A role's unique
    id is recorded on the way (IAM has no API from unique id to role), so
    `whois AROA...` can answer later.
    """

    def __init__(self, clients: AwsClients, store: StateStore) -> None:
        self._clients = clients
        self._store = store
        self._known: dict[str, bool] = {}

    def exists(self, principal: str) -> bool:
        if principal not in self._known:
            self._known[principal] = self._look_up(principal)
        return self._known[principal]

    def missing(self, principals: frozenset[str]) -> tuple[str, ...]:
        return tuple(p for p in sorted(principals) if not self.exists(p))

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
                self._store.record_unique_id(role["RoleId"], role["Arn"], source="GetRole")
            else:
                iam.get_user(UserName=name)
            return True
        except ClientError as exc:
            return bool(exc.response.get("Error", {}).get("Code") != "NoSuchEntity")
