"""driftguard's own name hid changes to what it stands on: a policy attached to its
remediation role, its forwarding rules disabled or deleted, the trail stopped, all went
unseen (and a change made under its session name was taken as its own). Each is now one
critical alert naming what changed and who changed it. And a declared principal's new
trust policy (UpdateAssumeRolePolicy), which the hub dropped, is compared with the
approved identity and alerted when it differs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from driftguard.alerts import Alert
from driftguard.arns import role_key
from driftguard.events import parse_cloudtrail
from driftguard.model import TrustRecord
from driftguard.runtime import Runtime
from driftguard.safeguards import changed_safeguard
from driftguard.signing import KmsSignatures
from driftguard.vocabulary import AlertType, Severity
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, AlertTail, Story, irsa_trust_policy

EVENTS = Path(__file__).resolve().parents[2] / "events"
IAM_FUNCTION = "IamEventsFunction"
WORKLOAD = "111111111111"
REMEDIATION_ROLE = "driftguard-remediation"
REMEDIATION_ROLE_ARN = f"arn:aws:iam::{WORKLOAD}:role/{REMEDIATION_ROLE}"
FORWARDING_RULE = "driftguard-policy-events"  # as spoke-template.yaml names it
REGION = "eu-west-1"  # forwarding rules and trails are regional
MALLORY = f"arn:aws:sts::{WORKLOAD}:assumed-role/Developer/mallory"
OUTSIDER = "arn:aws:iam::444455556666:root"


def mallory(sandbox: Sandbox, service: str) -> Any:
    """A developer of the workload account who got more permissions than they should."""
    return sandbox.session(WORKLOAD, "Developer", "mallory").client(service, region_name=REGION)


def as_the_spoke(sandbox: Sandbox, service: str) -> Any:
    """What the StackSet deploys with (its calls make no event here: setup)."""
    session = sandbox.session(WORKLOAD, "AWSCloudFormationStackSetExecutionRole", "stackset")
    return session.client(service, region_name=REGION)


def only_alert(sandbox: Sandbox, alerts: AlertTail) -> Alert:
    sandbox.wait_idle()
    (alert,) = alerts.read()
    return alert


def assume_role_policy(principal: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# --------------------------------------------------------------------------- (a) the role


def attach_a_policy(sandbox: Sandbox) -> None:
    with sandbox.events_paused():
        policy = mallory(sandbox, "iam").create_policy(
            PolicyName="everything",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        )["Policy"]["Arn"]
    mallory(sandbox, "iam").attach_role_policy(RoleName=REMEDIATION_ROLE, PolicyArn=policy)


def put_an_inline_policy(sandbox: Sandbox) -> None:
    mallory(sandbox, "iam").put_role_policy(
        RoleName=REMEDIATION_ROLE,
        PolicyName="also",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}],
            }
        ),
    )


def trust_an_outsider(sandbox: Sandbox) -> None:
    mallory(sandbox, "iam").update_assume_role_policy(
        RoleName=REMEDIATION_ROLE, PolicyDocument=assume_role_policy(OUTSIDER)
    )


@pytest.mark.parametrize(
    ("change", "call"),
    [
        (attach_a_policy, "AttachRolePolicy"),
        (put_an_inline_policy, "PutRolePolicy"),
        (trust_an_outsider, "UpdateAssumeRolePolicy"),
    ],
    ids=["attach", "inline", "trust"],
)
def test_a_change_to_the_remediation_role_is_one_critical_alert(
    sandbox: Sandbox, alerts: AlertTail, change: Callable[[Sandbox], None], call: str
) -> None:
    change(sandbox)
    alert = only_alert(sandbox, alerts)
    assert (alert.type, alert.severity) == (AlertType.SAFEGUARD_CHANGED, Severity.CRITICAL)
    assert (alert.actor, alert.event_name) == (MALLORY, call)
    (resource,) = alert.resources
    assert resource.arn == REMEDIATION_ROLE_ARN == alert.role_arn
    assert REMEDIATION_ROLE_ARN in alert.title


def test_a_change_to_the_remediation_role_through_its_own_session_is_not_taken_as_driftguards(
    sandbox: Sandbox, alerts: AlertTail
) -> None:
    """driftguard never calls IAM: a record of its session name doing so is someone else
    (or the role was given more than the spoke grants)."""
    as_driftguard = sandbox.session(WORKLOAD, REMEDIATION_ROLE, "driftguard").client("iam")
    as_driftguard.put_role_policy(
        RoleName=REMEDIATION_ROLE,
        PolicyName="more",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
            }
        ),
    )
    alert = only_alert(sandbox, alerts)
    assert alert.type is AlertType.SAFEGUARD_CHANGED
    assert alert.actor == (f"arn:aws:sts::{WORKLOAD}:assumed-role/{REMEDIATION_ROLE}/driftguard")


# --------------------------------------------------------------------------- (b) the rules


@pytest.mark.parametrize(
    ("call", "change"),
    [
        ("DisableRule", lambda events: events.disable_rule(Name=FORWARDING_RULE)),
        (
            "RemoveTargets",
            lambda events: events.remove_targets(Rule=FORWARDING_RULE, Ids=["driftguard-hub"]),
        ),
        (
            "DeleteRule",
            lambda events: (
                events.remove_targets(Rule=FORWARDING_RULE, Ids=["driftguard-hub"]),
                events.delete_rule(Name=FORWARDING_RULE),
            ),
        ),
    ],
    ids=["disable", "remove-target", "delete"],
)
def test_a_forwarding_rule_disabled_or_deleted_is_alerted(
    sandbox: Sandbox, alerts: AlertTail, call: str, change: Callable[[Any], Any]
) -> None:
    with sandbox.events_paused():
        spoke = as_the_spoke(sandbox, "events")
        spoke.put_rule(
            Name=FORWARDING_RULE,
            EventPattern=json.dumps({"source": ["aws.kms", "aws.secretsmanager"]}),
            State="ENABLED",
        )
        spoke.put_targets(
            Rule=FORWARDING_RULE,
            Targets=[
                {
                    "Id": "driftguard-hub",
                    "Arn": f"arn:aws:events:us-east-1:{sandbox.hub_account}:event-bus/"
                    f"{sandbox.hub.bus_name}",
                }
            ],
        )
    change(mallory(sandbox, "events"))
    sandbox.wait_idle()
    sent = alerts.read()
    assert [a.type for a in sent] == [AlertType.SAFEGUARD_CHANGED] * len(sent) and sent
    alert = next(a for a in sent if a.event_name == call)
    assert alert.severity is Severity.CRITICAL and alert.actor == MALLORY
    (resource,) = alert.resources
    assert resource.arn == f"arn:aws:events:{REGION}:{WORKLOAD}:rule/{FORWARDING_RULE}"
    assert "driftguard" in resource.reason


def test_another_rule_is_none_of_driftguards_business(sandbox: Sandbox, alerts: AlertTail) -> None:
    events = mallory(sandbox, "events")
    events.put_rule(Name="nightly-report", ScheduleExpression="rate(1 day)")
    events.disable_rule(Name="nightly-report")
    sandbox.wait_idle()
    assert alerts.read() == []


# --------------------------------------------------------------------------- (c) the trail


def test_a_trail_stopped_is_alerted(sandbox: Sandbox, alerts: AlertTail) -> None:
    with sandbox.events_paused():
        as_the_spoke(sandbox, "s3").create_bucket(
            Bucket="workload-trail-logs",
            CreateBucketConfiguration={"LocationConstraint": REGION},
        )
        trail = as_the_spoke(sandbox, "cloudtrail").create_trail(
            Name="workload-trail", S3BucketName="workload-trail-logs", IsMultiRegionTrail=True
        )["TrailARN"]
        as_the_spoke(sandbox, "cloudtrail").start_logging(Name=trail)

    mallory(sandbox, "cloudtrail").stop_logging(Name=trail)

    alert = only_alert(sandbox, alerts)
    assert (alert.type, alert.severity) == (AlertType.SAFEGUARD_CHANGED, Severity.CRITICAL)
    assert (alert.actor, alert.event_name) == (MALLORY, "StopLogging")
    (resource,) = alert.resources
    assert resource.arn == trail and "stopped recording" in resource.reason


# --------------------------------------------------------------------------- (d) the trust


def approve(sandbox: Sandbox, role_arn: str) -> None:
    """The role as it is now, recorded as the approved identity (signed), as the CLI
    records it (driftguard_cli.identities) when the team declares or approves it."""
    runtime = Runtime.from_env(environ=sandbox.specs["IamEventsFunction"].environment)
    role = runtime.remediator.lookup().role(role_arn)
    assert role is not None, f"{role_arn} does not exist"
    signatures = KmsSignatures(partial(runtime.clients.hub, "kms"), runtime.config.signing_key_id)
    record = TrustRecord(
        principal_arn=role_key(role_arn),
        unique_id=role.unique_id,
        policy=role.trust,
        recorded_by="arn:aws:sts::333333333333:assumed-role/DeclarerRole/security",
        recorded_at=datetime.now(UTC),
    )
    runtime.store.put_trust(signatures.sign(record))


def test_a_declared_principals_new_trust_policy_is_alerted_once_and_the_approved_one_not(
    sandbox: Sandbox, story: Story, alerts: AlertTail
) -> None:
    approve(sandbox, POD_ROLE_ARN)
    another = irsa_trust_policy()
    condition = another["Statement"][0]["Condition"]["StringEquals"]
    sub = next(key for key in condition if key.endswith(":sub"))
    condition[sub] = "system:serviceaccount:other-namespace:other-app"

    story.iam.update_assume_role_policy(RoleName="pod-role", PolicyDocument=json.dumps(another))

    alert = only_alert(sandbox, alerts)
    assert alert.type is AlertType.PRINCIPAL_TRUST_CHANGED
    # Another service account may now assume it: access wider than declared.
    assert alert.severity is Severity.CRITICAL
    assert alert.role_arn == POD_ROLE_ARN and alert.actor is not None
    assert "platform-admin" in alert.actor
    role, *named = alert.resources
    assert role.arn == POD_ROLE_ARN
    assert any("other-namespace:other-app" in line for line in role.diff["summary"])
    assert sorted(r.arn for r in named) == sorted([story.key_arn, story.secret_arn])
    assert f"driftguard approve-principal {POD_ROLE_ARN}" in alert.next_steps

    story.iam.update_assume_role_policy(
        RoleName="pod-role", PolicyDocument=json.dumps(irsa_trust_policy())
    )
    sandbox.wait_idle()
    assert alerts.read() == []  # back to the approved identity: nothing to say


# --------------------------------------------------------------------------- events/


def sample(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


SAFEGUARD_SAMPLES = [
    path
    for path in sorted((EVENTS / IAM_FUNCTION).glob("*.json"))
    if changed_safeguard(parse_cloudtrail(sample(path)), REMEDIATION_ROLE) is not None
]


@pytest.mark.parametrize("path", SAFEGUARD_SAMPLES, ids=lambda path: path.name)
def test_each_sample_safeguard_change_is_one_critical_alert(
    sandbox: Sandbox, alerts: AlertTail, path: Path
) -> None:
    event = sample(path)
    result = sandbox.invoke(IAM_FUNCTION, event)
    assert result["status"] == "ok", result
    assert [r["outcome"] for r in result["results"]] == ["detected"]
    alert = only_alert(sandbox, alerts)
    assert (alert.type, alert.severity) == (AlertType.SAFEGUARD_CHANGED, Severity.CRITICAL)
    assert alert.event_id == event["detail"]["eventID"]
    assert sandbox.drain_queue(sandbox.hub.dlq_url) == []


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("ignored/events-put-rule-not-driftguards.json", IAM_FUNCTION),
        # Another role's policy: the path watch's (PathEventsFunction), not a safeguard.
        ("PathEventsFunction/iam-put-role-policy.json", IAM_FUNCTION),
    ],
)
def test_a_sample_call_on_something_else_is_ignored_even_when_delivered(
    sandbox: Sandbox, alerts: AlertTail, name: str, function: str
) -> None:
    event = sample(EVENTS / name)
    assert function not in sandbox.matching_functions(event)
    result = sandbox.invoke(function, event)
    assert {r["outcome"] for r in result["results"]} == {"ignored"}, result
    sandbox.wait_idle()
    assert alerts.read() == []
