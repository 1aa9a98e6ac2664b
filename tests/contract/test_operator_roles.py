"""The two roles people use (issue 9, README "Threat model"): the declarer may write the
declared state (and read live policies through the remediation role, as adopt and plan
do) and nothing else; the reader may only read it. Both may read their stack's outputs
(`driftguard --stack`). Neither may touch the functions, their code, their roles or
the stack."""

from __future__ import annotations

from typing import Any

import pytest

from driftguard_sandbox.template import Template

READ = ("dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan")
# The declarer signs and verifies through the key policy alone (no IAM statement can
# grant signing); the reader verifies, as `drift` and `scan` do, through its own policy.
VERIFY = "kms:VerifyMac"
SIGNING_KEY = {"Fn::GetAtt": ["DeclarationSigningKey", "Arn"]}
# `driftguard --stack`: the stack's own outputs, nothing else of CloudFormation.
STACK_SETTINGS = "cloudformation:DescribeStacks"
THIS_STACK = {"Ref": "AWS::StackId"}
# The declarer reads live policies (adopt, declare, plan) through the remediation role.
ASSUME = "sts:AssumeRole"
REMEDIATION_ROLES = {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${RemediationRoleName}"}
ALLOWED: dict[str, set[str]] = {
    "ReaderRole": {*READ, VERIFY, STACK_SETTINGS},
    "DeclarerRole": {
        STACK_SETTINGS,
        ASSUME,
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",  # apply --prune; links a new version no longer names
    },
}
TABLE = {"Fn::GetAtt": ["StateTable", "Arn"]}
INDEXES = {"Fn::Sub": "${StateTable.Arn}/index/*"}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_an_operator_role_may_do_exactly_its_job(template: Template, name: str) -> None:
    role = template["Resources"][name]
    granted = statements(role)
    assert {s["Effect"] for s in granted} == {"Allow"}
    actions = {a for s in granted for a in as_list(s["Action"])}
    assert actions == ALLOWED[name]
    if name == "ReaderRole":  # reads, never writes
        assert all(
            a.split(":")[1].startswith(("Get", "Query", "Scan", "Describe", "Verify"))
            for a in actions
        )
    for statement in granted:
        action = statement["Action"]
        wanted = {
            VERIFY: [SIGNING_KEY],
            STACK_SETTINGS: [THIS_STACK],
            ASSUME: [REMEDIATION_ROLES],
        }.get(action if isinstance(action, str) else "", [TABLE, INDEXES])
        assert as_list(statement["Resource"]) == wanted
    properties = role["Properties"]
    assert not properties.get("ManagedPolicyArns") and "PermissionsBoundary" not in properties


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_an_operator_role_is_assumed_from_this_account_only(template: Template, name: str) -> None:
    (trust,) = template["Resources"][name]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    assert template["Outputs"][f"{name}Arn"]["Value"] == {"Fn::GetAtt": [name, "Arn"]}
