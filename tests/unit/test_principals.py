"""PrincipalLookup asks IAM once per principal per run (pure: AWS is stubbed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from botocore.stub import Stubber

from driftguard.aws import AwsClients
from driftguard.principals import PrincipalLookup

USER = "arn:aws:iam::111111111111:user/auditor"
GONE = "arn:aws:iam::111111111111:user/gone"


def clients_with_stubbed_iam() -> tuple[AwsClients, Stubber]:
    session = boto3.Session(
        aws_access_key_id="unit", aws_secret_access_key="unit", region_name="us-east-1"
    )
    clients = AwsClients(remediation_role_name="driftguard-remediation", session=session)
    with Stubber(clients.hub("sts")) as sts:
        sts.add_response(
            "assume_role",
            {
                "Credentials": {
                    "AccessKeyId": "ASIAUNITTESTKEY00001",
                    "SecretAccessKey": "unit",
                    "SessionToken": "unit",
                    "Expiration": datetime.now(UTC) + timedelta(hours=1),
                }
            },
        )
        iam = clients.in_account("111111111111", "iam")
    return clients, Stubber(iam)


def test_each_principal_is_looked_up_once() -> None:
    clients, iam = clients_with_stubbed_iam()
    iam.add_response("get_user", {"User": _user("auditor")}, {"UserName": "auditor"})
    iam.add_client_error("get_user", "NoSuchEntity", expected_params={"UserName": "gone"})
    lookup = PrincipalLookup(clients, store=None)  # type: ignore[arg-type]  # users: no store
    with iam:
        for _ in range(3):  # a second IAM call would find no stubbed answer and raise
            assert lookup.missing(frozenset({USER, GONE})) == (GONE,)
        iam.assert_no_pending_responses()


def test_roots_and_services_count_as_existing_without_asking() -> None:
    clients, iam = clients_with_stubbed_iam()
    lookup = PrincipalLookup(clients, store=None)  # type: ignore[arg-type]
    with iam:
        assert lookup.missing(frozenset({"arn:aws:iam::222222222222:root", "*"})) == ()


def _user(name: str) -> dict[str, object]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": "AIDAUNITTESTUSER0001",
        "Arn": f"arn:aws:iam::111111111111:user/{name}",
        "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
    }
