"""IAM role trust policies (who may assume the role): the door of every access path.

A trust policy that loses its `sub` condition, gains a wildcard service account or
another principal is drift like a widened key policy; in `enforce` the declared one is
put back with UpdateAssumeRolePolicy. IAM is global: the ARN has no region, and the
calls go to the hub's region (IAM answers them from anywhere).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError

from driftguard.arns import Arn, console_origin, role_arn
from driftguard.aws import AwsClients
from driftguard.errors import (
    DeclarationError,
    PrincipalNotReadyError,
    RemediationError,
    ResourceNotFoundError,
)
from driftguard.events import CloudTrailDetail
from driftguard.kinds.base import ResourceKind, error_code, is_transient
from driftguard.kinds.registry import register
from driftguard.policy import Policy
from driftguard.quotas import Quota

# IAM API reference, UpdateAssumeRolePolicy `PolicyDocument`: [\u0009\u000A\u000D\u0020-\u00FF].
_IAM_POLICY_CHARACTERS = re.compile(r"[^\t\n\r\x20-\xff]")
# IAM quotas, "Role trust policy length": 2,048 characters by default, adjustable to
# 4,096; IAM does not count whitespace. driftguard refuses only what no account accepts
# (an account still at 2,048 refuses the restore: LimitExceeded, a restore failure).
MAX_TRUST_POLICY_CHARACTERS = 4_096
# IAM has no published per-API rate; its control plane throttles well above a few
# calls a second (UNVERIFIED: no quota page lists GetRole). Kept low on purpose.
_IAM_READS = Quota("iam:GetRole", 20)
_IAM_WRITES = Quota("iam:UpdateAssumeRolePolicy", 5)


# Where IAM's control plane, and its CloudTrail events, live in each partition (re:Post,
# "Why does my EventBridge rule for IAM events only trigger in us-east-1?").
IAM_REGIONS: Final[Mapping[str, str]] = {
    "aws": "us-east-1",
    "aws-us-gov": "us-gov-west-1",
    "aws-cn": "cn-north-1",
}


def role_name(arn: Arn) -> str:
    """`role/path/to/name` -> `name` (IAM's calls take the name, never the path)."""
    return arn.resource.rsplit("/", 1)[-1]


def trust_document(role: Mapping[str, Any]) -> str:
    """GetRole's AssumeRolePolicyDocument as JSON: boto3 decodes it to a mapping; a raw
    answer is URL-encoded JSON."""
    document = role["AssumeRolePolicyDocument"]
    if isinstance(document, str):
        return unquote(document)
    return json.dumps(document)


ROLE_TRUST: Final = "role-trust"


@register
class RoleTrust(ResourceKind):
    name: ClassVar[str] = ROLE_TRUST
    service: ClassVar[str] = "iam"
    event_source: ClassVar[str] = "iam.amazonaws.com"
    policy_event_names: ClassVar[frozenset[str]] = frozenset({"UpdateAssumeRolePolicy"})
    iam_actions: ClassVar[frozenset[str]] = frozenset({"iam:GetRole", "iam:UpdateAssumeRolePolicy"})
    max_policy_size: ClassVar[int | None] = MAX_TRUST_POLICY_CHARACTERS
    policy_size_unit: ClassVar[Literal["bytes", "characters"]] = "characters"
    policy_characters: ClassVar[re.Pattern[str] | None] = _IAM_POLICY_CHARACTERS
    quotas: ClassVar[Mapping[str, Quota]] = {
        "GetRole": _IAM_READS,
        "ListRoles": _IAM_READS,
        "UpdateAssumeRolePolicy": _IAM_WRITES,
    }
    inventory_actions: ClassVar[frozenset[str]] = frozenset({"iam:ListRoles"})

    def handles(self, arn: Arn) -> bool:
        return arn.service == "iam" and arn.resource.startswith("role/")

    def region_of(self, arn: Arn) -> str:
        return IAM_REGIONS.get(arn.partition, IAM_REGIONS["aws"])

    def counts_in(self, region: str) -> bool:
        return region in IAM_REGIONS.values()

    def read_policy(self, clients: AwsClients, arn: Arn) -> str | None:
        iam: Any = self.client(clients, arn)
        try:
            role = iam.get_role(RoleName=role_name(arn))["Role"]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                raise ResourceNotFoundError(f"role {arn.text} not found") from exc
            raise
        return trust_document(role)

    def write_policy(self, clients: AwsClients, arn: Arn, policy_json: str) -> None:
        iam: Any = self.client(clients, arn)
        try:
            iam.update_assume_role_policy(RoleName=role_name(arn), PolicyDocument=policy_json)
        except ClientError as exc:
            code = error_code(exc)
            if code == "MalformedPolicyDocument":
                # "Invalid principal in policy": a role or provider not (yet) there.
                raise PrincipalNotReadyError(
                    f"IAM rejected the trust policy of {arn.text}: {code}"
                ) from exc
            if code == "NoSuchEntity":
                raise ResourceNotFoundError(f"role {arn.text} not found") from exc
            if is_transient(exc):
                raise
            raise RemediationError(f"UpdateAssumeRolePolicy on {arn.text} failed: {code}") from exc

    def arn_from_event(self, detail: CloudTrailDetail, clients: AwsClients) -> str | None:
        name = (detail.request_parameters or {}).get("roleName")
        if not isinstance(name, str) or not name:
            return None
        # The event names the role only; its ARN may carry a path: ask IAM.
        iam: Any = clients.in_account(detail.recipient_account_id, self.service, detail.aws_region)
        try:
            return str(iam.get_role(RoleName=name)["Role"]["Arn"])
        except ClientError as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
        # Deleted since: its path is unknown; the ARN without one still names it (its
        # DeleteRole is handled on its own).
        return role_arn(detail.user_identity.partition, detail.recipient_account_id, name)

    def count_existing(self, clients: AwsClients, account: str, region: str) -> int:
        iam: Any = clients.in_account(account, self.service, region)
        pages = iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 1000})
        return sum(len(page.get("Roles", [])) for page in pages)

    def console_url(self, arn: Arn) -> str:
        return f"{console_origin(arn)}/iam/home#/roles/details/{quote(role_name(arn))}"

    def policy_size(self, text: str) -> int:
        return len(re.sub(r"\s", "", text))  # IAM does not count whitespace

    def validate_declared(
        self, text: str, policy: Policy, arn: Arn, remediation_role_arn: str
    ) -> None:
        # driftguard's own door is the spoke stack's business (driftguard.safeguards).
        if role_name(arn) == role_name(Arn.parse(remediation_role_arn)):
            raise DeclarationError(
                f"{arn.text} is driftguard's remediation role; its trust policy belongs to "
                "the spoke stack and every change to it is alerted as a safeguard"
            )
        super().validate_declared(text, policy, arn, remediation_role_arn)
