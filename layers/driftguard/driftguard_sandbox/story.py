"""The story's world, for the demo and the tests: three accounts, pod-role (IRSA),
a secret in one account and its KMS key in another, and the people who change them.

Shared by `driftguard demo` and the functional tests, so the tests check the story
the demo tells. Every call goes over HTTP to the sandbox.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3

from driftguard.alerts import Alert
from driftguard.policy import Policy

WORKLOAD, DATA, SECURITY = "111111111111", "222222222222", "333333333333"
REGION = "us-east-1"
OIDC_HOST = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
POD_ROLE_ARN = f"arn:aws:iam::{WORKLOAD}:role/pod-role"


def irsa_trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{WORKLOAD}:oidc-provider/{OIDC_HOST}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{OIDC_HOST}:sub": "system:serviceaccount:testnamespace:testapp",
                        f"{OIDC_HOST}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def key_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "testsecret-key",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SECURITY}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "SecretsManagerInDataAccountEncrypts",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DATA}:root"},
                "Action": ["kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
                },
            },
            {
                "Sid": "PodRoleDecryptsTestsecret",
                "Effect": "Allow",
                "Principal": {"AWS": POD_ROLE_ARN},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
                },
            },
        ],
    }


def secret_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PodRoleReadsTestsecret",
                "Effect": "Allow",
                "Principal": {"AWS": POD_ROLE_ARN},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }


def pod_role_identity_policy(secret_arn: str, key_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn},
        ],
    }


@dataclass
class Story:
    """The story's world on a sandbox: who acts where, and the two guarded resources.

    Shared by the demo and the functional tests, so the tests check the story
    the demo tells."""

    sandbox: Any
    platform: boto3.Session  # platform admin in the workload account
    data_admin: boto3.Session
    security: boto3.Session
    mallory: boto3.Session  # a developer in the security account
    key_arn: str = ""
    secret_arn: str = ""
    pod_role_id: str = ""

    @classmethod
    def create(cls, sandbox: Any, *, wait: Callable[[float], None] = time.sleep) -> Story:
        story = cls(
            sandbox=sandbox,
            platform=sandbox.session(WORKLOAD, role="PlatformAdmin", session_name="platform-admin"),
            data_admin=sandbox.session(DATA, role="DataAdmin", session_name="data-admin"),
            security=sandbox.session(SECURITY, role="SecurityAdmin", session_name="security-admin"),
            mallory=sandbox.session(SECURITY, role="Developer", session_name="mallory"),
        )
        iam = story.iam
        iam.create_open_id_connect_provider(
            Url=f"https://{OIDC_HOST}",
            ClientIDList=["sts.amazonaws.com"],
            ThumbprintList=["9" * 40],
        )
        story.create_pod_role()
        # A new role is not a valid principal until IAM has propagated it.
        wait(sandbox.propagation_delay)
        key = story.kms.create_key(Description="testsecret key", Policy=json.dumps(key_policy()))
        story.key_arn = key["KeyMetadata"]["Arn"]
        story.secret_arn = story.secrets.create_secret(
            Name="testsecret",
            KmsKeyId=story.key_arn,
            SecretString="demo-value-never-read-by-driftguard",
        )["ARN"]
        story.secrets.put_resource_policy(
            SecretId=story.secret_arn, ResourcePolicy=json.dumps(secret_policy())
        )
        story.grant_pod_role()
        return story

    # One client each (creating one loads its service model).
    @cached_property
    def iam(self) -> Any:
        return self.platform.client("iam")

    @cached_property
    def kms(self) -> Any:
        return self.security.client("kms")

    @cached_property
    def mallory_kms(self) -> Any:
        return self.mallory.client("kms")

    @cached_property
    def secrets(self) -> Any:
        return self.data_admin.client("secretsmanager")

    def create_pod_role(self) -> str:
        role = self.iam.create_role(
            RoleName="pod-role", AssumeRolePolicyDocument=json.dumps(irsa_trust_policy())
        )
        self.pod_role_id = str(role["Role"]["RoleId"])
        return self.pod_role_id

    def grant_pod_role(self) -> None:
        self.iam.put_role_policy(
            RoleName="pod-role",
            PolicyName="read-testsecret",
            PolicyDocument=json.dumps(pod_role_identity_policy(self.secret_arn, self.key_arn)),
        )

    def delete_pod_role(self) -> None:
        self.iam.delete_role_policy(RoleName="pod-role", PolicyName="read-testsecret")
        self.iam.delete_role(RoleName="pod-role")

    def recreate_pod_role(self) -> str:
        role_id = self.create_pod_role()
        self.grant_pod_role()
        return role_id

    def widen_key_policy(self, account: str = "444455556666") -> None:
        widened = key_policy()
        widened["Statement"].append(
            {
                "Sid": "TemporaryVendorAccess",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["kms:Decrypt"],
                "Resource": "*",
            }
        )
        self.mallory_kms.put_key_policy(
            KeyId=self.key_arn, PolicyName="default", Policy=json.dumps(widened)
        )

    def schedule_key_deletion(self) -> None:
        """Mallory schedules the key for deletion: in 7 days (the shortest wait KMS
        allows) every secret it encrypts is unreadable, and no policy changed."""
        self.mallory_kms.schedule_key_deletion(KeyId=self.key_id, PendingWindowInDays=7)

    @property
    def key_id(self) -> str:
        # moto 5.2.5's key-state calls take a key id only (AWS takes the ARN too).
        return self.key_arn.rsplit("/", 1)[-1]

    def key_state(self) -> str:
        return str(self.kms.describe_key(KeyId=self.key_arn)["KeyMetadata"]["KeyState"])

    def widen_trust(self) -> None:
        """The platform team "simplifies" pod-role's trust: any service account of the
        cluster may now become pod-role (StringLike on a wildcard `sub`)."""
        widened = irsa_trust_policy()
        condition = widened["Statement"][0]["Condition"]
        sub = condition["StringEquals"].pop(f"{OIDC_HOST}:sub")
        condition["StringLike"] = {f"{OIDC_HOST}:sub": sub.rsplit(":", 1)[0] + ":*"}
        self.iam.update_assume_role_policy(RoleName="pod-role", PolicyDocument=json.dumps(widened))

    def restore_trust(self) -> None:
        self.iam.update_assume_role_policy(
            RoleName="pod-role", PolicyDocument=json.dumps(irsa_trust_policy())
        )

    def forge_key_declaration(self, account: str = "444455556666") -> None:
        """Mallory, who may write the state table (an admin role of the security
        account), declares kms:* for another account straight in the table, without
        the declarer role's signature."""
        forged = key_policy()
        forged["Statement"].append(
            {
                "Sid": "Backdoor",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        )
        self.mallory.client("dynamodb").update_item(
            TableName=self.sandbox.hub.table_name,
            Key={"pk": {"S": f"RES#{self.key_arn}"}, "sk": {"S": "DECLARED"}},
            UpdateExpression="SET #p = :p",
            ExpressionAttributeNames={"#p": "policy"},
            ExpressionAttributeValues={":p": {"S": json.dumps(forged)}},
        )

    def live_key_policy(self) -> str:
        return str(self.kms.get_key_policy(KeyId=self.key_arn, PolicyName="default")["Policy"])

    def live_secret_policy(self) -> str | None:
        policy = self.secrets.get_resource_policy(SecretId=self.secret_arn).get("ResourcePolicy")
        return str(policy) if policy else None

    def restored(self) -> bool:
        """Both live policies semantically equal to the story's declared ones."""
        secret = self.live_secret_policy()
        return (
            Policy.parse(self.live_key_policy()).semantically_equal(Policy.parse(key_policy()))
            and secret is not None
            and Policy.parse(secret).semantically_equal(Policy.parse(secret_policy()))
        )


class AlertTail:
    """Every alert published to the alert topic, read through an SQS subscription."""

    def __init__(self, sandbox: Any) -> None:
        self._sqs = sandbox.hub_client("sqs")
        self._url = self._sqs.create_queue(QueueName="alert-tail")["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sandbox.hub_client("sns").subscribe(
            TopicArn=sandbox.hub.topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )

    def read(self) -> list[Alert]:
        alerts: list[Alert] = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return alerts
            for message in messages:
                alerts.append(Alert.model_validate_json(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
