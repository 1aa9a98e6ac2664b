"""Principal lookups in their own accounts, through the remediation role."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from driftguard.arns import principal_account
from driftguard.aws import AwsClients
from driftguard.state import StateStore


def principal_exists(clients: AwsClients, store: StateStore, principal: str) -> bool:
    """Whether a role or user ARN exists now. A role's unique id is recorded on the
    way (IAM has no API from unique id to role), so `whois AROA...` can answer later.

    Principals that are not roles or users (account roots, services) count as
    existing; so does one in an account driftguard cannot look into: the put
    decides for those.
    """
    account = principal_account(principal)
    resource = principal.split(":", 5)[-1]
    if account is None or not resource.startswith(("role/", "user/")):
        return True
    name = resource.rsplit("/", 1)[-1]
    try:
        iam: Any = clients.in_account(account, "iam")
        if resource.startswith("role/"):
            role = iam.get_role(RoleName=name)["Role"]
            store.record_unique_id(role["RoleId"], role["Arn"], source="GetRole")
        else:
            iam.get_user(UserName=name)
        return True
    except ClientError as exc:
        return bool(exc.response.get("Error", {}).get("Code") != "NoSuchEntity")
