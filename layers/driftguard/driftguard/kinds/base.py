"""The one interface every resource kind implements.

A kind knows how to read and write the resource policy of one AWS resource type,
how to find the resource ARN in a CloudTrail event, and which IAM actions the
remediation role needs for it. Nothing else in driftguard knows a service's API.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from botocore.exceptions import ClientError

from driftguard.arns import Arn
from driftguard.aws import AwsClients
from driftguard.events import CloudTrailDetail
from driftguard.policy import Policy


class ResourceKind(ABC):
    name: ClassVar[str]  # registry key, e.g. "kms-key"
    service: ClassVar[str]  # boto3 service name and ARN service
    event_source: ClassVar[str]  # CloudTrail eventSource
    policy_event_names: ClassVar[frozenset[str]]  # calls that change the policy
    # What the remediation role needs in member accounts for this kind (spoke template).
    iam_actions: ClassVar[frozenset[str]]

    def handles(self, arn: Arn) -> bool:
        return arn.service == self.service

    def client(self, clients: AwsClients, arn: Arn) -> object:
        return clients.in_account(arn.account, self.service, arn.region)

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

    def validate_declared(self, policy: Policy, arn: Arn, remediation_role_arn: str) -> None:
        """Raise DeclarationError if driftguard must refuse this declared policy.

        Most kinds accept any valid policy; KMS refuses one that fails its lockout check.
        """
        return None


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class Target:
    """One resource: its ARN parsed and its kind resolved, once per event."""

    arn: Arn
    kind: ResourceKind

    @property
    def text(self) -> str:
        return self.arn.text

    def __str__(self) -> str:
        return self.arn.text
