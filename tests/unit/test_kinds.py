"""Resource kinds: registry and reading CloudTrail events (pure: no AWS calls)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftguard import kinds
from driftguard.arns import Arn
from driftguard.aws import AwsClients
from driftguard.errors import DeclarationError, UnknownResourceKindError
from driftguard.events import CloudTrailEvent
from driftguard.policy import Policy

EVENTS = Path(__file__).resolve().parents[2] / "events"
KEY_ARN = "arn:aws:kms:us-east-1:333333333333:key/0f6a3c2e-8a57-4d7e-9b0c-2d1e5f4a7b91"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-Xy12Ab"
NO_AWS = AwsClients(remediation_role_name="driftguard-remediation")


def detail(relative: str) -> object:
    return CloudTrailEvent.model_validate_json((EVENTS / relative).read_text()).detail


def test_every_kind_is_registered_by_name() -> None:
    assert [k.name for k in kinds.all_kinds()] == ["kms-key", "secret"]
    assert kinds.get("kms-key").service == "kms"
    with pytest.raises(UnknownResourceKindError, match="known: kms-key, secret"):
        kinds.get("s3-bucket")


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        (KEY_ARN, "kms-key"),
        (SECRET_ARN, "secret"),
    ],
)
def test_kind_for_arn(arn: str, kind: str) -> None:
    assert kinds.for_arn(Arn.parse(arn)).name == kind


@pytest.mark.parametrize(
    "text",
    ["arn:aws:kms:us-east-1:333333333333:alias/testsecret", "arn:aws:s3:::bucket", "not-an-arn"],
)
def test_unhandled_arns_are_a_clear_error(text: str) -> None:
    with pytest.raises(UnknownResourceKindError):
        kinds.for_arn(Arn.parse(text))


def test_kms_arn_from_put_key_policy_uses_detail_resources() -> None:
    event = detail("PolicyEventsFunction/kms-put-key-policy.json")
    assert kinds.get("kms-key").arn_from_event(event, NO_AWS) == KEY_ARN  # type: ignore[arg-type]


def test_kms_arn_from_create_key_uses_key_metadata_without_resources() -> None:
    raw = json.loads((EVENTS / "PolicyEventsFunction/kms-create-key-with-policy.json").read_text())
    del raw["detail"]["resources"]
    event = CloudTrailEvent.model_validate(raw).detail
    arn = kinds.get("kms-key").arn_from_event(event, NO_AWS)
    assert arn == "arn:aws:kms:us-east-1:333333333333:key/7d2b9c1a-3e4f-4a5b-8c6d-9e0f1a2b3c4d"


def test_kms_arn_from_bare_key_id_is_built_from_recipient_account_and_region() -> None:
    raw = json.loads((EVENTS / "PolicyEventsFunction/kms-put-key-policy.json").read_text())
    del raw["detail"]["resources"]
    event = CloudTrailEvent.model_validate(raw).detail
    assert kinds.get("kms-key").arn_from_event(event, NO_AWS) == KEY_ARN


@pytest.mark.parametrize(
    "relative",
    [
        "PolicyEventsFunction/secretsmanager-put-resource-policy.json",  # responseElements.arn
        "PolicyEventsFunction/secretsmanager-delete-resource-policy.json",  # spelled aRN
    ],
)
def test_secret_arn_from_response_elements_either_spelling(relative: str) -> None:
    assert kinds.get("secret").arn_from_event(detail(relative), NO_AWS) == SECRET_ARN  # type: ignore[arg-type]


def test_kms_declared_policy_that_locks_driftguard_out_is_refused() -> None:
    lockout = Policy.parse(
        {
            "Statement": {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:role/pod-role"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        }
    )
    with pytest.raises(DeclarationError, match="lockout safety check"):
        kinds.get("kms-key").validate_declared(
            lockout, Arn.parse(KEY_ARN), "arn:aws:iam::333333333333:role/driftguard-remediation"
        )


@pytest.mark.parametrize(
    "principal",
    [
        "arn:aws:iam::333333333333:root",
        "333333333333",
        "arn:aws:iam::333333333333:role/driftguard-remediation",
    ],
)
def test_kms_declared_policy_passes_when_root_or_role_may_put_it(principal: str) -> None:
    policy = Policy.parse(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": "KMS:*",
                    "Resource": "*",
                }
            ]
        }
    )
    kinds.get("kms-key").validate_declared(
        policy, Arn.parse(KEY_ARN), "arn:aws:iam::333333333333:role/driftguard-remediation"
    )


def test_every_kind_names_the_iam_actions_it_uses() -> None:
    for kind in kinds.all_kinds():
        assert kind.iam_actions, kind.name
        assert all(a.startswith(f"{kind.service}:") for a in kind.iam_actions)
        assert not {"secretsmanager:GetSecretValue", "kms:Decrypt"} & kind.iam_actions
