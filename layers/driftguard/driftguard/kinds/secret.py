"""Secrets Manager resource policies. driftguard never reads secret values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from botocore.exceptions import ClientError

from driftguard.access import public_allows
from driftguard.arns import Arn, console_origin
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

_POLICY_APIS = Quota("secretsmanager:resource-policy", 50)


@register
class Secret(ResourceKind):
    name: ClassVar[str] = "secret"
    service: ClassVar[str] = "secretsmanager"
    event_source: ClassVar[str] = "secretsmanager.amazonaws.com"
    policy_event_names: ClassVar[frozenset[str]] = frozenset(
        {"PutResourcePolicy", "DeleteResourcePolicy"}
    )
    iam_actions: ClassVar[frozenset[str]] = frozenset(
        {
            "secretsmanager:GetResourcePolicy",
            "secretsmanager:PutResourcePolicy",
            "secretsmanager:DescribeSecret",
        }
    )
    # Secrets Manager API reference, PutResourcePolicy `ResourcePolicy`.
    max_policy_size: ClassVar[int | None] = 20_480
    policy_size_unit: ClassVar[Literal["bytes", "characters"]] = "characters"
    # Secrets Manager quotas: the resource-policy APIs share 50 per second (not
    # adjustable); DescribeSecret has 10,000 of its own.
    quotas: ClassVar[Mapping[str, Quota]] = {
        "GetResourcePolicy": _POLICY_APIS,
        "PutResourcePolicy": _POLICY_APIS,
        "DeleteResourcePolicy": _POLICY_APIS,
        "ValidateResourcePolicy": _POLICY_APIS,
        "DescribeSecret": Quota("secretsmanager:DescribeSecret", 10_000),
        # Its own 100 a second (AWS What's New, 2022-11-11, "AWS Secrets Manager
        # increases API requests per second limits").
        "ListSecrets": Quota("secretsmanager:ListSecrets", 100),
    }
    inventory_actions: ClassVar[frozenset[str]] = frozenset({"secretsmanager:ListSecrets"})

    def read_policy(self, clients: AwsClients, arn: Arn) -> str | None:
        sm: Any = self.client(clients, arn)
        try:
            policy = sm.get_resource_policy(SecretId=arn.text).get("ResourcePolicy")
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise ResourceNotFoundError(f"secret {arn.text} not found") from exc
            raise
        return str(policy) if policy else None

    def write_policy(self, clients: AwsClients, arn: Arn, policy_json: str) -> None:
        sm: Any = self.client(clients, arn)
        try:
            # BlockPublicPolicy: never let a restore open a secret to the world.
            sm.put_resource_policy(
                SecretId=arn.text, ResourcePolicy=policy_json, BlockPublicPolicy=True
            )
        except ClientError as exc:
            code = error_code(exc)
            if code == "MalformedPolicyDocumentException":
                raise PrincipalNotReadyError(
                    f"Secrets Manager rejected the policy of {arn.text}: {code}"
                ) from exc
            if code == "ResourceNotFoundException":
                raise ResourceNotFoundError(f"secret {arn.text} not found") from exc
            if is_transient(exc):
                raise  # looked at again later
            raise RemediationError(f"PutResourcePolicy on {arn.text} failed: {code}") from exc

    def arn_from_event(self, detail: CloudTrailDetail, clients: AwsClients) -> str | None:
        response = detail.response_elements or {}
        # Some Secrets Manager events spell the key `aRN` (AWS docs).
        for key in ("arn", "aRN", "ARN"):
            if isinstance(response.get(key), str):
                return str(response[key])
        secret_id = (detail.request_parameters or {}).get("secretId")
        if not isinstance(secret_id, str) or not secret_id:
            return None
        if secret_id.startswith("arn:"):
            return secret_id
        # A name: ask the owner account for the full ARN (it has a random suffix).
        sm: Any = clients.in_account(detail.recipient_account_id, self.service, detail.aws_region)
        try:
            return str(sm.describe_secret(SecretId=secret_id)["ARN"])
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    def count_existing(self, clients: AwsClients, account: str, region: str) -> int:
        """ListSecrets' entries (metadata only, and only counted). Secrets scheduled for
        deletion are left out, as ListSecrets leaves them by default; it may miss the last
        few minutes' changes (eventually consistent), which the next sweep sees."""
        sm: Any = clients.in_account(account, self.service, region)
        pages = sm.get_paginator("list_secrets").paginate(PaginationConfig={"PageSize": 100})
        return sum(len(page.get("SecretList", [])) for page in pages)

    def console_url(self, arn: Arn) -> str:
        name = arn.resource.removeprefix("secret:")
        name = name.rsplit("-", 1)[0] if "-" in name else name
        return f"{console_origin(arn)}/secretsmanager/secret?name={quote(name)}&region={arn.region}"

    def validate_declared(
        self, text: str, policy: Policy, arn: Arn, remediation_role_arn: str
    ) -> None:
        # Secrets Manager has no lockout check on put (base refuses a Deny of what
        # driftguard needs), and write_policy always blocks public policies, which AWS
        # answers with PublicPolicyException at restore time.
        super().validate_declared(text, policy, arn, remediation_role_arn)
        if public := public_allows(policy, arn.partition):
            raise DeclarationError(
                f"{', '.join(public)} of the declared policy for {arn.text} allows everyone "
                "without a Condition; driftguard restores with BlockPublicPolicy, so Secrets "
                "Manager would refuse it (PublicPolicyException). Name the principals, or "
                "restrict it with a Condition (e.g. aws:PrincipalOrgID)"
            )
