"""KMS key policies (the key's `default` policy)."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from botocore.exceptions import ClientError

from driftguard.arns import Arn
from driftguard.aws import AwsClients
from driftguard.errors import (
    DeclarationError,
    PrincipalNotReadyError,
    RemediationError,
    ResourceNotFoundError,
)
from driftguard.events import CloudTrailDetail
from driftguard.kinds.base import ResourceKind, error_code
from driftguard.kinds.registry import register
from driftguard.policy import Policy, action_matches

POLICY_NAME = "default"


@register
class KmsKey(ResourceKind):
    name: ClassVar[str] = "kms-key"
    service: ClassVar[str] = "kms"
    event_source: ClassVar[str] = "kms.amazonaws.com"
    policy_event_names: ClassVar[frozenset[str]] = frozenset({"PutKeyPolicy", "CreateKey"})
    iam_actions: ClassVar[frozenset[str]] = frozenset(
        {"kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:DescribeKey"}
    )

    def handles(self, arn: Arn) -> bool:
        return arn.service == "kms" and arn.resource.startswith("key/")

    def read_policy(self, clients: AwsClients, arn: Arn) -> str | None:
        kms: Any = self.client(clients, arn)
        try:
            return str(kms.get_key_policy(KeyId=arn.text, PolicyName=POLICY_NAME)["Policy"])
        except ClientError as exc:
            if error_code(exc) == "NotFoundException":
                raise ResourceNotFoundError(f"KMS key {arn.text} not found") from exc
            raise

    def write_policy(self, clients: AwsClients, arn: Arn, policy_json: str) -> None:
        kms: Any = self.client(clients, arn)
        try:
            # The lockout safety check stays on: a declared policy that would lock
            # driftguard (or anyone) out must fail, not be forced in.
            kms.put_key_policy(
                KeyId=arn.text,
                PolicyName=POLICY_NAME,
                Policy=policy_json,
                BypassPolicyLockoutSafetyCheck=False,
            )
        except ClientError as exc:
            code = error_code(exc)
            if code == "MalformedPolicyDocumentException":
                raise PrincipalNotReadyError(
                    f"KMS rejected the policy of {arn.text}: {code}"
                ) from exc
            if code == "NotFoundException":
                raise ResourceNotFoundError(f"KMS key {arn.text} not found") from exc
            raise RemediationError(f"PutKeyPolicy on {arn.text} failed: {code}") from exc

    def arn_from_event(self, detail: CloudTrailDetail, clients: AwsClients) -> str | None:
        for resource in detail.resources or []:
            arn = resource.get("ARN") or resource.get("arn")
            if isinstance(arn, str) and ":key/" in arn:
                return arn
        response = detail.response_elements or {}
        metadata = response.get("keyMetadata") or {}
        if isinstance(metadata.get("arn"), str):
            return str(metadata["arn"])
        key_id = (detail.request_parameters or {}).get("keyId")
        if not isinstance(key_id, str) or not key_id:
            return None
        if key_id.startswith("arn:"):
            return key_id
        # PutKeyPolicy takes a key id or ARN (no alias), so a bare id is the key
        # in the account and region that received the call.
        partition = (detail.user_identity.arn or "arn:aws").split(":")[1] or "aws"
        return f"arn:{partition}:kms:{detail.aws_region}:{detail.recipient_account_id}:key/{key_id}"

    def console_url(self, arn: Arn) -> str:
        key_id = arn.resource.removeprefix("key/")
        return (
            f"https://{arn.region}.console.aws.amazon.com/kms/home?region={arn.region}"
            f"#/kms/keys/{quote(key_id)}"
        )

    def validate_declared(self, policy: Policy, arn: Arn, remediation_role_arn: str) -> None:
        # Mirror of KMS's lockout safety check: driftguard must still be able to
        # put the key policy after restoring it, directly or through the
        # account root (which lets IAM policies grant it).
        allowed = {remediation_role_arn, f"arn:{arn.partition}:iam::{arn.account}:root", "*"}
        for statement in policy.normalized().statements:
            if statement.effect != "Allow" or statement.not_principals or statement.not_actions:
                continue
            principals = {p.value for p in statement.principals or () if p.kind == "AWS"}
            actions = statement.actions or frozenset()
            if principals & allowed and any(
                action_matches(pattern, "kms:putkeypolicy") for pattern in actions
            ):
                return
        raise DeclarationError(
            f"the declared key policy for {arn.text} does not let {remediation_role_arn} "
            f"or account {arn.account}'s root call kms:PutKeyPolicy; KMS would refuse it "
            "(lockout safety check) and driftguard could never restore it"
        )
