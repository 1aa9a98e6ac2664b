"""Signed declarations (driftguard.signing): what the MAC covers, and how KMS's answers
are read. KMS is botocore's Stubber (no sockets); the sandbox tests use moto's KMS."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from driftguard.errors import SigningError
from driftguard.model import Declared
from driftguard.signing import MAC_ALGORITHM, KmsSignatures, signed_message
from driftguard.vocabulary import Mode
from tests.support.fakes import declaration

KEY = "arn:aws:kms:us-east-1:333333333333:key/declarations"
ARN = "arn:aws:kms:us-east-1:111111111111:key/0f6a3c2e-8a57-4d7e-9b0c-2d1e5f4a7b91"
ROLE = "arn:aws:iam::111111111111:role/pod-role"
POLICY = '{"Version":"2012-10-17","Statement":[]}'
MAC = b"\x01" * 32


def declared() -> Declared:
    return dataclasses.replace(declaration(ARN, POLICY, principals=(ROLE,)), signature="")


# Every field of a declaration, changed as someone with write access to the table might.
TAMPERINGS: dict[str, Any] = {
    "arn": ARN.replace("111111111111", "444455556666"),
    "kind": "secret",
    "account": "444455556666",
    "region": "eu-west-1",
    "policy": POLICY.replace("[]", '[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]'),
    "mode": Mode.DETECT,
    "version": 7,
    "declared_by": "arn:aws:iam::333333333333:role/someone-else",
    "principals": (ROLE, "arn:aws:iam::444455556666:root"),
}


def test_the_mac_covers_every_field_but_the_digest_and_the_signature() -> None:
    fields = {f.name for f in dataclasses.fields(Declared)}
    assert fields - set(TAMPERINGS) == {"declared_at", "digest", "signature"}
    original = signed_message(declared())
    later = dataclasses.replace(declared(), declared_at=declared().declared_at + timedelta(1))
    assert signed_message(later) != original
    for name, value in TAMPERINGS.items():
        changed = dataclasses.replace(declared(), **{name: value})
        assert signed_message(changed) != original, f"the MAC does not cover {name}"


def test_the_message_is_a_digest_kms_accepts_whatever_the_policy_size() -> None:
    huge = dataclasses.replace(declared(), policy=POLICY + " " * 32_000)
    assert len(signed_message(huge)) == 32  # GenerateMac takes at most 4,096 bytes


@pytest.fixture
def kms() -> Iterator[tuple[KmsSignatures, Stubber]]:
    client = boto3.client(
        "kms", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield KmsSignatures(lambda: client, KEY), stubber
        stubber.assert_no_pending_responses()


def verify_call(subject: Declared, mac: bytes = MAC) -> dict[str, Any]:
    return {
        "KeyId": KEY,
        "MacAlgorithm": MAC_ALGORITHM,
        "Message": signed_message(subject),
        "Mac": mac,
    }


def test_signing_asks_kms_for_an_hmac_of_the_message(kms: tuple[KmsSignatures, Stubber]) -> None:
    signatures, stubber = kms
    subject = declared()
    stubber.add_response(
        "generate_mac",
        {"Mac": MAC, "KeyId": KEY, "MacAlgorithm": MAC_ALGORITHM},
        {"KeyId": KEY, "MacAlgorithm": MAC_ALGORITHM, "Message": signed_message(subject)},
    )
    signed = signatures.sign(subject)
    assert base64.b64decode(signed.signature) == MAC
    signatures.verify(signed)  # what it signed it trusts without asking again


def test_a_caller_that_may_not_sign_gets_a_clear_error(kms: tuple[KmsSignatures, Stubber]) -> None:
    signatures, stubber = kms
    stubber.add_client_error("generate_mac", "AccessDeniedException", http_status_code=400)
    with pytest.raises(SigningError, match="only the declarer role may sign"):
        signatures.sign(declared())


def test_a_verified_signature_is_remembered(kms: tuple[KmsSignatures, Stubber]) -> None:
    signatures, stubber = kms
    subject = dataclasses.replace(declared(), signature=base64.b64encode(MAC).decode())
    stubber.add_response(
        "verify_mac",
        {"KeyId": KEY, "MacValid": True, "MacAlgorithm": MAC_ALGORITHM},
        verify_call(subject),
    )
    signatures.verify(subject)
    signatures.verify(subject)  # no second call: the stubber has no second answer


def test_a_signature_kms_rejects_is_a_forgery_every_time(
    kms: tuple[KmsSignatures, Stubber],
) -> None:
    signatures, stubber = kms
    subject = dataclasses.replace(declared(), signature=base64.b64encode(MAC).decode())
    for _ in range(2):  # a refusal is not remembered as anything
        stubber.add_client_error(
            "verify_mac",
            "KMSInvalidMacException",
            http_status_code=400,
            expected_params=verify_call(subject),
        )
        with pytest.raises(SigningError, match="does not verify"):
            signatures.verify(subject)


@pytest.mark.parametrize(
    ("signature", "match"), [("", "not signed"), ("not base64!", "not base64")]
)
def test_missing_or_garbled_signatures_are_refused_without_asking_kms(
    kms: tuple[KmsSignatures, Stubber], signature: str, match: str
) -> None:
    signatures, _ = kms
    with pytest.raises(SigningError, match=match):
        signatures.verify(dataclasses.replace(declared(), signature=signature))


def test_kms_failing_to_answer_is_not_read_as_a_verdict(kms: tuple[KmsSignatures, Stubber]) -> None:
    signatures, stubber = kms
    subject = dataclasses.replace(declared(), signature=base64.b64encode(MAC).decode())
    stubber.add_client_error("verify_mac", "ThrottlingException", http_status_code=400)
    with pytest.raises(ClientError):
        signatures.verify(subject)
