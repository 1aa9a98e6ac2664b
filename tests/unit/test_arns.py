"""ARNs in every partition: GovCloud (`aws-us-gov`) and China (`aws-cn`) as well as `aws`."""

from __future__ import annotations

import pytest

from driftguard import kinds
from driftguard.arns import Arn, console_origin, principal_account, role_arn, role_key
from driftguard.aws import AwsClients
from driftguard.errors import UnknownResourceKindError
from driftguard.events import UserIdentity
from driftguard.policy import Policy, is_principal_arn

ACCOUNT = "111111111111"
KEY_ID = "0f6a3c2e-8a57-4d7e-9b0c-2d1e5f4a7b91"
# partition -> a region of it
PARTITIONS = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}


@pytest.mark.parametrize(("partition", "region"), PARTITIONS.items())
def test_resource_arns_parse_in_every_partition(partition: str, region: str) -> None:
    text = f"arn:{partition}:kms:{region}:{ACCOUNT}:key/{KEY_ID}"
    arn = Arn.parse(text)
    assert (arn.partition, arn.service, arn.region, arn.account) == (
        partition,
        "kms",
        region,
        ACCOUNT,
    )
    assert arn.resource == f"key/{KEY_ID}" and arn.text == text


@pytest.mark.parametrize("partition", PARTITIONS)
def test_global_arns_parse_in_every_partition(partition: str) -> None:
    arn = Arn.parse(f"arn:{partition}:iam::{ACCOUNT}:role/team/pod-role")
    assert (arn.partition, arn.service, arn.region, arn.account) == (partition, "iam", "", ACCOUNT)


@pytest.mark.parametrize(
    "text",
    [
        f"arn:awsx:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}",
        f"arn:aws-:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}",
        f"arn:azure:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}",
    ],
)
def test_what_is_no_partition_is_no_arn(text: str) -> None:
    with pytest.raises(UnknownResourceKindError, match="not an ARN"):
        Arn.parse(text)


@pytest.mark.parametrize("partition", PARTITIONS)
def test_roles_keep_their_partition(partition: str) -> None:
    assert (
        role_key(f"arn:{partition}:iam::{ACCOUNT}:role/team/pod-role")
        == f"arn:{partition}:iam::{ACCOUNT}:role/pod-role"
    )
    assert (
        role_arn(partition, ACCOUNT, "pod-role") == f"arn:{partition}:iam::{ACCOUNT}:role/pod-role"
    )
    assert principal_account(f"arn:{partition}:iam::{ACCOUNT}:user/alice") == ACCOUNT


@pytest.mark.parametrize("partition", ["aws-us-gov", "aws-cn"])
def test_the_remediation_role_is_assumed_in_the_configured_partition(partition: str) -> None:
    clients = AwsClients(remediation_role_name="driftguard-remediation", partition=partition)
    assert (
        clients.role_arn(ACCOUNT) == f"arn:{partition}:iam::{ACCOUNT}:role/driftguard-remediation"
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"arn:aws-us-gov:kms:us-gov-west-1:{ACCOUNT}:key/{KEY_ID}", "kms-key"),
        (f"arn:aws-cn:kms:cn-north-1:{ACCOUNT}:key/{KEY_ID}", "kms-key"),
        (f"arn:aws-us-gov:secretsmanager:us-gov-east-1:{ACCOUNT}:secret:db-AbCdEf", "secret"),
        (f"arn:aws-cn:secretsmanager:cn-northwest-1:{ACCOUNT}:secret:db-AbCdEf", "secret"),
    ],
)
def test_targets_in_every_partition(text: str, kind: str) -> None:
    target = kinds.target(text)
    assert target.kind.name == kind
    assert target.text == text and target.arn.account == ACCOUNT


@pytest.mark.parametrize("partition", ["aws-us-gov", "aws-cn"])
def test_policy_principals_in_every_partition(partition: str) -> None:
    role = f"arn:{partition}:iam::{ACCOUNT}:role/pod-role"
    user = f"arn:{partition}:iam::{ACCOUNT}:user/alice"
    assert is_principal_arn(role) and is_principal_arn(user)
    assert not is_principal_arn(f"arn:{partition}:iam::{ACCOUNT}:root")
    policy = Policy.parse(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [role, user, "222222222222"]},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                }
            ],
        }
    )
    assert policy.principal_arns() == {role, user}
    # A bare account id is that account's root, in the partition the policy's ARNs use.
    assert f"arn:{partition}:iam::222222222222:root" in policy.aws_principals()


@pytest.mark.parametrize(
    ("arn", "partition"),
    [
        (f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/Admin/alice", "aws-us-gov"),
        (f"arn:aws-cn:iam::{ACCOUNT}:user/bob", "aws-cn"),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice", "aws"),
        (None, "aws"),
    ],
)
def test_the_callers_partition_comes_from_its_arn(arn: str | None, partition: str) -> None:
    identity = UserIdentity.model_validate({"type": "AssumedRole", "arn": arn})
    assert identity.partition == partition


@pytest.mark.parametrize(
    ("partition", "region", "origin"),
    [
        ("aws", "eu-west-1", "https://eu-west-1.console.aws.amazon.com"),
        ("aws-us-gov", "us-gov-west-1", "https://console.amazonaws-us-gov.com"),
        ("aws-cn", "cn-north-1", "https://console.amazonaws.cn"),
    ],
)
def test_each_partition_has_its_own_console(partition: str, region: str, origin: str) -> None:
    arn = Arn.parse(f"arn:{partition}:kms:{region}:{ACCOUNT}:key/{KEY_ID}")
    assert console_origin(arn) == origin
