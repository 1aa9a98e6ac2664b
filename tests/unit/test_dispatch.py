"""The one dispatcher: which service method a CloudTrail record reaches."""

from __future__ import annotations

from typing import Any

import pytest

from driftguard.decision import Result
from driftguard.dispatch import dispatch
from driftguard.errors import InvalidEventError
from driftguard.events import CloudTrailDetail
from driftguard.kinds import ResourceKind
from driftguard.vocabulary import Outcome

ROLE_NAME = "driftguard-remediation"


def detail(source: str, name: str, **extra: Any) -> CloudTrailDetail:
    return CloudTrailDetail.model_validate(
        {
            "eventVersion": "1.08",
            "eventSource": source,
            "eventName": name,
            "eventTime": "2026-12-01T09:00:00Z",
            "awsRegion": "us-east-1",
            "recipientAccountId": "111111111111",
            "eventID": "e-1",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/bob"},
            **extra,
        }
    )


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_role_deleted(self, d: CloudTrailDetail) -> list[Result]:
        self.calls.append("deleted")
        return []

    def on_role_created(self, d: CloudTrailDetail) -> list[Result]:
        self.calls.append("created")
        return []

    def on_policy_change(self, d: CloudTrailDetail, kind: ResourceKind) -> list[Result]:
        self.calls.append(f"policy {kind.name}")
        return []

    def on_safeguard_changed(self, d: CloudTrailDetail) -> list[Result]:
        self.calls.append("safeguard")
        return []

    def on_trust_changed(self, d: CloudTrailDetail) -> list[Result]:
        self.calls.append("trust")
        return []


@pytest.mark.parametrize(
    ("source", "name", "call"),
    [
        ("iam.amazonaws.com", "DeleteRole", "deleted"),
        ("iam.amazonaws.com", "CreateRole", "created"),
        ("kms.amazonaws.com", "PutKeyPolicy", "policy kms-key"),
        ("kms.amazonaws.com", "CreateKey", "policy kms-key"),
        ("secretsmanager.amazonaws.com", "PutResourcePolicy", "policy secret"),
        ("secretsmanager.amazonaws.com", "DeleteResourcePolicy", "policy secret"),
    ],
)
def test_each_event_reaches_its_handler(source: str, name: str, call: str) -> None:
    handlers = Recorder()
    dispatch(handlers, detail(source, name), remediation_role_name=ROLE_NAME)
    assert handlers.calls == [call]


IAM, EVENTS, CLOUDTRAIL = "iam.amazonaws.com", "events.amazonaws.com", "cloudtrail.amazonaws.com"
SAFEGUARD_CHANGES = [
    *[
        (IAM, name, {"roleName": ROLE_NAME})
        for name in (
            "UpdateAssumeRolePolicy",
            "PutRolePolicy",
            "DeleteRolePolicy",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "PutRolePermissionsBoundary",
            "DeleteRolePermissionsBoundary",
        )
    ],
    (IAM, "AttachRolePolicy", {"roleName": ROLE_NAME.upper()}),  # IAM names ignore case
    (EVENTS, "DisableRule", {"name": "driftguard-policy-events"}),
    (EVENTS, "DeleteRule", {"name": "driftguard-iam-events"}),
    (EVENTS, "PutRule", {"name": "driftguard-safeguard-events", "state": "DISABLED"}),
    (EVENTS, "RemoveTargets", {"rule": "driftguard-iam-events", "ids": ["driftguard-hub"]}),
    (EVENTS, "PutTargets", {"rule": "driftguard-policy-events", "targets": []}),
    (CLOUDTRAIL, "StopLogging", {"name": "arn:aws:cloudtrail:us-east-1:111111111111:trail/t"}),
    (CLOUDTRAIL, "DeleteTrail", {"name": "org-trail"}),
    (CLOUDTRAIL, "UpdateTrail", {"name": "org-trail", "isMultiRegionTrail": False}),
    (CLOUDTRAIL, "PutEventSelectors", {"trailName": "org-trail", "eventSelectors": []}),
]


@pytest.mark.parametrize(("source", "name", "parameters"), SAFEGUARD_CHANGES)
@pytest.mark.parametrize("identity", ["a person", "driftguard's own session"])
def test_a_safeguard_change_is_alerted_whoever_made_it(
    source: str, name: str, parameters: dict[str, Any], identity: str
) -> None:
    """driftguard never makes these calls: a record saying its session did is not
    set aside as its own change."""
    who = {} if identity == "a person" else {"userIdentity": driftguard_session()}
    handlers = Recorder()
    dispatch(
        handlers,
        detail(source, name, requestParameters=parameters, **who),
        remediation_role_name=ROLE_NAME,
    )
    assert handlers.calls == ["safeguard"]


@pytest.mark.parametrize(("name", "then"), [("DeleteRole", "deleted"), ("CreateRole", "created")])
def test_the_remediation_role_deleted_or_created_is_a_safeguard_change_too(
    name: str, then: str
) -> None:
    handlers = Recorder()
    event = detail(IAM, name, requestParameters={"roleName": ROLE_NAME})
    dispatch(handlers, event, remediation_role_name=ROLE_NAME)
    assert handlers.calls == ["safeguard", then]  # and what names it, as for any role


def test_a_new_trust_policy_of_another_role_is_compared_and_checked_as_declared() -> None:
    handlers = Recorder()
    event = detail(IAM, "UpdateAssumeRolePolicy", requestParameters={"roleName": "pod-role"})
    dispatch(handlers, event, remediation_role_name=ROLE_NAME)
    # With the approved identity (the roles declared policies name), and with the role's
    # own declared trust policy (the role-trust kind).
    assert handlers.calls == ["trust", "policy role-trust"]


def test_a_new_trust_policy_made_by_driftguards_session_is_its_own() -> None:
    handlers = Recorder()
    event = detail(
        IAM,
        "UpdateAssumeRolePolicy",
        requestParameters={"roleName": "pod-role"},
        userIdentity=driftguard_session(),
    )
    (result,) = dispatch(handlers, event, remediation_role_name=ROLE_NAME)
    assert result.outcome is Outcome.IGNORED and handlers.calls == []


@pytest.mark.parametrize(
    ("source", "name", "parameters", "reason"),
    [
        (IAM, "PutRolePolicy", {"roleName": "pod-role"}, "not driftguard's remediation role"),
        (IAM, "AttachRolePolicy", {}, "not driftguard's remediation role"),
        (EVENTS, "DisableRule", {"name": "nightly-report"}, "not a policy change"),
        (EVENTS, "PutTargets", {"rule": "my-driftguard-copy"}, "not a policy change"),
        (EVENTS, "EnableRule", {"name": "driftguard-policy-events"}, "not a policy change"),
        (CLOUDTRAIL, "StartLogging", {"name": "org-trail"}, "not a policy change"),
    ],
)
def test_what_is_not_a_safeguard_change_is_ignored(
    source: str, name: str, parameters: dict[str, Any], reason: str
) -> None:
    handlers = Recorder()
    event = detail(source, name, requestParameters=parameters)
    (result,) = dispatch(handlers, event, remediation_role_name=ROLE_NAME)
    assert result.outcome is Outcome.IGNORED and reason in result.reason
    assert handlers.calls == []


def test_a_failed_safeguard_call_changed_nothing() -> None:
    handlers = Recorder()
    event = detail(EVENTS, "DeleteRule", requestParameters={"name": "driftguard-iam-events"})
    failed = event.model_copy(update={"error_code": "AccessDeniedException"})
    (result,) = dispatch(handlers, failed, remediation_role_name=ROLE_NAME)
    assert result.outcome is Outcome.IGNORED and "failed call" in result.reason
    assert handlers.calls == []


def driftguard_session(
    session: str = "driftguard", account: str = "111111111111"
) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{account}:assumed-role/{ROLE_NAME}/{session}",
        "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{account}:role/{ROLE_NAME}"}},
    }


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (detail("kms.amazonaws.com", "PutKeyPolicy", errorCode="AccessDenied"), "failed call"),
        (
            detail(
                "kms.amazonaws.com",
                "PutKeyPolicy",
                userIdentity=driftguard_session(),
            ),
            "driftguard's own change",
        ),
        (detail("kms.amazonaws.com", "Decrypt"), "not a policy change"),
        (detail("s3.amazonaws.com", "PutBucketPolicy"), "not a policy change"),
    ],
)
def test_what_is_not_a_change_to_act_on_is_ignored(event: CloudTrailDetail, reason: str) -> None:
    handlers = Recorder()
    (result,) = dispatch(handlers, event, remediation_role_name=ROLE_NAME)
    assert result.outcome is Outcome.IGNORED and reason in result.reason
    assert handlers.calls == []


@pytest.mark.parametrize(
    "identity",
    [
        driftguard_session(session="mallory"),  # someone else who may assume the role
        driftguard_session(account="999999999999"),  # the role of another account
    ],
)
def test_only_sessions_driftguard_opened_are_its_own(identity: dict[str, Any]) -> None:
    handlers = Recorder()
    dispatch(
        handlers,
        detail("kms.amazonaws.com", "PutKeyPolicy", userIdentity=identity),
        remediation_role_name=ROLE_NAME,
    )
    assert handlers.calls == ["policy kms-key"]  # checked like anyone's change


def test_an_iam_event_driftguard_does_not_handle_is_invalid() -> None:
    with pytest.raises(InvalidEventError, match="CreateUser"):
        dispatch(
            Recorder(),
            detail("iam.amazonaws.com", "CreateUser"),
            remediation_role_name=ROLE_NAME,
        )
