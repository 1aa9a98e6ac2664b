"""Every alarm reaches someone: CloudWatch can publish to each topic its actions name.

CloudWatch alarms cannot publish to an SNS topic encrypted with an AWS-managed key
(`alias/aws/sns`): that key's policy does not let cloudwatch.amazonaws.com use it and
cannot be changed, so the action fails and only the alarm's history says so. A topic
an alarm publishes to is unencrypted or under a key of this template whose policy
grants cloudwatch.amazonaws.com `kms:Decrypt` and `kms:GenerateDataKey`, for this
account's alarms only.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from driftguard.policy import Policy, Principal, Statement, action_matches
from driftguard_sandbox.template import ResolveContext, Template, resolve

ALARM = "AWS::CloudWatch::Alarm"
ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
CLOUDWATCH = Principal("Service", "cloudwatch.amazonaws.com")
EVERYONE = Principal("AWS", "*")
# What SNS asks KMS for on the publisher's behalf (aws/sns grants them to no service).
PUBLISH_NEEDS = ("kms:Decrypt", "kms:GenerateDataKey")
AWS_MANAGED = re.compile(r"^(arn:[^:]+:kms:[^:]*:[^:]*:)?alias/aws/")


def resources_of(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == kind
    }


def alarm_topics(template: Template) -> list[tuple[str, str]]:
    """(alarm, topic) for every alarm action that is an SNS topic of this template."""
    topics = resources_of(template, "AWS::SNS::Topic")
    return [
        (alarm_id, action["Ref"])
        for alarm_id, alarm in resources_of(template, ALARM).items()
        for name in ACTIONS
        for action in (alarm.get("Properties") or {}).get(name, [])
        if isinstance(action, dict) and action.get("Ref") in topics
    ]


def referenced(value: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` names (None for anything else)."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        if isinstance(value.get("Fn::GetAtt"), list):
            return str(value["Fn::GetAtt"][0])
    return None


def topic_key(template: Template, topic_id: str) -> str | None:
    """The logical id of the topic's KMS key (None: unencrypted). ValueError when the
    key is AWS-managed, or not a key of this template (its policy cannot be checked)."""
    resources = template["Resources"]
    key = (resources[topic_id].get("Properties") or {}).get("KmsMasterKeyId")
    if key is None:
        return None
    if isinstance(key, str) and AWS_MANAGED.match(key):
        raise ValueError(f"{topic_id} is under the AWS-managed {key}: CloudWatch cannot use it")
    target = referenced(key)
    if target in resources and resources[target]["Type"] == "AWS::KMS::Alias":
        target = referenced(resources[target]["Properties"]["TargetKeyId"])
    if target not in resources or resources[target]["Type"] != "AWS::KMS::Key":
        raise ValueError(f"{topic_id}'s key {key} is not in the template: cannot be checked")
    return target


def key_statements(template: Template, key_id: str, context: ResolveContext) -> list[Statement]:
    document = resolve(template["Resources"][key_id]["Properties"]["KeyPolicy"], context)
    return list(Policy.parse(document).normalized().statements)


def cloudwatch_grants(statements: list[Statement], action: str) -> list[Statement]:
    """The statements that let CloudWatch call `action` (none when one denies it)."""
    about = [
        s
        for s in statements
        if {CLOUDWATCH, EVERYONE} & (s.principals or frozenset())
        and any(action_matches(pattern, action) for pattern in s.actions or ())
    ]
    if any(s.effect == "Deny" for s in about):
        return []
    return about


def alarm_keys(template: Template) -> set[str]:
    """The keys of this template that encrypt a topic some alarm publishes to."""
    keys = set()
    for _, topic_id in alarm_topics(template):
        try:
            key_id = topic_key(template, topic_id)
        except ValueError:
            continue
        if key_id:
            keys.add(key_id)
    return keys


def problems(template: Template, context: ResolveContext) -> list[str]:
    """Why some alarm's notification would not be published (empty: none)."""
    found: list[str] = []
    for alarm_id, topic_id in alarm_topics(template):
        try:
            key_id = topic_key(template, topic_id)
        except ValueError as exc:
            found.append(f"{alarm_id}: {exc}")
            continue
        if key_id is None:
            continue
        statements = key_statements(template, key_id, context)
        found += [
            f"{alarm_id}: {topic_id}'s key {key_id} does not let CloudWatch call {action}"
            for action in PUBLISH_NEEDS
            if not cloudwatch_grants(statements, action)
        ]
    return found


def confined_to(statement: Statement, account: str) -> bool:
    """True when the statement applies only on behalf of `account`'s own resources."""
    return any(
        (name == "aws:sourceaccount" and operator == "StringEquals" and values == (account,))
        or (
            name == "aws:sourcearn"
            and operator in ("ArnEquals", "ArnLike")
            and all(v.split(":")[4:6] == [account, "alarm"] for v in values)
        )
        for operator, name, values in statement.conditions
    )


# --------------------------------------------------------------------------- the template


def test_every_alarm_notifies_a_topic_of_the_template(template: Template) -> None:
    alarms = resources_of(template, ALARM)
    assert alarms
    notified = {alarm_id for alarm_id, _ in alarm_topics(template)}
    assert notified == set(alarms), f"alarms that notify nobody: {set(alarms) - notified}"


def test_cloudwatch_can_publish_every_alarm(template: Template, context: ResolveContext) -> None:
    assert problems(template, context) == []


def test_cloudwatch_uses_the_keys_for_this_accounts_alarms_only(
    template: Template, context: ResolveContext
) -> None:
    """aws:SourceAccount (or aws:SourceArn) keeps other accounts' alarms off the key."""
    keys = alarm_keys(template)
    assert keys
    for key_id in sorted(keys):
        statements = key_statements(template, key_id, context)
        for action in PUBLISH_NEEDS:
            for statement in cloudwatch_grants(statements, action):
                assert confined_to(statement, context.account_id), (key_id, statement)


# --------------------------------------------------------------------------- the check itself


def with_topic_key(template: Template, key: Any) -> Template:
    """The template with every topic an alarm publishes to encrypted under `key`."""
    changed = copy.deepcopy(template)
    for _, topic_id in alarm_topics(changed):
        changed["Resources"][topic_id]["Properties"]["KmsMasterKeyId"] = key
    return changed


@pytest.mark.parametrize(
    "key",
    ["alias/aws/sns", "arn:aws:kms:us-east-1:333333333333:alias/aws/sns"],
)
def test_an_aws_managed_key_is_caught(
    template: Template, context: ResolveContext, key: str
) -> None:
    found = problems(with_topic_key(template, key), context)
    assert found and all("AWS-managed" in problem for problem in found)


def test_a_key_without_the_cloudwatch_grant_is_caught(
    template: Template, context: ResolveContext
) -> None:
    changed = copy.deepcopy(template)
    (key_id,) = alarm_keys(changed)
    policy = changed["Resources"][key_id]["Properties"]["KeyPolicy"]
    policy["Statement"] = [s for s in policy["Statement"] if "Service" not in s["Principal"]]
    found = problems(changed, context)
    assert found and all("does not let CloudWatch" in problem for problem in found)


def test_a_key_from_outside_the_template_is_caught(
    template: Template, context: ResolveContext
) -> None:
    found = problems(with_topic_key(template, "alias/someone-elses-key"), context)
    assert found and all("cannot be checked" in problem for problem in found)
