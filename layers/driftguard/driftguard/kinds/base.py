"""The one interface every resource kind implements.

A kind knows how to read and write the resource policy of one AWS resource type,
how to find the resource ARN in a CloudTrail event, and which IAM actions the
remediation role needs for it. Nothing else in driftguard knows a service's API.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from botocore.exceptions import ClientError

from driftguard.access import Caller, denials, label
from driftguard.arns import Arn
from driftguard.aws import SESSION_NAME, AwsClients
from driftguard.errors import DeclarationError
from driftguard.events import CloudTrailDetail
from driftguard.policy import Policy
from driftguard.quotas import Quota


class ResourceKind(ABC):
    name: ClassVar[str]  # registry key, e.g. "kms-key"
    service: ClassVar[str]  # boto3 service name and ARN service
    event_source: ClassVar[str]  # CloudTrail eventSource
    policy_event_names: ClassVar[frozenset[str]]  # calls that change the policy
    # What the remediation role needs in member accounts for this kind (spoke template).
    iam_actions: ClassVar[frozenset[str]]
    # What the service's put accepts (its API reference): the policy's size, in bytes
    # (UTF-8) or characters, and the characters it refuses (None: no limit known).
    max_policy_size: ClassVar[int | None] = None
    policy_size_unit: ClassVar[Literal["bytes", "characters"]] = "characters"
    policy_characters: ClassVar[re.Pattern[str] | None] = None
    # AWS's request quota of each call the kind makes, per account and region (the
    # service's quotas page); the sweep stays under driftguard's share of them.
    quotas: ClassVar[Mapping[str, Quota]] = {}
    # What `count_existing` needs: list calls that name no resource (IAM grants them on
    # Resource "*" only), kept apart from `iam_actions`, which a declared policy must not
    # deny (a resource policy cannot deny these: they are not authorized on a resource).
    inventory_actions: ClassVar[frozenset[str]] = frozenset()

    def handles(self, arn: Arn) -> bool:
        return arn.service == self.service

    def region_of(self, arn: Arn) -> str:
        """Where the resource is declared, swept and counted: its ARN's region (a global
        service's kind names the region its calls and events go to)."""
        return arn.region

    def counts_in(self, region: str) -> bool:
        """Whether the sweep of this region counts what exists of this kind (a global
        kind is counted once per account, in its own region)."""
        return True

    def client(self, clients: AwsClients, arn: Arn) -> object:
        return clients.in_account(arn.account, self.service, self.region_of(arn))

    @abstractmethod
    def read_policy(self, clients: AwsClients, arn: Arn) -> str | None:
        """The live policy JSON, or None when the resource has no policy.

        Raises ResourceNotFoundError when the resource itself is gone.
        """

    @abstractmethod
    def write_policy(self, clients: AwsClients, arn: Arn, policy_json: str) -> None:
        """Put the policy. Raises PrincipalNotReadyError when AWS rejects a
        principal (not propagated yet, or gone) and RemediationError otherwise."""

    @abstractmethod
    def arn_from_event(self, detail: CloudTrailDetail, clients: AwsClients) -> str | None:
        """The resource ARN a CloudTrail event is about (None if it names none)."""

    @abstractmethod
    def console_url(self, arn: Arn) -> str:
        """Where a person looks at this resource."""

    @abstractmethod
    def count_existing(self, clients: AwsClients, account: str, region: str) -> int:
        """How many resources of this kind exist in the account and region, declared or
        not (read only: list calls through the account's remediation role; never a
        secret value). Raises what AWS answers (ClientError)."""

    def policy_size(self, text: str) -> int:
        """The policy's size as the service counts it against `max_policy_size`."""
        return len(text.encode()) if self.policy_size_unit == "bytes" else len(text)

    def check_policy(self, text: str, policy: Policy) -> None:
        """Raise DeclarationError for what AWS refuses in any policy of this kind, whoever
        puts it: its size, its characters, a statement without a principal. Checked when a
        policy is declared and before every use of a stored one, so that AWS refusing a
        restore can only mean a principal that has not propagated."""
        size = self.policy_size(text)
        if self.max_policy_size is not None and size > self.max_policy_size:
            raise DeclarationError(
                f"the policy is {size:,} {self.policy_size_unit}; {self.service} accepts at "
                f"most {self.max_policy_size:,} {self.policy_size_unit}. Make it smaller"
            )
        if self.policy_characters and (bad := self.policy_characters.search(text)):
            char = bad.group()
            raise DeclarationError(
                f"the policy has the character {char!r} (U+{ord(char):04X}) at offset "
                f"{bad.start()}, which {self.service} does not accept; replace it"
            )
        if unnamed := [
            label(i, s)
            for i, s in enumerate(policy.statements)
            if s.principals is None and s.not_principals is None
        ]:
            raise DeclarationError(
                f"{', '.join(unnamed)} of the policy names no Principal or NotPrincipal; "
                "a resource policy needs one in every statement"
            )

    def validate_declared(
        self, text: str, policy: Policy, arn: Arn, remediation_role_arn: str
    ) -> None:
        """Raise DeclarationError if driftguard must refuse this declared policy: what
        `check_policy` refuses, or a Deny of what driftguard needs here to the
        remediation role. Kinds add what their service refuses on top."""
        self.check_policy(text, policy)
        caller = Caller.assuming(remediation_role_arn, SESSION_NAME)
        if found := denials(policy, caller, self.iam_actions, arn):
            reasons = "; ".join(denial.explain() for denial in found)
            raise DeclarationError(
                f"the declared policy for {arn.text} would lock driftguard out: {reasons}"
            )


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# What AWS answers while it refuses for a while: worth looking at again later, not an
# error to record (botocore's standard retry mode has already retried these).
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "ProvisionedThroughputExceededException",
        "DependencyTimeoutException",
        "KMSInternalException",
        "InternalServiceError",
        "InternalFailure",
        "ServiceUnavailable",
    }
)


def is_transient(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return error_code(exc) in TRANSIENT_CODES or int(status or 0) >= 500


@dataclass(frozen=True)
class Target:
    """One resource: its ARN parsed and its kind resolved, once per event."""

    arn: Arn
    kind: ResourceKind

    @property
    def text(self) -> str:
        return self.arn.text

    @property
    def region(self) -> str:
        return self.kind.region_of(self.arn)

    def __str__(self) -> str:
        return self.arn.text
