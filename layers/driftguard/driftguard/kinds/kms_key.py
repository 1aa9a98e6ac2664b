"""KMS key policies (the key's `default` policy)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
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
    # ListKeys and ListAliases: 100 a second each, not shared (UNVERIFIED: the archived
    # table, awsdocs/aws-kms-developer-guide requests-per-second.md; the current table
    # was not read, check Service Quotas).
    quotas: ClassVar[Mapping[str, Quota]] = {
        "GetKeyPolicy": Quota("kms:GetKeyPolicy", 1000),
        "PutKeyPolicy": Quota("kms:PutKeyPolicy", 15),
        "DescribeKey": Quota("kms:DescribeKey", 2000),
        "ListKeys": Quota("kms:ListKeys", 100),
        "ListAliases": Quota("kms:ListAliases", 100),
    }
    inventory_actions: ClassVar[frozenset[str]] = frozenset({"kms:ListKeys", "kms:ListAliases"})
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

    def count_existing(self, clients: AwsClients, account: str, region: str) -> int:
        """Customer managed keys: ListKeys less the keys an `alias/aws/` alias names.

        Two paginated lists per account and region whatever the number of keys, where
        DescribeKey's KeyManager, exact, costs a call per key. Error bound: never under
        (the `alias/aws/` prefix is reserved to AWS, so no customer managed key has such
        an alias), over only by AWS managed keys without their `aws/<service>` alias,
        which AWS creates with the key and nobody can delete. Keys pending deletion,
        disabled or awaiting imported material still exist, and are counted."""
        kms: Any = clients.in_account(account, self.service, region)
        keys = kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1000})
        aliases = kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 1000})
        return customer_managed(
            (str(key["KeyId"]) for page in keys for key in page.get("Keys", [])),
            (alias for page in aliases for alias in page.get("Aliases", [])),
        )

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


AWS_ALIAS_PREFIX = "alias/aws/"


def customer_managed(key_ids: Iterable[str], aliases: Iterable[Mapping[str, Any]]) -> int:
    """How many of the keys no `alias/aws/` alias names (ListKeys' and ListAliases'
    entries; an alias AWS predefined but has not given a key yet has no TargetKeyId)."""
    aws_managed = {
        str(alias["TargetKeyId"])
        for alias in aliases
        if str(alias.get("AliasName", "")).startswith(AWS_ALIAS_PREFIX) and alias.get("TargetKeyId")
    }
    return len(set(key_ids) - aws_managed)
