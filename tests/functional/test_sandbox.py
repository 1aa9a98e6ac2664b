"""The local AWS sandbox behaves like the AWS driftguard depends on.

Every AWS call here goes over HTTP to the moto server on 127.0.0.1 with boto3,
as the handlers' calls will.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.exceptions import ClientError

from driftguard_sandbox.sandbox import Sandbox

# The real handlers are other modules' business: here deliveries are recorded.
pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("recorded_invocations")]

HUB, WORKLOAD, DATA = "333333333333", "111111111111", "222222222222"  # as in conftest

INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."
UNSUPPORTED_PRINCIPAL = "This resource policy contains an unsupported principal."
LOCKOUT = "The new key policy will not allow you to update the key policy in the future."
ORPHAN_ID = "AROAZZZZZZZZZZZZZZZZZ"
JAVA_DATE = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)$")
SERVICE_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def key_policy(account: str, principal: Any) -> str:
    """The default admin statement plus one statement granting `principal` decrypt."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": root(account)},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "App",
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                },
            ],
        }
    )


def resource_policy(principal: Any) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ],
        }
    )


def trust_policy(principal: Any) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def client(sandbox: Sandbox, account: str, service: str, **session: str) -> Any:
    return sandbox.session(account, **session).client(service)


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def make_role(sandbox: Sandbox, account: str, name: str) -> dict[str, Any]:
    iam = client(sandbox, account, "iam")
    role: dict[str, Any] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=SERVICE_TRUST)[
        "Role"
    ]
    return role


def last_event(sandbox: Sandbox, name: str) -> dict[str, Any]:
    return next(e for e in reversed(sandbox.events) if e["detail"]["eventName"] == name)


# --------------------------------------------------------------------------- accounts


def test_accounts_are_isolated(sandbox: Sandbox) -> None:
    key_arn = client(sandbox, DATA, "kms").create_key()["KeyMetadata"]["Arn"]
    assert f":{DATA}:key/" in key_arn

    workload_kms = client(sandbox, WORKLOAD, "kms")
    assert workload_kms.list_keys()["Keys"] == []
    with pytest.raises(ClientError) as excinfo:
        workload_kms.describe_key(KeyId=key_arn)
    assert error_of(excinfo)[0] == "NotFoundException"


def test_process_environment_is_the_hub_functions_role(sandbox: Sandbox) -> None:
    assert os.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert "MOTO_ACCOUNT_ID" not in os.environ
    assert sandbox.stack is not None
    assert os.environ["TABLE_NAME"] == sandbox.stack.table_name
    assert sandbox.hub is sandbox.stack
    identity = boto3.client("sts").get_caller_identity()
    assert identity["Account"] == HUB
    assert identity["Arn"] == f"arn:aws:sts::{HUB}:assumed-role/driftguard-functions/driftguard"


def test_hub_table_is_created_from_the_template(sandbox: Sandbox) -> None:
    assert sandbox.stack is not None
    dynamodb = sandbox.hub_client("dynamodb")
    table = dynamodb.describe_table(TableName=sandbox.stack.table_name)["Table"]
    declared = sandbox.template["Resources"]["StateTable"]["Properties"]
    indexes = {index["IndexName"]: index["KeySchema"] for index in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        index["IndexName"]: index["KeySchema"] for index in declared["GlobalSecondaryIndexes"]
    }
    assert table["KeySchema"] == declared["KeySchema"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=sandbox.stack.table_name)
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }
    assert "StateTable" not in " ".join(sandbox.stack.skipped)


def test_remediation_role_exists_in_every_account(sandbox: Sandbox) -> None:
    for account in (HUB, WORKLOAD, DATA):
        role = client(sandbox, account, "iam").get_role(RoleName="driftguard-remediation")
        trust = role["Role"]["AssumeRolePolicyDocument"]
        principal = trust["Statement"][0]["Principal"]["AWS"]
        assert principal == f"arn:aws:iam::{HUB}:role/driftguard-functions"


def test_reset_is_fast_and_clean_and_keeps_credentials(sandbox: Sandbox) -> None:
    kms = client(sandbox, DATA, "kms")
    kms.create_key()
    assert sandbox.events

    started = time.perf_counter()
    sandbox.reset()
    assert time.perf_counter() - started < 0.5

    assert kms.list_keys()["Keys"] == []
    assert sandbox.events == [] and sandbox.deliveries == []
    assert boto3.client("sts").get_caller_identity()["Account"] == HUB
    assert client(sandbox, DATA, "sts").get_caller_identity()["Account"] == DATA


# --------------------------------------------------------------------------- DeleteRole


def test_delete_role_rewrites_its_arn_to_its_unique_id_everywhere(sandbox: Sandbox) -> None:
    role = make_role(sandbox, WORKLOAD, "pod-role")
    role_arn, role_id = role["Arn"], role["RoleId"]
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", role_id)

    hub_kms = client(sandbox, HUB, "kms")
    key_id = hub_kms.create_key(Policy=key_policy(HUB, role_arn))["KeyMetadata"]["KeyId"]
    data_secrets = client(sandbox, DATA, "secretsmanager")
    data_secrets.create_secret(Name="testsecret", SecretString="s3cr3t")
    data_secrets.put_resource_policy(
        SecretId="testsecret", ResourcePolicy=resource_policy([role_arn, root(DATA)])
    )
    data_iam = client(sandbox, DATA, "iam")
    data_iam.create_role(RoleName="consumer", AssumeRolePolicyDocument=trust_policy(role_arn))
    events_before = len(sandbox.events)

    client(sandbox, WORKLOAD, "iam").delete_role(RoleName="pod-role")

    key_doc = json.loads(hub_kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert key_doc["Statement"][1]["Principal"]["AWS"] == role_id  # a string stays a string
    assert key_doc["Statement"][0]["Principal"]["AWS"] == root(HUB)
    secret_doc = json.loads(
        data_secrets.get_resource_policy(SecretId="testsecret")["ResourcePolicy"]
    )
    assert secret_doc["Statement"][0]["Principal"]["AWS"] == [role_id, root(DATA)]
    trust = data_iam.get_role(RoleName="consumer")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"]["AWS"] == role_id
    # AWS rewrites internally: only the DeleteRole call itself is in CloudTrail.
    assert [e["detail"]["eventName"] for e in sandbox.events[events_before:]] == ["DeleteRole"]

    recreated = make_role(sandbox, WORKLOAD, "pod-role")
    assert recreated["Arn"] == role_arn and recreated["RoleId"] != role_id
    key_doc = json.loads(hub_kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert key_doc["Statement"][1]["Principal"]["AWS"] == role_id


def test_orphaned_id_cannot_be_put_back_anywhere(sandbox: Sandbox) -> None:
    role_id = make_role(sandbox, WORKLOAD, "pod-role")["RoleId"]
    client(sandbox, WORKLOAD, "iam").delete_role(RoleName="pod-role")

    kms = client(sandbox, HUB, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=key_policy(HUB, role_id))
    assert error_of(excinfo) == ("MalformedPolicyDocumentException", INVALID_PRINCIPALS)

    secrets = client(sandbox, DATA, "secretsmanager")
    secrets.create_secret(Name="testsecret", SecretString="x")
    with pytest.raises(ClientError) as excinfo:
        secrets.put_resource_policy(SecretId="testsecret", ResourcePolicy=resource_policy(role_id))
    assert error_of(excinfo) == ("MalformedPolicyDocumentException", UNSUPPORTED_PRINCIPAL)

    with pytest.raises(ClientError) as excinfo:
        client(sandbox, DATA, "iam").create_role(
            RoleName="consumer", AssumeRolePolicyDocument=trust_policy(role_id)
        )
    assert error_of(excinfo) == (
        "MalformedPolicyDocument",
        f'Invalid principal in policy: "AWS":"{role_id}"',
    )


def test_nonexistent_principals_are_rejected_with_aws_errors(sandbox: Sandbox) -> None:
    ghost = f"arn:aws:iam::{WORKLOAD}:role/does-not-exist"
    kms = client(sandbox, HUB, "kms")
    hub_keys = kms.list_keys()["Keys"]
    with pytest.raises(ClientError) as excinfo:
        kms.create_key(Policy=key_policy(HUB, ghost))
    assert error_of(excinfo) == ("MalformedPolicyDocumentException", INVALID_PRINCIPALS)
    assert kms.list_keys()["Keys"] == hub_keys  # only the hub stack's own keys

    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=key_policy(HUB, ghost))
    assert error_of(excinfo) == ("MalformedPolicyDocumentException", INVALID_PRINCIPALS)

    secrets = client(sandbox, DATA, "secretsmanager")
    secrets.create_secret(Name="testsecret", SecretString="x")
    with pytest.raises(ClientError) as excinfo:
        secrets.put_resource_policy(SecretId="testsecret", ResourcePolicy=resource_policy(ghost))
    assert error_of(excinfo) == ("MalformedPolicyDocumentException", UNSUPPORTED_PRINCIPAL)

    iam = client(sandbox, DATA, "iam")
    iam.create_role(RoleName="consumer", AssumeRolePolicyDocument=trust_policy(root(WORKLOAD)))
    with pytest.raises(ClientError) as excinfo:
        iam.update_assume_role_policy(RoleName="consumer", PolicyDocument=trust_policy(ghost))
    assert error_of(excinfo) == (
        "MalformedPolicyDocument",
        f'Invalid principal in policy: "AWS":"{ghost}"',
    )


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        WORKLOAD,
        root(WORKLOAD),
        f"arn:aws:sts::{WORKLOAD}:assumed-role/Admin/alice",
        [root(WORKLOAD), f"arn:aws:iam::{DATA}:role/driftguard-remediation"],
    ],
)
def test_valid_principals_are_accepted(sandbox: Sandbox, principal: Any) -> None:
    secrets = client(sandbox, DATA, "secretsmanager")
    secrets.create_secret(Name="testsecret", SecretString="x")
    secrets.put_resource_policy(SecretId="testsecret", ResourcePolicy=resource_policy(principal))
    kms = client(sandbox, HUB, "kms")
    kms.create_key(Policy=key_policy(HUB, principal))


def test_policies_that_are_not_json_are_rejected(sandbox: Sandbox) -> None:
    kms = client(sandbox, HUB, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy="not json")
    assert error_of(excinfo)[0] == "MalformedPolicyDocumentException"

    secrets = client(sandbox, DATA, "secretsmanager")
    secrets.create_secret(Name="testsecret", SecretString="x")
    with pytest.raises(ClientError) as excinfo:
        secrets.put_resource_policy(SecretId="testsecret", ResourcePolicy="{")
    assert error_of(excinfo)[0] == "MalformedPolicyDocumentException"

    with pytest.raises(ClientError) as excinfo:
        client(sandbox, DATA, "iam").create_role(RoleName="r", AssumeRolePolicyDocument="nope")
    assert error_of(excinfo)[0] == "MalformedPolicyDocument"


# --------------------------------------------------------------------------- propagation


def test_new_role_becomes_a_valid_principal_after_the_propagation_delay(
    sandbox: Sandbox,
) -> None:
    # Long enough for the calls below on a busy 2-core machine (0.4 s was not).
    sandbox.propagation_delay = 2.0
    role_arn = make_role(sandbox, WORKLOAD, "pod-role")["Arn"]
    # IAM itself sees the role at once.
    assert client(sandbox, WORKLOAD, "iam").get_role(RoleName="pod-role")["Role"]["Arn"] == role_arn

    kms = client(sandbox, HUB, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    secrets = client(sandbox, DATA, "secretsmanager")
    secrets.create_secret(Name="testsecret", SecretString="x")
    with pytest.raises(ClientError) as excinfo:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=key_policy(HUB, role_arn))
    assert error_of(excinfo) == ("MalformedPolicyDocumentException", INVALID_PRINCIPALS)
    with pytest.raises(ClientError) as excinfo:
        secrets.put_resource_policy(SecretId="testsecret", ResourcePolicy=resource_policy(role_arn))
    assert error_of(excinfo) == ("MalformedPolicyDocumentException", UNSUPPORTED_PRINCIPAL)

    time.sleep(2.05)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=key_policy(HUB, role_arn))
    secrets.put_resource_policy(SecretId="testsecret", ResourcePolicy=resource_policy(role_arn))


def test_reset_restores_the_initial_propagation_delay(sandbox: Sandbox) -> None:
    sandbox.propagation_delay = 5
    sandbox.reset()
    assert sandbox.propagation_delay == 0.0


# --------------------------------------------------------------------------- lockout


def test_lockout_check_rejects_a_policy_that_drops_the_caller(sandbox: Sandbox) -> None:
    kms = client(sandbox, HUB, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    only_workload = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": root(WORKLOAD)},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
    with pytest.raises(ClientError) as excinfo:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=only_workload)
    assert error_of(excinfo) == ("MalformedPolicyDocumentException", LOCKOUT)
    with pytest.raises(ClientError) as excinfo:
        kms.create_key(Policy=only_workload)
    assert error_of(excinfo) == ("MalformedPolicyDocumentException", LOCKOUT)

    kms.put_key_policy(
        KeyId=key_id,
        PolicyName="default",
        Policy=only_workload,
        BypassPolicyLockoutSafetyCheck=True,
    )
    stored = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert stored == only_workload


def test_lockout_check_accepts_the_callers_role_with_a_wildcard_action(sandbox: Sandbox) -> None:
    remediation = client(
        sandbox, DATA, "kms", role="driftguard-remediation", session_name="driftguard"
    )
    key_id = remediation.create_key()["KeyMetadata"]["KeyId"]
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{DATA}:role/driftguard-remediation"]},
                    "Action": ["kms:Describe*", "KMS:Put*"],
                    "Resource": "*",
                }
            ],
        }
    )
    remediation.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)


# --------------------------------------------------------------------------- CloudTrail events


def test_put_key_policy_in_the_hub_reaches_the_policy_function(
    sandbox: Sandbox, recorded_invocations: list[tuple[str, dict[str, Any]]]
) -> None:
    kms = client(sandbox, HUB, "kms", session_name="carol")
    key = kms.create_key()["KeyMetadata"]
    sandbox.wait_idle()
    recorded_invocations.clear()
    policy = key_policy(HUB, root(WORKLOAD))

    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy)
    sandbox.wait_idle()

    assert [(d.function, d.rule, d.attempts, d.error) for d in sandbox.deliveries[-1:]] == [
        ("PolicyEventsFunction", "HubAccountPolicyCalls", 1, None)
    ]
    ((function, event),) = recorded_invocations
    assert function == "PolicyEventsFunction"
    assert event["detail-type"] == "AWS API Call via CloudTrail"
    assert event["source"] == "aws.kms" and event["account"] == HUB
    assert event["region"] == "us-east-1" and event["resources"] == []
    detail = event["detail"]
    assert detail["eventSource"] == "kms.amazonaws.com"
    assert detail["eventName"] == "PutKeyPolicy"
    assert detail["recipientAccountId"] == HUB and detail["awsRegion"] == "us-east-1"
    assert detail["requestParameters"] == {
        "keyId": key["KeyId"],
        "policyName": "default",
        "policy": policy,
    }
    assert detail["responseElements"] is None
    assert detail["resources"] == [{"accountId": HUB, "type": "AWS::KMS::Key", "ARN": key["Arn"]}]
    assert "errorCode" not in detail
    assert detail["readOnly"] is False and detail["managementEvent"] is True
    assert detail["eventType"] == "AwsApiCall" and detail["eventCategory"] == "Management"
    identity = detail["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{HUB}:assumed-role/Admin/carol"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}:carol", identity["principalId"])
    assert identity["sessionContext"]["sessionIssuer"] == {
        "type": "Role",
        "principalId": identity["principalId"].split(":")[0],
        "arn": f"arn:aws:iam::{HUB}:role/Admin",
        "accountId": HUB,
        "userName": "Admin",
    }


def test_put_resource_policy_in_a_member_account_goes_through_the_hub_bus(
    sandbox: Sandbox, recorded_invocations: list[tuple[str, dict[str, Any]]]
) -> None:
    secrets = client(sandbox, DATA, "secretsmanager", session_name="bob")
    arn = secrets.create_secret(Name="testsecret", SecretString="hunter2")["ARN"]

    secrets.put_resource_policy(
        SecretId="testsecret", ResourcePolicy=resource_policy(root(WORKLOAD))
    )
    sandbox.wait_idle()

    (delivery,) = sandbox.deliveries
    assert (delivery.function, delivery.rule) == ("PolicyEventsFunction", "HubBusPolicyCalls")
    detail = delivery.event["detail"]
    assert delivery.event["account"] == DATA and delivery.event["source"] == "aws.secretsmanager"
    assert detail["eventName"] == "PutResourcePolicy"
    assert detail["eventSource"] == "secretsmanager.amazonaws.com"
    assert detail["recipientAccountId"] == DATA
    assert detail["requestParameters"]["secretId"] == "testsecret"
    assert json.loads(detail["requestParameters"]["resourcePolicy"])["Version"] == "2012-10-17"
    assert detail["responseElements"] == {"arn": arn, "name": "testsecret"}
    issuer = detail["userIdentity"]["sessionContext"]["sessionIssuer"]
    assert issuer["arn"] == f"arn:aws:iam::{DATA}:role/Admin"
    assert detail["userIdentity"]["arn"] == f"arn:aws:sts::{DATA}:assumed-role/Admin/bob"

    create = last_event(sandbox, "CreateSecret")["detail"]
    assert create["requestParameters"]["secretString"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert "hunter2" not in json.dumps(sandbox.events)


def test_failed_call_yields_an_error_event_that_no_rule_matches(
    sandbox: Sandbox, recorded_invocations: list[tuple[str, dict[str, Any]]]
) -> None:
    kms = client(sandbox, WORKLOAD, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    sandbox.wait_idle()
    delivered = len(sandbox.deliveries)
    with pytest.raises(ClientError):
        kms.put_key_policy(
            KeyId=key_id, PolicyName="default", Policy=key_policy(WORKLOAD, ORPHAN_ID)
        )
    sandbox.wait_idle()

    event = last_event(sandbox, "PutKeyPolicy")
    assert event["detail"]["errorCode"] == "MalformedPolicyDocumentException"
    assert event["detail"]["errorMessage"] == INVALID_PRINCIPALS
    assert event["detail"]["responseElements"] is None
    assert sandbox.matching_functions(event) == []
    assert len(sandbox.deliveries) == delivered

    with pytest.raises(ClientError):
        client(sandbox, WORKLOAD, "iam").delete_role(RoleName="nobody")
    failed_delete = last_event(sandbox, "DeleteRole")["detail"]
    assert failed_delete["errorCode"] == "NoSuchEntityException"


def test_remediation_role_changes_are_routed_nowhere(
    sandbox: Sandbox, recorded_invocations: list[tuple[str, dict[str, Any]]]
) -> None:
    kms = client(sandbox, DATA, "kms", role="driftguard-remediation", session_name="driftguard")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=key_policy(DATA, root(WORKLOAD)))
    sandbox.wait_idle()

    event = last_event(sandbox, "PutKeyPolicy")
    issuer = event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]
    assert issuer["arn"] == f"arn:aws:iam::{DATA}:role/driftguard-remediation"
    role = client(sandbox, DATA, "iam").get_role(RoleName="driftguard-remediation")["Role"]
    assert issuer["principalId"] == role["RoleId"]
    assert sandbox.matching_functions(event) == []
    assert recorded_invocations == []


def test_iam_events_carry_what_the_inventory_needs(
    sandbox: Sandbox, recorded_invocations: list[tuple[str, dict[str, Any]]]
) -> None:
    iam = client(sandbox, WORKLOAD, "iam")
    role = iam.create_role(
        RoleName="pod-role", Path="/apps/", AssumeRolePolicyDocument=SERVICE_TRUST
    )["Role"]
    iam.delete_role(RoleName="pod-role")
    sandbox.wait_idle()

    assert [(d.function, d.rule) for d in sandbox.deliveries] == [
        ("IamEventsFunction", "HubBusIamCalls"),
        ("IamEventsFunction", "HubBusIamCalls"),
    ]
    create = last_event(sandbox, "CreateRole")
    assert create["source"] == "aws.iam" and create["detail"]["awsRegion"] == "us-east-1"
    assert create["detail"]["requestParameters"] == {
        "roleName": "pod-role",
        "path": "/apps/",
        "assumeRolePolicyDocument": SERVICE_TRUST,
    }
    created = create["detail"]["responseElements"]["role"]
    assert created["arn"] == role["Arn"] == f"arn:aws:iam::{WORKLOAD}:role/apps/pod-role"
    assert created["roleId"] == role["RoleId"] and created["path"] == "/apps/"
    assert JAVA_DATE.match(created["createDate"])
    assert unquote(created["assumeRolePolicyDocument"]) == SERVICE_TRUST
    assert "%7B" in created["assumeRolePolicyDocument"]
    delete = last_event(sandbox, "DeleteRole")["detail"]
    assert delete["requestParameters"] == {"roleName": "pod-role"}
    assert delete["responseElements"] is None


def test_events_paused_and_read_only_calls_produce_no_events(sandbox: Sandbox) -> None:
    kms = client(sandbox, HUB, "kms")
    with sandbox.events_paused():
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.describe_key(KeyId=key_id)
    kms.get_key_policy(KeyId=key_id, PolicyName="default")
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert sandbox.events == []


def test_emit_routes_a_ready_made_event_by_its_account(
    sandbox: Sandbox, recorded_invocations: list[tuple[str, dict[str, Any]]]
) -> None:
    event = {
        "version": "0",
        "id": "526b0c94-6818-c31d-4a54-2c1a27d69703",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": WORKLOAD,
        "time": "2023-05-31T05:10:09Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventSource": "iam.amazonaws.com",
            "eventName": "DeleteRole",
            "awsRegion": "us-east-1",
            "requestParameters": {"roleName": "pod-role"},
            "responseElements": None,
            "recipientAccountId": WORKLOAD,
        },
    }
    assert sandbox.emit(event) == ["IamEventsFunction"]
    sandbox.wait_idle()
    assert [(d.function, d.rule) for d in sandbox.deliveries] == [
        ("IamEventsFunction", "HubBusIamCalls")
    ]
    hub_event = {**event, "account": HUB}
    assert sandbox.matching_functions(hub_event) == ["IamEventsFunction"]
    assert sandbox.emit({**event, "source": "custom.iam"}) == []


# --------------------------------------------------------------------------- delivery


def test_failing_handler_is_retried_then_dead_lettered(sandbox: Sandbox) -> None:
    attempts: list[str] = []

    def broken(spec: Any, event: dict[str, Any]) -> None:
        attempts.append(spec.logical_id)
        raise RuntimeError("boom")

    sandbox.invoker = broken
    client(sandbox, HUB, "kms").create_key()
    sandbox.wait_idle()

    (delivery,) = sandbox.deliveries
    assert delivery.attempts == 3 and attempts == ["PolicyEventsFunction"] * 3
    assert delivery.error == "RuntimeError: boom" and delivery.dead_lettered
    assert sandbox.stack is not None
    sqs = sandbox.hub_client("sqs")
    messages = sqs.receive_message(
        QueueUrl=sandbox.stack.dlq_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    assert [json.loads(m["Body"])["id"] for m in messages] == [delivery.event["id"]]
    # EventBridge invokes Lambda asynchronously: the function's DLQ keeps the event.
    assert messages[0]["MessageAttributes"]["ErrorMessage"]["StringValue"] == "RuntimeError: boom"


def test_wait_idle_times_out_while_a_handler_runs(sandbox: Sandbox) -> None:
    def slow(spec: Any, event: dict[str, Any]) -> str:
        time.sleep(0.3)
        return "done"

    sandbox.invoker = slow
    client(sandbox, HUB, "kms").create_key()
    with pytest.raises(TimeoutError):
        sandbox.wait_idle(timeout=0.05)
    sandbox.wait_idle()
    assert [d.result for d in sandbox.deliveries] == ["done"]


def test_events_caused_by_a_handler_are_delivered_before_idle(sandbox: Sandbox) -> None:
    """A handler's own AWS calls produce events the router also delivers."""
    seen: list[str] = []

    def chain(spec: Any, event: dict[str, Any]) -> None:
        seen.append(event["detail"]["eventName"])
        if event["detail"]["eventName"] == "CreateKey":
            kms = client(sandbox, HUB, "kms", session_name="handler")
            kms.put_key_policy(
                KeyId=event["detail"]["responseElements"]["keyMetadata"]["keyId"],
                PolicyName="default",
                Policy=key_policy(HUB, root(WORKLOAD)),
            )

    sandbox.invoker = chain
    client(sandbox, HUB, "kms").create_key()
    sandbox.wait_idle()
    assert seen == ["CreateKey", "PutKeyPolicy"]


def test_invoke_and_run_schedule_are_synchronous(
    sandbox: Sandbox, recorded_invocations: list[tuple[str, dict[str, Any]]]
) -> None:
    assert sandbox.run_schedule("ReconcilerFunction") == {"status": "recorded"}
    ((function, event),) = recorded_invocations
    assert function == "ReconcilerFunction"
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["account"] == HUB
    assert sandbox.invoke("IamEventsFunction", {"x": 1}) == {"status": "recorded"}
    assert sandbox.deliveries == []  # synchronous invocations are not deliveries


def test_create_key_event_and_iam_user_identity(sandbox: Sandbox) -> None:
    iam = client(sandbox, WORKLOAD, "iam")
    user = iam.create_user(UserName="dave")["User"]
    access_key = iam.create_access_key(UserName="dave")["AccessKey"]
    dave = boto3.Session(
        aws_access_key_id=access_key["AccessKeyId"],
        aws_secret_access_key=access_key["SecretAccessKey"],
        region_name="us-east-1",
    )

    key = dave.client("kms").create_key(Description="dave's key")["KeyMetadata"]
    sandbox.wait_idle()

    event = last_event(sandbox, "CreateKey")
    assert sandbox.matching_functions(event) == ["PolicyEventsFunction"]
    identity = event["detail"]["userIdentity"]
    assert identity["type"] == "IAMUser" and identity["userName"] == "dave"
    assert identity["arn"] == user["Arn"] and identity["accountId"] == WORKLOAD
    assert identity["sessionContext"]["sessionIssuer"] == {}
    metadata = event["detail"]["responseElements"]["keyMetadata"]
    assert {
        name: metadata[name]
        for name in ("keyId", "arn", "aWSAccountId", "keyState", "keyManager", "keyUsage")
    } == {
        "keyId": key["KeyId"],
        "arn": key["Arn"],
        "aWSAccountId": WORKLOAD,
        "keyState": "Enabled",
        "keyManager": "CUSTOMER",
        "keyUsage": "ENCRYPT_DECRYPT",
    }
    assert metadata["keySpec"] == "SYMMETRIC_DEFAULT" and metadata["enabled"] is True
    assert metadata["origin"] == "AWS_KMS" and JAVA_DATE.match(metadata["creationDate"])
    assert event["detail"]["requestParameters"] == {"description": "dave's key"}
