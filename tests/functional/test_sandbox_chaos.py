"""The sandbox can be as unkind as AWS, one knob at a time (`driftguard_sandbox.chaos`).

Every call goes over HTTP to the sandbox on 127.0.0.1 with boto3. Clients here do
not retry unless a test is about retries: an injected error is then seen as botocore
parses it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff

from driftguard.aws import BOTO_CONFIG
from driftguard_sandbox.sandbox import Sandbox

# The real handlers are other modules' business: here deliveries are recorded.
pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("recorded_invocations")]

HUB, WORKLOAD, DATA = "333333333333", "111111111111", "222222222222"  # as in conftest
NO_RETRIES = Config(retries={"total_max_attempts": 1})
SCALE = 0.003  # 100 AWS seconds take 0.3 real ones
MARGIN = 0.1  # real seconds kept clear of a boundary (request latency)
LOCKOUT = "The new key policy will not allow you to update the key policy in the future."
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


def client(
    sandbox: Sandbox, account: str, service: str, config: Config = NO_RETRIES, **session: str
) -> Any:
    return sandbox.session(account, **session).client(service, config=config)


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def policy(*statements: dict[str, Any]) -> str:
    # As typed: a character outside ASCII stays itself, not a \u escape.
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, ensure_ascii=False)


def allow(principal: Any, action: str = "kms:*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}


def admin(account: str) -> dict[str, Any]:
    return allow({"AWS": f"arn:aws:iam::{account}:root"})


def last_event(sandbox: Sandbox, name: str) -> dict[str, Any]:
    return next(e for e in reversed(sandbox.events) if e["detail"]["eventName"] == name)


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


@pytest.fixture
def scaled(sandbox: Sandbox) -> float:
    """AWS time at SCALE; returns how many real seconds 100 AWS seconds take."""
    sandbox.time.scale = SCALE
    return sandbox.time.real(100)


@pytest.fixture
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard retries without their random sleeps (up to a second each)."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


# --------------------------------------------------------------------------- time


def test_time_scale_makes_aws_waits_short(sandbox: Sandbox) -> None:
    assert sandbox.time.scale == 1.0  # Sandbox.start's default: real time
    sandbox.time.scale = 0.01
    assert sandbox.time.real(100) == pytest.approx(1.0)
    moment = sandbox.time.now()
    time.sleep(0.02)
    assert sandbox.time.since(moment) == pytest.approx(2.0, abs=1.5)  # AWS seconds


def test_propagation_delay_is_in_scaled_aws_seconds(sandbox: Sandbox, scaled: float) -> None:
    sandbox.propagation_delay = 100
    kms = client(sandbox, HUB, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    role_arn = f"arn:aws:iam::{WORKLOAD}:role/pod-role"
    grant = policy(admin(HUB), allow({"AWS": role_arn}, "kms:Decrypt"))

    started = time.monotonic()
    client(sandbox, WORKLOAD, "iam").create_role(
        RoleName="pod-role", AssumeRolePolicyDocument=SERVICE_TRUST
    )
    created = time.monotonic()
    sleep_until(started + scaled - MARGIN)
    with pytest.raises(ClientError) as excinfo:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=grant)
    assert error_of(excinfo) == ("MalformedPolicyDocumentException", 400)
    sleep_until(created + scaled + 0.02)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=grant)


# --------------------------------------------------------------------------- consistency


def test_getrole_delay_hides_a_new_role_and_user_for_a_while(
    sandbox: Sandbox, scaled: float
) -> None:
    iam = client(sandbox, WORKLOAD, "iam")
    sandbox.getrole_delay = 100
    started = time.monotonic()
    iam.create_role(RoleName="pod-role", AssumeRolePolicyDocument=SERVICE_TRUST)
    iam.create_user(UserName="bob")
    created = time.monotonic()

    with pytest.raises(ClientError) as excinfo:
        iam.get_role(RoleName="pod-role")
    assert error_of(excinfo) == ("NoSuchEntity", 404)
    assert excinfo.value.response["Error"]["Message"] == (
        "The role with name pod-role cannot be found."
    )
    # Other accounts' roles of that name and older roles are not affected.
    assert client(sandbox, DATA, "iam").get_role(RoleName="driftguard-remediation")
    sleep_until(started + scaled - MARGIN)
    with pytest.raises(ClientError) as excinfo:
        iam.get_user(UserName="bob")
    assert error_of(excinfo) == ("NoSuchEntity", 404)

    sleep_until(created + scaled + 0.02)
    assert iam.get_role(RoleName="pod-role")["Role"]["RoleName"] == "pod-role"
    assert iam.get_user(UserName="bob")["User"]["UserName"] == "bob"


def test_getrole_delay_off_shows_a_new_role_at_once(sandbox: Sandbox) -> None:
    iam = client(sandbox, WORKLOAD, "iam")
    iam.create_role(RoleName="pod-role", AssumeRolePolicyDocument=SERVICE_TRUST)
    assert iam.get_role(RoleName="pod-role")["Role"]["RoleName"] == "pod-role"


def _world_naming(sandbox: Sandbox, role_arn: str) -> tuple[Any, str, Any, Any]:
    """A key, a secret and another role's trust policy naming `role_arn`."""
    kms = client(sandbox, HUB, "kms")
    key_id = kms.create_key(Policy=policy(admin(HUB), allow({"AWS": role_arn}, "kms:Decrypt")))[
        "KeyMetadata"
    ]["KeyId"]
    secrets = client(sandbox, DATA, "secretsmanager")
    secrets.create_secret(Name="testsecret", SecretString="x")
    secrets.put_resource_policy(
        SecretId="testsecret",
        ResourcePolicy=policy(allow({"AWS": role_arn}, "secretsmanager:GetSecretValue")),
    )
    iam = client(sandbox, WORKLOAD, "iam")
    iam.create_role(
        RoleName="other",
        AssumeRolePolicyDocument=policy(
            {"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "sts:AssumeRole"}
        ),
    )
    return kms, key_id, secrets, iam


def _principals(kms: Any, key_id: str, secrets: Any, iam: Any) -> list[str]:
    documents = [
        json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]),
        json.loads(secrets.get_resource_policy(SecretId="testsecret")["ResourcePolicy"]),
        iam.get_role(RoleName="other")["Role"]["AssumeRolePolicyDocument"],
    ]
    return [document["Statement"][-1]["Principal"]["AWS"] for document in documents]


def test_rewrite_delay_shows_the_deleted_roles_arn_for_a_while(
    sandbox: Sandbox, scaled: float
) -> None:
    role = client(sandbox, WORKLOAD, "iam").create_role(
        RoleName="pod-role", AssumeRolePolicyDocument=SERVICE_TRUST
    )["Role"]
    world = _world_naming(sandbox, role["Arn"])
    iam = world[3]
    sandbox.rewrite_delay = 100

    started = time.monotonic()
    iam.delete_role(RoleName="pod-role")
    deleted = time.monotonic()
    with pytest.raises(ClientError) as excinfo:
        iam.get_role(RoleName="pod-role")
    assert error_of(excinfo) == ("NoSuchEntity", 404)  # IAM forgets it at once
    assert _principals(*world) == [role["Arn"]] * 3
    sleep_until(started + scaled / 2)  # well inside: three reads may be slow on a busy machine
    assert _principals(*world) == [role["Arn"]] * 3

    sleep_until(deleted + scaled + 0.02)
    assert _principals(*world) == [role["RoleId"]] * 3


def test_a_policy_put_during_the_rewrite_delay_is_not_rewritten(
    sandbox: Sandbox, scaled: float
) -> None:
    role_arn = client(sandbox, WORKLOAD, "iam").create_role(
        RoleName="pod-role", AssumeRolePolicyDocument=SERVICE_TRUST
    )["Role"]["Arn"]
    kms, key_id, *_ = _world_naming(sandbox, role_arn)
    sandbox.rewrite_delay = 100
    client(sandbox, WORKLOAD, "iam").delete_role(RoleName="pod-role")
    deleted = time.monotonic()
    # Someone edits the key policy meanwhile: the late rewrite must not undo it.
    edited = policy(admin(HUB), allow({"AWS": f"arn:aws:iam::{WORKLOAD}:root"}, "kms:Decrypt"))
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=edited)

    sleep_until(deleted + scaled + 0.02)
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == edited


def test_stale_reads_answer_the_replaced_policy_for_a_while(
    sandbox: Sandbox, scaled: float
) -> None:
    kms = client(sandbox, HUB, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    before = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    secrets = client(sandbox, DATA, "secretsmanager")
    arn = secrets.create_secret(Name="testsecret", SecretString="x")["ARN"]
    key_policy = policy(admin(HUB), allow({"AWS": f"arn:aws:iam::{WORKLOAD}:root"}, "kms:Decrypt"))
    resource_policy = policy(allow({"AWS": f"arn:aws:iam::{WORKLOAD}:root"}, "secretsmanager:*"))
    sandbox.stale_reads = 100

    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=key_policy)
    secrets.put_resource_policy(SecretId=arn, ResourcePolicy=resource_policy)
    put = time.monotonic()
    key_arn = f"arn:aws:kms:{sandbox.region}:{HUB}:key/{key_id}"
    assert kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"] == before
    read = secrets.get_resource_policy(SecretId="testsecret")
    assert "ResourcePolicy" not in read and read["ARN"] == arn  # it had none

    sleep_until(put + scaled + 0.02)
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == key_policy
    assert secrets.get_resource_policy(SecretId=arn)["ResourcePolicy"] == resource_policy


def test_stale_reads_off_reads_your_writes(sandbox: Sandbox) -> None:
    kms = client(sandbox, HUB, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    key_policy = policy(admin(HUB))
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=key_policy)
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == key_policy


# --------------------------------------------------------------------------- faults


def fault_method(operation: str) -> str:
    """A client's method name for an operation (PutKeyPolicy: put_key_policy)."""
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


TOPIC = f"arn:aws:sns:us-east-1:{HUB}:t"
# (service, operation, its arguments, error asked for, code and status botocore parses)
PROTOCOL_CASES = [
    # JSON protocols
    ("kms", "PutKeyPolicy", {"KeyId": "k", "Policy": "{}"}, None, "ThrottlingException", 400),
    ("secretsmanager", "GetSecretValue", {"SecretId": "s"}, "InternalServiceError", None, 500),
    ("dynamodb", "ListTables", {}, "ProvisionedThroughputExceededException", None, 400),
    ("sqs", "SendMessage", {"QueueUrl": "q", "MessageBody": "m"}, None, "ThrottlingException", 400),
    # query protocol (XML)
    ("iam", "GetRole", {"RoleName": "r"}, None, "Throttling", 400),
    ("sts", "GetCallerIdentity", {}, "ServiceUnavailable", None, 503),
    ("sns", "Publish", {"TopicArn": TOPIC, "Message": "m"}, "InternalFailure", None, 500),
]


@pytest.mark.parametrize(
    ("service", "operation", "call", "error", "code", "status"),
    PROTOCOL_CASES,
    ids=[case[0] for case in PROTOCOL_CASES],
)
def test_faults_answer_in_each_services_protocol(
    sandbox: Sandbox,
    service: str,
    operation: str,
    call: dict[str, Any],
    error: str | None,
    code: str | None,
    status: int,
) -> None:
    fault = sandbox.fail(service, operation, error=error)
    method = getattr(client(sandbox, HUB, service), fault_method(operation))
    with pytest.raises(ClientError) as excinfo:
        method(**call)  # the named resources need not exist: moto never sees the call
    assert error_of(excinfo) == (code or error, status)
    assert excinfo.value.response["Error"]["Message"]
    assert fault.count == 1


def test_access_denied_names_the_caller_and_the_action(sandbox: Sandbox) -> None:
    sandbox.fail("sts", "GetCallerIdentity", error="AccessDenied")
    with pytest.raises(ClientError) as excinfo:
        client(sandbox, DATA, "sts", session_name="bob").get_caller_identity()
    assert error_of(excinfo) == ("AccessDenied", 400)
    assert excinfo.value.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{DATA}:assumed-role/Admin/bob is not authorized to perform: "
        "sts:GetCallerIdentity"
    )


def test_a_failed_mutating_call_still_yields_its_cloudtrail_event(sandbox: Sandbox) -> None:
    kms = client(sandbox, HUB, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    sandbox.fail("kms", "PutKeyPolicy", error="AccessDeniedException")
    with pytest.raises(ClientError):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy(admin(HUB)))
    sandbox.wait_idle()
    detail = last_event(sandbox, "PutKeyPolicy")["detail"]
    assert detail["errorCode"] == "AccessDeniedException"
    assert detail["errorMessage"].endswith("is not authorized to perform: kms:PutKeyPolicy")


@pytest.mark.usefixtures("instant_retries")
def test_times_fails_the_first_calls_and_standard_retries_get_through(sandbox: Sandbox) -> None:
    fault = sandbox.fail("kms", "CreateKey", times=2)
    kms = client(sandbox, HUB, "kms", config=BOTO_CONFIG)  # driftguard's: standard, 6 attempts
    created = kms.create_key()
    assert created["ResponseMetadata"]["RetryAttempts"] == 2
    assert fault.count == 2
    kms.create_key()
    assert fault.count == 2

    unavailable = sandbox.fail("dynamodb", "ListTables", error="InternalServerError", times=1)
    assert unavailable.http_status == 500  # 5xx are retried too
    dynamodb = client(sandbox, HUB, "dynamodb", config=BOTO_CONFIG)
    assert dynamodb.list_tables()["ResponseMetadata"]["RetryAttempts"] == 1
    assert unavailable.count == 1


@pytest.mark.usefixtures("instant_retries")
def test_a_fault_outlasting_the_retries_surfaces(sandbox: Sandbox) -> None:
    fault = sandbox.fail("secretsmanager", "ListSecrets")
    with pytest.raises(ClientError) as excinfo:
        client(sandbox, HUB, "secretsmanager", config=BOTO_CONFIG).list_secrets()
    assert error_of(excinfo) == ("ThrottlingException", 400)
    assert fault.count == 7  # botocore's max_attempts counts retries: 6 after the first


def _pattern(sandbox: Sandbox, dynamodb: Any, seed: int) -> list[bool]:
    fault = sandbox.fail("dynamodb", "ListTables", rate=0.5, seed=seed)
    failed = []
    for _ in range(20):
        try:
            dynamodb.list_tables()
            failed.append(False)
        except ClientError:
            failed.append(True)
    sandbox.clear_faults()
    assert fault.count == sum(failed)
    return failed


def test_rate_fails_a_seeded_reproducible_share_of_calls(sandbox: Sandbox) -> None:
    dynamodb = client(sandbox, HUB, "dynamodb")
    first = _pattern(sandbox, dynamodb, seed=7)
    assert 0 < sum(first) < 20
    assert _pattern(sandbox, dynamodb, seed=7) == first
    assert _pattern(sandbox, dynamodb, seed=8) != first
    dynamodb.list_tables()  # cleared


REMEDIATION_ROLE = f"arn:aws:iam::{DATA}:role/driftguard-remediation"


@pytest.mark.parametrize("principal", ["driftguard-remediation", REMEDIATION_ROLE])
def test_principal_restricts_a_fault_to_one_role(sandbox: Sandbox, principal: str) -> None:
    fault = sandbox.fail("kms", "*", error="AccessDeniedException", principal=principal)
    remediation = client(sandbox, DATA, "kms", role="driftguard-remediation")
    with pytest.raises(ClientError) as excinfo:
        remediation.list_keys()
    assert error_of(excinfo) == ("AccessDeniedException", 400)
    client(sandbox, DATA, "kms").list_keys()  # Admin is not that role
    client(sandbox, WORKLOAD, "kms", role="other").create_key()
    assert fault.count == 1


def test_resource_restricts_a_fault_to_calls_naming_it(sandbox: Sandbox) -> None:
    kms = client(sandbox, DATA, "kms")
    failing, fine = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
    fault = sandbox.fail("kms", "GetKeyPolicy", error="KMSInternalException", resource=failing)
    with pytest.raises(ClientError) as excinfo:
        kms.get_key_policy(KeyId=failing, PolicyName="default")
    assert error_of(excinfo)[0] == "KMSInternalException"
    kms.get_key_policy(KeyId=fine, PolicyName="default")
    assert fault.count >= 1


def test_a_dynamodb_fault_for_a_resource_hits_the_items_keyed_by_it(sandbox: Sandbox) -> None:
    """A hot partition: calls that reach the item keyed by it, not every payload naming it."""
    dynamodb = sandbox.hub_client("dynamodb")
    table, hot = sandbox.hub.table_name, "arn:aws:kms:us-east-1:333333333333:key/hot"
    fault = sandbox.fail("dynamodb", "*", resource=hot)
    elsewhere = {"pk": {"S": "elsewhere"}, "sk": {"S": "x"}, "data": {"S": hot}}
    dynamodb.put_item(TableName=table, Item=elsewhere)
    with pytest.raises(ClientError) as excinfo:
        dynamodb.get_item(TableName=table, Key={"pk": {"S": hot}, "sk": {"S": "x"}})
    assert error_of(excinfo)[0] == "ThrottlingException"
    assert fault.count >= 1


def test_operation_patterns_and_clear_faults(sandbox: Sandbox) -> None:
    sandbox.fail("iam", "List*")
    iam = client(sandbox, WORKLOAD, "iam")
    with pytest.raises(ClientError):
        iam.list_roles()
    iam.get_role(RoleName="driftguard-remediation")
    sandbox.clear_faults()
    iam.list_roles()


def test_faults_only_for_services_whose_requests_are_parsed(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="faults apply to"):
        sandbox.fail("s3", "PutObject")
    with pytest.raises(ValueError, match="probability"):
        sandbox.fail("kms", "Decrypt", rate=2)


# --------------------------------------------------------------------------- put-time rules


def _put_key_policy(sandbox: Sandbox, text: str) -> None:
    kms = client(sandbox, HUB, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=text)


def _too_large_key_policy() -> str:
    padding = [
        allow({"AWS": f"arn:aws:iam::{HUB}:root"}, "kms:Decrypt", Sid=f"S{i}") for i in range(400)
    ]
    text = policy(admin(HUB), *padding)
    assert len(text.encode()) > 32768
    return text


NO_PRINCIPAL = policy(admin(HUB), {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
EURO_SID = policy({**admin(HUB), "Sid": "\u20ac"})
DENY_EVERYONE = policy(
    admin(HUB), {"Effect": "Deny", "Principal": "*", "Action": "kms:Put*", "Resource": "*"}
)
DENY_ROOT = policy(
    admin(HUB),
    {
        "Effect": "Deny",
        "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
        "Action": "kms:PutKeyPolicy",
        "Resource": "*",
    },
)


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        (_too_large_key_policy(), "LimitExceededException", None),
        (EURO_SID, "MalformedPolicyDocumentException", None),
        (NO_PRINCIPAL, "MalformedPolicyDocumentException", None),
        (DENY_EVERYONE, "MalformedPolicyDocumentException", LOCKOUT),
        (DENY_ROOT, "MalformedPolicyDocumentException", LOCKOUT),
    ],
    ids=["too-large", "characters", "no-principal", "deny-everyone", "deny-root"],
)
def test_strict_policies_apply_kms_rules(
    sandbox: Sandbox, text: str, code: str, message: str | None
) -> None:
    _put_key_policy(sandbox, text)  # moto's leniency while off
    sandbox.strict_policies = True
    with pytest.raises(ClientError) as excinfo:
        _put_key_policy(sandbox, text)
    assert error_of(excinfo) == (code, 400)
    assert message is None or excinfo.value.response["Error"]["Message"] == message
    with pytest.raises(ClientError) as excinfo:
        client(sandbox, HUB, "kms").create_key(Policy=text)
    assert error_of(excinfo)[0] == code
    sandbox.wait_idle()
    assert last_event(sandbox, "PutKeyPolicy")["detail"]["errorCode"] == code
    assert last_event(sandbox, "CreateKey")["detail"]["errorCode"] == code


def test_strict_policies_accept_what_kms_accepts(sandbox: Sandbox) -> None:
    sandbox.strict_policies = True
    conditional_deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:PutKeyPolicy",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    _put_key_policy(sandbox, policy({**admin(HUB), "Sid": "caf\u00e9\t"}, conditional_deny))
    client(sandbox, HUB, "kms").create_key()  # no policy: KMS's default


PUBLIC = [
    policy(allow("*", "secretsmanager:GetSecretValue")),
    policy(allow({"AWS": "*"}, "secretsmanager:GetSecretValue")),
    policy(allow({"AWS": ["*", f"arn:aws:iam::{WORKLOAD}:root"]}, "secretsmanager:*")),
]


@pytest.mark.parametrize("text", PUBLIC, ids=["star", "aws-star", "aws-list"])
def test_block_public_policy_refuses_a_policy_open_to_everyone(sandbox: Sandbox, text: str) -> None:
    secrets = client(sandbox, DATA, "secretsmanager")
    secrets.create_secret(Name="testsecret", SecretString="x")
    secrets.put_resource_policy(SecretId="testsecret", ResourcePolicy=text, BlockPublicPolicy=True)
    sandbox.strict_policies = True
    with pytest.raises(ClientError) as excinfo:
        secrets.put_resource_policy(
            SecretId="testsecret", ResourcePolicy=text, BlockPublicPolicy=True
        )
    assert error_of(excinfo) == ("PublicPolicyException", 400)
    assert excinfo.value.response["Error"]["Message"] == (
        "The BlockPublicPolicy parameter is set to true, and the resource policy did not "
        "prevent broad access to the secret."
    )
    secrets.put_resource_policy(SecretId="testsecret", ResourcePolicy=text)  # not blocked
    sandbox.wait_idle()
    failed = [e for e in sandbox.events if e["detail"].get("errorCode")]
    assert [e["detail"]["errorCode"] for e in failed] == ["PublicPolicyException"]


def test_strict_policies_apply_secrets_manager_rules(sandbox: Sandbox) -> None:
    secrets = client(sandbox, DATA, "secretsmanager")
    secrets.create_secret(Name="testsecret", SecretString="x")
    sandbox.strict_policies = True
    conditional = policy(
        allow(
            {"AWS": "*"},
            "secretsmanager:GetSecretValue",
            Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}},
        )
    )
    secrets.put_resource_policy(
        SecretId="testsecret", ResourcePolicy=conditional, BlockPublicPolicy=True
    )
    long_sid = policy({**allow({"AWS": f"arn:aws:iam::{WORKLOAD}:root"}), "Sid": "S" * 20480})
    with pytest.raises(ClientError) as excinfo:
        secrets.put_resource_policy(SecretId="testsecret", ResourcePolicy=long_sid)
    assert error_of(excinfo) == ("ValidationException", 400)
    assert "Member must have length less than or equal to 20480" in str(excinfo.value)


# --------------------------------------------------------------------------- reset


def test_reset_switches_every_knob_off(sandbox: Sandbox) -> None:
    sandbox.time.scale = SCALE
    sandbox.getrole_delay = sandbox.rewrite_delay = sandbox.stale_reads = 100
    sandbox.strict_policies = True
    sandbox.fail("iam", "*")
    sandbox.fail("sts", "*")

    sandbox.reset()

    assert sandbox.time.scale == 1.0
    assert (sandbox.getrole_delay, sandbox.rewrite_delay, sandbox.stale_reads) == (0, 0, 0)
    assert sandbox.strict_policies is False
    iam = client(sandbox, WORKLOAD, "iam")
    iam.create_role(RoleName="pod-role", AssumeRolePolicyDocument=SERVICE_TRUST)
    assert iam.get_role(RoleName="pod-role")
    _put_key_policy(sandbox, NO_PRINCIPAL)
