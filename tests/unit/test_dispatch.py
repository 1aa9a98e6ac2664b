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
    with pytest.raises(InvalidEventError, match="AttachRolePolicy"):
        dispatch(
            Recorder(),
            detail("iam.amazonaws.com", "AttachRolePolicy"),
            remediation_role_name=ROLE_NAME,
        )
