"""template.yaml through SAM's own translator (what `sam validate` checks), offline,
and the least privilege of what it generates."""

from __future__ import annotations

import json
import subprocess
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from driftguard.path_store import PATH_PK
from driftguard_sandbox.template import operator_parameters

# The slow tier: an external tool (SAM CLI, checkov) or a browser.
pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
TOOLS_PYTHON = ROOT / ".venv-sam" / "bin" / "python"  # SAM CLI's venv (`make tools`)
REMEDIATING = (
    "IamEventsFunction",
    "PolicyEventsFunction",
    "SweepWorkerFunction",
    "RecheckFunction",
    "PathEventsFunction",
)
# The queue each queue-fed remediating function polls.
POLLS = {"RecheckFunction": "RecheckQueue", "SweepWorkerFunction": "SweepQueue"}
# SAM's SQSPollerPolicy: what Lambda's event source mapping calls on the re-check queue.
POLLER_ACTIONS = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility",
    "sqs:ChangeMessageVisibilityBatch",
    "sqs:GetQueueAttributes",
}
TABLE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:Query",
}
BASIC_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


# Session scope: built once per worker even when xdist interleaves other modules.
@pytest.fixture(scope="session")
def resources() -> dict[str, Any]:
    assert TOOLS_PYTHON.exists(), "run `make tools` (part of `make test`)"
    done = subprocess.run(
        [
            str(TOOLS_PYTHON),
            str(Path(__file__).with_name("sam_transform.py")),
            str(ROOT / "template.yaml"),
            json.dumps(operator_parameters("333333333333", "us-east-1")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    resources: dict[str, Any] = json.loads(done.stdout)["Resources"]
    return resources


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def actions(role: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in statements(role):
        value = statement["Action"]
        found |= set(value if isinstance(value, list) else [value])
    return found


def test_functions_are_arm64_python313_traced_with_the_layer_and_a_dlq(
    resources: dict[str, Any],
) -> None:
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
    assert set(functions) == {
        *REMEDIATING,
        "ReconcilerFunction",
        "NotifierFunction",
        "DeclarationWatchFunction",
    }
    for logical_id, function in functions.items():
        props = function["Properties"]
        assert props["Runtime"] == "python3.13", logical_id
        assert props["Architectures"] == ["arm64"], logical_id
        assert props["TracingConfig"] == {"Mode": "Active"}, logical_id
        assert len(props["Layers"]) == 1, logical_id
        assert "TargetArn" in props["DeadLetterConfig"], logical_id


def test_remediating_functions_get_exactly_what_they_call(resources: dict[str, Any]) -> None:
    for logical_id in REMEDIATING:
        role = resources[f"{logical_id}Role"]
        assert set(role["Properties"]["ManagedPolicyArns"]) == BASIC_MANAGED
        polls = POLLER_ACTIONS if logical_id in POLLS else set()
        # The sweep worker reads its shard's state in batches.
        batched = {"dynamodb:BatchGetItem"} if logical_id == "SweepWorkerFunction" else set()
        # Only Powertools' idempotency deletes (IAM events: a fan-out has no one lease;
        # path events: a path's verdict is one item, written whole).
        once = logical_id in ("IamEventsFunction", "PathEventsFunction")
        deletes = {"dynamodb:DeleteItem"} if once else set()
        batches = set() if logical_id == "PathEventsFunction" else {"dynamodb:BatchWriteItem"}
        table = (TABLE_ACTIONS - {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}) | deletes
        table |= batches
        assert actions(role) == table | polls | batched | {
            "kms:VerifyMac",  # declarations: verified, never signed
            "sns:Publish",
            "sqs:SendMessage",
            "sts:AssumeRole",
        }
        for statement in statements(role):
            if "sts:AssumeRole" in str(statement["Action"]):
                resource = json.dumps(statement["Resource"])
                assert ":role/${RemediationRoleName}" in resource or (
                    ":role/driftguard-remediation" in resource
                ), resource


def test_queue_actions_are_on_the_recheck_queue_or_the_dead_letter_queue(
    resources: dict[str, Any],
) -> None:
    for logical_id in REMEDIATING:
        for statement in statements(resources[f"{logical_id}Role"]):
            if not str(statement["Action"]).startswith(("sqs:", "['sqs:")):
                continue
            queue = json.dumps(statement["Resource"])
            if "sqs:ReceiveMessage" in statement["Action"]:
                assert POLLS[logical_id] in queue, logical_id
            else:
                assert "RecheckQueue" in queue or "EventsDeadLetterQueue" in queue, logical_id


def test_the_sweep_planner_reads_index_keys_and_path_names_and_queues_shards_only(
    resources: dict[str, Any],
) -> None:
    role = resources["ReconcilerFunctionRole"]
    assert set(role["Properties"]["ManagedPolicyArns"]) == BASIC_MANAGED
    granted = {
        json.dumps([statement["Action"], statement["Resource"], statement.get("Condition")])
        for statement in statements(role)
        if statement["Action"] != "sqs:SendMessage"
        or "EventsDeadLetterQueue" not in json.dumps(statement["Resource"])  # the DLQ grant
    }
    # The paths' partition only (driftguard.path_store): no declaration, status or audit.
    paths_only = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [PATH_PK]}}
    assert granted == {
        json.dumps(["dynamodb:Scan", {"Fn::Sub": "${StateTable.Arn}/index/ByAccount"}, None]),
        json.dumps(["dynamodb:Query", {"Fn::GetAtt": ["StateTable", "Arn"]}, paths_only]),
        json.dumps(["sqs:SendMessage", {"Fn::GetAtt": ["SweepQueue", "Arn"]}, None]),
    }


def test_the_sweep_queue_feeds_one_shard_per_worker_at_bounded_concurrency(
    resources: dict[str, Any],
) -> None:
    props = mappings(resources)["SweepWorkerFunction"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["SweepQueue", "Arn"]}
    assert props["BatchSize"] == 1
    assert props["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "SweepConcurrency"}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    worker = resources["SweepWorkerFunction"]["Properties"]
    queue = resources["SweepQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]  # Lambda's advice


def mappings(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Event source mappings by the function they feed."""
    return {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    }


def test_the_recheck_queue_feeds_the_recheck_function_reporting_each_failure(
    resources: dict[str, Any],
) -> None:
    props = mappings(resources)["RecheckFunction"]
    assert props["FunctionName"] == {"Ref": "RecheckFunction"}
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["RecheckQueue", "Arn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_table_stream_feeds_the_watcher_only_declarations(resources: dict[str, Any]) -> None:
    assert set(mappings(resources)) == {
        "RecheckFunction",
        "DeclarationWatchFunction",
        "SweepWorkerFunction",
    }
    props = mappings(resources)["DeclarationWatchFunction"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["StateTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]
    }
    resources_, paths = (json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"])
    assert resources_ == {"dynamodb": {"Keys": {"sk": {"S": ["DECLARED"]}}}}
    declared_paths = {"pk": {"S": [PATH_PK]}, "sk": {"S": [{"prefix": "DECLARED#"}]}}
    assert paths == {"dynamodb": {"Keys": declared_paths}}
    table = resources["StateTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_the_watcher_reads_the_stream_verifies_alerts_and_schedules_a_check(
    resources: dict[str, Any],
) -> None:
    role = resources["DeclarationWatchFunctionRole"]
    assert set(role["Properties"]["ManagedPolicyArns"]) == BASIC_MANAGED
    stream = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
    assert actions(role) == stream | {
        "dynamodb:ListStreams",
        "kms:VerifyMac",
        "sns:Publish",
        "sqs:SendMessage",
    }
    for statement in statements(role):
        if statement["Action"] == "sqs:SendMessage":
            queue = json.dumps(statement["Resource"])
            assert "RecheckQueue" in queue or "EventsDeadLetterQueue" in queue


def test_only_the_declarer_may_sign_and_no_role_is_granted_signing(
    resources: dict[str, Any],
) -> None:
    key = resources["DeclarationSigningKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    declarer = {"Fn::GetAtt": ["DeclarerRole", "Arn"]}
    by_sid = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    assert by_sid["AdministeredThroughIamNeverSigning"]["NotAction"] == "kms:GenerateMac"
    assert by_sid["OnlyTheDeclarerSigns"]["Principal"] == {"AWS": declarer}
    deny = by_sid["NobodyElseSigns"]
    assert (deny["Effect"], deny["Action"], deny["Principal"]) == (
        "Deny",
        "kms:GenerateMac",
        {"AWS": "*"},
    )
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": declarer}}
    allowing = [
        s for s in key["KeyPolicy"]["Statement"] if s["Effect"] == "Allow" and "Action" in s
    ]
    signers = [s["Principal"] for s in allowing if "kms:GenerateMac" in json.dumps(s["Action"])]
    assert signers == [{"AWS": declarer}]
    for logical_id, role in resources.items():
        if role["Type"] == "AWS::IAM::Role":
            assert not any(fnmatchcase("kms:GenerateMac", a) for a in actions(role)), logical_id


def test_the_functions_verify_with_the_key_itself_never_an_alias(
    resources: dict[str, Any],
) -> None:
    for logical_id, function in resources.items():
        if function["Type"] != "AWS::Lambda::Function":
            continue
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["SIGNING_KEY_ID"] == {"Fn::GetAtt": ["DeclarationSigningKey", "Arn"]}, (
            logical_id
        )


def test_table_actions_are_on_the_table_and_its_indexes_only(resources: dict[str, Any]) -> None:
    for logical_id in REMEDIATING:
        for statement in statements(resources[f"{logical_id}Role"]):
            if "dynamodb:Query" in statement["Action"]:
                # The path watch reads the PATH partition of the table, no index.
                tables = 1 if logical_id == "PathEventsFunction" else 2
                assert json.dumps(statement["Resource"]).count("StateTable") == tables


def test_notifier_only_reads_the_webhook_secret(resources: dict[str, Any]) -> None:
    role = resources["NotifierFunctionRole"]
    assert actions(role) == {"secretsmanager:GetSecretValue", "sqs:SendMessage"}
    (secret,) = [s for s in statements(role) if s["Action"] == "secretsmanager:GetSecretValue"]
    assert secret["Resource"] == {"Ref": "SlackWebhookSecretArn"}


def test_no_statement_allows_every_action(resources: dict[str, Any]) -> None:
    roles = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        for action in actions(role):
            assert not fnmatchcase("iam:PassRole", action), action
            assert action != "*" and not action.endswith(":*"), action
