"""KMS key policies (the key's `default` policy)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from botocore.exceptions import ClientError

from driftguard.access import Caller, allowing
from driftguard.arns import Arn, console_origin
from driftguard.aws import SESSION_NAME, AwsClients
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

POLICY_NAME = "default"
PUT_KEY_POLICY = "kms:PutKeyPolicy"
# KMS API reference, PutKeyPolicy `Policy`: only [\u0009\u000A\u000D\u0020-\u00FF].
_KEY_POLICY_CHARACTERS = re.compile(r"[^\t\n\r\x20-\xff]")


@register
class KmsKey(ResourceKind):
    name: ClassVar[str] = "kms-key"
    service: ClassVar[str] = "kms"
    event_source: ClassVar[str] = "kms.amazonaws.com"
    policy_event_names: ClassVar[frozenset[str]] = frozenset({"PutKeyPolicy", "CreateKey"})
    iam_actions: ClassVar[frozenset[str]] = frozenset(
        {"kms:GetKeyPolicy", PUT_KEY_POLICY, "kms:DescribeKey"}
    )
    max_policy_size: ClassVar[int | None] = 32_768
    # KMS developer guide, "Request quotas" (adjustable; these are the defaults).
    quotas: ClassVar[Mapping[str, Quota]] = {
        "GetKeyPolicy": Quota("kms:GetKeyPolicy", 1000),
        "PutKeyPolicy": Quota("kms:PutKeyPolicy", 15),
        "DescribeKey": Quota("kms:DescribeKey", 2000),
    }
    policy_size_unit: ClassVar[Literal["bytes", "characters"]] = "bytes"
    policy_characters: ClassVar[re.Pattern[str] | None] = _KEY_POLICY_CHARACTERS

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
            if is_transient(exc):
                raise  # looked at again later
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
        partition = detail.user_identity.partition
        return f"arn:{partition}:kms:{detail.aws_region}:{detail.recipient_account_id}:key/{key_id}"

    def console_url(self, arn: Arn) -> str:
        key_id = arn.resource.removeprefix("key/")
        return f"{console_origin(arn)}/kms/home?region={arn.region}#/kms/keys/{quote(key_id)}"

    def validate_declared(
        self, text: str, policy: Policy, arn: Arn, remediation_role_arn: str
    ) -> None:
        # Mirror of KMS's lockout safety check: driftguard must still be able to
        # put the key policy after restoring it, directly or through the account
        # root (which lets IAM policies grant it); base refuses a Deny of it.
        super().validate_declared(text, policy, arn, remediation_role_arn)
        caller = Caller.assuming(remediation_role_arn, SESSION_NAME)
        if allowing(policy, caller, PUT_KEY_POLICY, arn) is None:
            raise DeclarationError(
                f"the declared key policy for {arn.text} does not let {remediation_role_arn} "
                f"or {caller.root} call {PUT_KEY_POLICY}; KMS would refuse it (lockout "
                "safety check) and driftguard could never restore it. Add an Allow of "
                f"{PUT_KEY_POLICY} (or kms:*) to {caller.root} without a Condition "
                "(an Allow with conditions does not count)"
            )
