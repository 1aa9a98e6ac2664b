"""The sandbox reads template.yaml like CloudFormation/SAM would (no AWS needed)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from driftguard_sandbox.sandbox import find_template
from driftguard_sandbox.template import (
    ResolveContext,
    TemplateError,
    function_specs,
    globals_environment,
    load_template,
    operator_parameters,
    resolve,
)

SMALL = textwrap.dedent(
    """
    Parameters:
      Env: {Type: String, Default: dev}
      Ids: {Type: CommaDelimitedList, Default: "a,b"}
    Conditions:
      IsProd: !Equals [!Ref Env, prod]
      NotProd: !Not [!Condition IsProd]
    Mappings:
      Sizes: {dev: {memory: 128}, prod: {memory: 1024}}
    Globals:
      Function:
        MemorySize: !FindInMap [Sizes, !Ref Env, memory]
        Environment:
          Variables:
            QUEUE: !GetAtt Queue.QueueName
            DEBUG: !If [IsProd, false, true]
    Resources:
      Queue: {Type: AWS::SQS::Queue}
      Bus: {Type: AWS::Events::EventBus, Properties: {Name: my-bus}}
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: fn/
          Handler: app.handler
          Environment:
            Variables:
              ARN: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Env}-${!Literal}"
              FIRST: !Select [0, !Ref Ids]
              JOINED: !Join ["|", !Split [",", "x,y"]]
              OPTIONAL: !If [IsProd, set, !Ref AWS::NoValue]
          Events:
            OnBus:
              Type: EventBridgeRule
              Properties:
                EventBusName: !Ref Bus
                Pattern: {source: [!Sub "custom.${Env}"]}
            OnDefault:
              Type: CloudWatchEvent
              Properties:
                Pattern: {source: [aws.iam]}
                DeadLetterConfig: {Arn: !GetAtt Queue.Arn}
            Tick:
              Type: ScheduleV2
              Properties: {ScheduleExpression: rate(5 minutes)}
            Alerts:
              Type: SNS
              Properties: {Topic: !Ref Queue}
    """
)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(SMALL)
    return path


def test_short_tags_become_long_form(small: Path) -> None:
    template = load_template(small)
    fn = template["Resources"]["Fn"]["Properties"]
    assert fn["Environment"]["Variables"]["FIRST"] == {"Fn::Select": [0, {"Ref": "Ids"}]}
    assert template["Globals"]["Function"]["Environment"]["Variables"]["QUEUE"] == {
        "Fn::GetAtt": ["Queue", "QueueName"]
    }
    assert template["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert template.path == small.resolve()


def test_function_specs_resolve_everything(small: Path) -> None:
    template = load_template(small)
    context = ResolveContext.for_template(template, account_id="111111111111", region="eu-west-1")
    (spec,) = function_specs(template, context)
    assert spec.code_uri == small.parent / "fn"
    assert spec.handler_file == small.parent / "fn" / "app.py"
    assert spec.memory_size == 128
    assert spec.environment == {
        "QUEUE": "driftguard-Queue",
        "DEBUG": "true",
        "ARN": "arn:aws:iam::111111111111:role/dev-${Literal}",
        "FIRST": "a",
        "JOINED": "x|y",
    }
    on_bus, on_default = spec.event_rules
    assert (on_bus.name, on_bus.bus, on_bus.pattern) == ("OnBus", "hub", {"source": ["custom.dev"]})
    assert (on_default.bus, on_default.dead_letter_arn) == (
        "default",
        "arn:aws:sqs:eu-west-1:111111111111:driftguard-Queue",
    )
    assert spec.schedules == ["rate(5 minutes)"] and spec.sns_topics == ["Queue"]


def test_parameters_and_conditions(small: Path) -> None:
    template = load_template(small)
    context = ResolveContext.for_template(
        template, account_id="111111111111", region="us-east-1", parameters={"Env": "prod"}
    )
    assert globals_environment(template, context) == {"QUEUE": "driftguard-Queue", "DEBUG": "false"}
    (spec,) = function_specs(template, context)
    assert spec.memory_size == 1024 and spec.environment["OPTIONAL"] == "set"
    with pytest.raises(TemplateError):
        ResolveContext.for_template(template, account_id="1", region="r", parameters={"Nope": 1})
    with pytest.raises(TemplateError):
        resolve({"Ref": "Missing"}, context)


def test_the_real_template_routes_remediation_out() -> None:
    template = load_template(find_template())
    context = ResolveContext.for_template(
        template,
        account_id="333333333333",
        region="us-east-1",
        parameters=operator_parameters("333333333333", "us-east-1"),
    )
    specs = {spec.logical_id: spec for spec in function_specs(template, context)}
    policy_rules = {rule.name: rule for rule in specs["PolicyEventsFunction"].event_rules}
    assert policy_rules["HubBusPolicyCalls"].bus == "hub"
    assert policy_rules["HubAccountPolicyCalls"].bus == "default"
    exclusions = policy_rules["HubBusPolicyCalls"].pattern["detail"]["$or"]
    wildcard = exclusions[1]["userIdentity"]["arn"][0]
    own = "arn:aws:sts::*:assumed-role/driftguard-remediation/driftguard"
    assert wildcard == {"anything-but": {"wildcard": own}}
    assert specs["ReconcilerFunction"].schedules
    assert globals_environment(template, context)["TABLE_NAME"] == "driftguard-StateTable"
