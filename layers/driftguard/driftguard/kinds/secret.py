"""Secrets Manager resource policies. driftguard never reads secret values."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from botocore.exceptions import ClientError

from driftguard.arns import Arn
from driftguard.aws import AwsClients
from driftguard.errors import PrincipalNotReadyError, RemediationError, ResourceNotFoundError
from driftguard.events import CloudTrailDetail
from driftguard.kinds.base import ResourceKind, error_code
from driftguard.kinds.registry import register


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

    def console_url(self, arn: Arn) -> str:
        name = arn.resource.removeprefix("secret:")
        name = name.rsplit("-", 1)[0] if "-" in name else name
        return (
            f"https://{arn.region}.console.aws.amazon.com/secretsmanager/secret"
            f"?name={quote(name)}&region={arn.region}"
        )
