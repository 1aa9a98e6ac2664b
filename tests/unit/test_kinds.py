"""Resource kinds: registry and reading CloudTrail events (pure: no AWS calls)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from driftguard import kinds
from driftguard.arns import Arn
from driftguard.aws import AwsClients
from driftguard.decision import validate_declaration
from driftguard.errors import DeclarationError, UnknownResourceKindError
from driftguard.events import CloudTrailEvent
from driftguard.model import Declared, sha256
from driftguard.policy import Policy
from driftguard.vocabulary import Mode
from driftguard_cli.declarations import Declarations
from tests.support.fakes import SIGNATURES, FakeClock, FakeStore

EVENTS = Path(__file__).resolve().parents[2] / "events"
KEY_ARN = "arn:aws:kms:us-east-1:333333333333:key/0f6a3c2e-8a57-4d7e-9b0c-2d1e5f4a7b91"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-Xy12Ab"
NO_AWS = AwsClients(remediation_role_name="driftguard-remediation")


def detail(relative: str) -> object:
    return CloudTrailEvent.model_validate_json((EVENTS / relative).read_text()).detail


def test_every_kind_is_registered_by_name() -> None:
    assert [k.name for k in kinds.all_kinds()] == ["kms-key", "role-trust", "secret"]
    assert kinds.get("kms-key").service == "kms"
    with pytest.raises(UnknownResourceKindError, match="known: kms-key, role-trust, secret"):
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


def test_every_kind_names_the_iam_actions_it_uses() -> None:
    for kind in kinds.all_kinds():
        assert kind.iam_actions, kind.name
        assert all(a.startswith(f"{kind.service}:") for a in kind.iam_actions)
        assert not {"secretsmanager:GetSecretValue", "kms:Decrypt"} & kind.iam_actions


# --------------------------------------------------------------------------- partitions


def kms_event_in(partition: str, region: str) -> dict[str, Any]:
    """The PutKeyPolicy sample as GovCloud or China would send it."""
    text = (EVENTS / "PolicyEventsFunction/kms-put-key-policy.json").read_text()
    event: dict[str, Any] = json.loads(
        text.replace("arn:aws:", f"arn:{partition}:").replace("us-east-1", region)
    )
    return event


@pytest.mark.parametrize(
    ("partition", "region"), [("aws-us-gov", "us-gov-west-1"), ("aws-cn", "cn-north-1")]
)
def test_kms_arn_from_event_keeps_the_partition(partition: str, region: str) -> None:
    raw = kms_event_in(partition, region)
    expected = f"arn:{partition}:kms:{region}:333333333333:key/0f6a3c2e-8a57-4d7e-9b0c-2d1e5f4a7b91"
    kms = kinds.get("kms-key")
    assert kms.arn_from_event(CloudTrailEvent.model_validate(raw).detail, NO_AWS) == expected
    # A bare key id: the ARN is built in the caller's partition.
    del raw["detail"]["resources"]
    event = CloudTrailEvent.model_validate(raw).detail
    assert event.user_identity.partition == partition
    assert kms.arn_from_event(event, NO_AWS) == expected


@pytest.mark.parametrize(
    ("arn", "url"),
    [
        (
            KEY_ARN,
            "https://us-east-1.console.aws.amazon.com/kms/home?region=us-east-1"
            "#/kms/keys/0f6a3c2e-8a57-4d7e-9b0c-2d1e5f4a7b91",
        ),
        (
            "arn:aws-us-gov:kms:us-gov-west-1:333333333333:key/0f6a3c2e",
            "https://console.amazonaws-us-gov.com/kms/home?region=us-gov-west-1#/kms/keys/0f6a3c2e",
        ),
        (
            "arn:aws-cn:kms:cn-north-1:333333333333:key/0f6a3c2e",
            "https://console.amazonaws.cn/kms/home?region=cn-north-1#/kms/keys/0f6a3c2e",
        ),
        (
            SECRET_ARN,
            "https://us-east-1.console.aws.amazon.com/secretsmanager/secret"
            "?name=testsecret&region=us-east-1",
        ),
        (
            "arn:aws-us-gov:secretsmanager:us-gov-east-1:222222222222:secret:testsecret-Xy12Ab",
            "https://console.amazonaws-us-gov.com/secretsmanager/secret"
            "?name=testsecret&region=us-gov-east-1",
        ),
        (
            "arn:aws-cn:secretsmanager:cn-northwest-1:222222222222:secret:testsecret-Xy12Ab",
            "https://console.amazonaws.cn/secretsmanager/secret?name=testsecret&region=cn-northwest-1",
        ),
    ],
)
def test_console_urls_use_the_partitions_console(arn: str, url: str) -> None:
    target = kinds.target(arn)
    assert target.kind.console_url(target.arn) == url


# --------------------------------------------------------------------------- declared policies
# What AWS would refuse at restore time is refused when the policy is declared, so that a
# refused restore can only mean a principal that has not propagated yet.

KEY_ROLE = "arn:aws:iam::333333333333:role/driftguard-remediation"
SECRET_ROLE = "arn:aws:iam::222222222222:role/driftguard-remediation"
POD_ROLE = "arn:aws:iam::111111111111:role/pod-role"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def statement(effect: str, principal: object, action: object, **extra: Any) -> dict[str, Any]:
    """One statement; principal None leaves Principal out."""
    out: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": "*"}
    if principal is not None:
        out["Principal"] = principal
    return out | extra


def exempting(role: str) -> dict[str, Any]:
    return {"Condition": {"ArnNotEquals": {"aws:PrincipalArn": role}}}


def validate(kind: str, text: str, arn: str, role: str) -> None:
    kinds.get(kind).validate_declared(text, Policy.parse(text), Arn.parse(arn), role)


KEY_ADMIN = statement("Allow", {"AWS": "arn:aws:iam::333333333333:root"}, "kms:*")
READER = statement("Allow", {"AWS": POD_ROLE}, "kms:Decrypt")
IN_VPC = {"Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}


@pytest.mark.parametrize(
    ("statements", "refused"),
    [
        # The Allow driftguard needs: root or the role, directly or by wildcard.
        ([KEY_ADMIN, READER], None),
        ([statement("Allow", {"AWS": "333333333333"}, "KMS:*")], None),
        ([statement("Allow", {"AWS": KEY_ROLE}, "kms:PutKeyPolicy")], None),
        ([statement("Allow", {"AWS": KEY_ROLE}, "kms:Put*")], None),
        ([statement("Allow", "*", "kms:*")], None),
        ([{"Effect": "Allow", "Principal": {"AWS": KEY_ROLE}, "NotAction": "kms:Decrypt"}], None),
        ([READER], "lockout safety check"),
        ([statement("Allow", {"AWS": KEY_ROLE}, "kms:Decrypt")], "lockout safety check"),
        ([statement("Allow", {"AWS": "arn:aws:iam::111111111111:root"}, "kms:*")], "lockout"),
        ([statement("Allow", {"AWS": "333333333333"}, "kms:*", **IN_VPC)], "with conditions"),
        # No Deny takes it away.
        ([KEY_ADMIN, statement("Deny", "*", "kms:Decrypt")], None),
        ([KEY_ADMIN, statement("Deny", {"AWS": POD_ROLE}, "kms:*")], None),
        ([KEY_ADMIN, statement("Deny", "*", "kms:*", **exempting(KEY_ROLE))], None),
        (
            [KEY_ADMIN, statement("Deny", "*", "kms:PutKeyPolicy", Sid="Freeze")],
            'statement "Freeze" denies kms:PutKeyPolicy to ' + KEY_ROLE,
        ),
        ([KEY_ADMIN, statement("Deny", {"AWS": "333333333333"}, "kms:Put*")], "Statement.1."),
        ([KEY_ADMIN, statement("Deny", {"AWS": KEY_ROLE}, "kms:*")], "denies kms:DescribeKey"),
        (
            [KEY_ADMIN, statement("Deny", "*", "kms:*", **IN_VPC)],
            "cannot evaluate .StringEquals aws:sourcevpc.*safer than locking driftguard out",
        ),
        (
            [KEY_ADMIN, statement("Deny", "*", "kms:*", **exempting(POD_ROLE))],
            "cannot evaluate .ArnNotEquals aws:principalarn.",
        ),
        (
            [KEY_ADMIN, {"Effect": "Deny", "Principal": "*", "NotAction": "kms:Decrypt"}],
            "Statement.1. denies kms:DescribeKey, kms:GetKeyPolicy, kms:PutKeyPolicy",
        ),
        (
            [KEY_ADMIN, {"Effect": "Deny", "Principal": "*", "NotAction": ["kms:*Key*"]}],
            None,
        ),
        (
            [KEY_ADMIN, statement("Deny", None, "kms:*", NotPrincipal={"AWS": KEY_ROLE})],
            "would lock driftguard out",
        ),
        (
            [
                KEY_ADMIN,
                statement(
                    "Deny",
                    None,
                    "kms:*",
                    NotPrincipal={
                        "AWS": [
                            KEY_ROLE,
                            "333333333333",
                            "arn:aws:sts::333333333333:assumed-role/"
                            "driftguard-remediation/driftguard",
                        ]
                    },
                ),
            ],
            None,
        ),
        # Every statement names a principal.
        ([KEY_ADMIN, statement("Allow", None, "kms:Decrypt")], "Statement.1. of the policy"),
    ],
)
def test_kms_key_policy_rules(statements: list[dict[str, Any]], refused: str | None) -> None:
    text = document(*statements)
    if refused is None:
        validate("kms-key", text, KEY_ARN, KEY_ROLE)
    else:
        with pytest.raises(DeclarationError, match=refused):
            validate("kms-key", text, KEY_ARN, KEY_ROLE)


@pytest.mark.parametrize(
    ("partition", "region"), [("aws-us-gov", "us-gov-west-1"), ("aws-cn", "cn-north-1")]
)
@pytest.mark.parametrize(
    ("principal", "deny", "refused"),
    [
        ("333333333333", None, None),
        ("arn:{p}:iam::333333333333:root", None, None),
        ("arn:{p}:iam::333333333333:role/driftguard-remediation", None, None),
        ("arn:aws:iam::333333333333:root", None, "lockout safety check"),  # wrong partition
        ("333333333333", "333333333333", "denies kms:DescribeKey"),
        ("333333333333", "arn:{p}:iam::333333333333:role/driftguard-remediation", "denies"),
        ("333333333333", "arn:aws:iam::333333333333:root", None),
    ],
)
def test_kms_lockout_in_govcloud_and_china(
    partition: str, region: str, principal: str, deny: str | None, refused: str | None
) -> None:
    key = f"arn:{partition}:kms:{region}:333333333333:key/0f6a3c2e"
    role = f"arn:{partition}:iam::333333333333:role/driftguard-remediation"
    statements = [statement("Allow", {"AWS": principal.format(p=partition)}, "kms:*")]
    if deny is not None:
        statements.append(statement("Deny", {"AWS": deny.format(p=partition)}, "kms:*"))
    text = document(*statements)
    if refused is None:
        validate("kms-key", text, key, role)
    else:
        with pytest.raises(DeclarationError, match=refused):
            validate("kms-key", text, key, role)


SECRET_READER = statement("Allow", {"AWS": POD_ROLE}, "secretsmanager:GetSecretValue")


@pytest.mark.parametrize(
    ("statements", "refused"),
    [
        # Same-account IAM grants driftguard access: no Allow needed, only no Deny.
        ([SECRET_READER], None),
        ([SECRET_READER, statement("Deny", "*", "secretsmanager:GetSecretValue")], None),
        (
            [SECRET_READER, statement("Deny", "*", "secretsmanager:*", **exempting(SECRET_ROLE))],
            None,
        ),
        (
            [
                SECRET_READER,
                statement(
                    "Deny",
                    "*",
                    "secretsmanager:*",
                    Condition={
                        "StringNotLike": {
                            "aws:PrincipalArn": "arn:aws:iam::222222222222:role/driftguard-*"
                        }
                    },
                ),
            ],
            None,
        ),
        (
            [SECRET_READER, statement("Deny", "*", "secretsmanager:PutResourcePolicy")],
            "denies secretsmanager:PutResourcePolicy to " + SECRET_ROLE,
        ),
        (
            [SECRET_READER, statement("Deny", {"AWS": "222222222222"}, "secretsmanager:Get*")],
            "denies secretsmanager:GetResourcePolicy to",
        ),
        (
            [SECRET_READER, statement("Deny", {"AWS": SECRET_ROLE}, "secretsmanager:Describe*")],
            "denies secretsmanager:DescribeSecret to",
        ),
        (
            [SECRET_READER, statement("Deny", "*", "secretsmanager:*", **IN_VPC)],
            "cannot evaluate.*safer than locking driftguard out",
        ),
        (
            [
                SECRET_READER,
                {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": "arn:aws:iam::222222222222:root"},
                    "Action": "secretsmanager:*",
                },
            ],
            "Statement.1. denies secretsmanager:DescribeSecret, "
            "secretsmanager:GetResourcePolicy, secretsmanager:PutResourcePolicy",
        ),
        (
            [
                SECRET_READER,
                {"Effect": "Deny", "Principal": "*", "NotAction": "secretsmanager:GetSecretValue"},
            ],
            "would lock driftguard out",
        ),
        # BlockPublicPolicy: an Allow to everyone needs a condition.
        ([statement("Allow", "*", "secretsmanager:GetSecretValue", Sid="Open")], "PublicPolicy"),
        ([statement("Allow", {"AWS": "*"}, "secretsmanager:GetSecretValue")], "allows everyone"),
        (
            [
                statement(
                    "Allow",
                    "*",
                    "secretsmanager:GetSecretValue",
                    Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                )
            ],
            None,
        ),
        # Every statement names a principal.
        ([statement("Allow", None, "secretsmanager:GetSecretValue")], "no Principal"),
    ],
)
def test_secret_policy_rules(statements: list[dict[str, Any]], refused: str | None) -> None:
    text = document(*statements)
    if refused is None:
        validate("secret", text, SECRET_ARN, SECRET_ROLE)
    else:
        with pytest.raises(DeclarationError, match=refused):
            validate("secret", text, SECRET_ARN, SECRET_ROLE)


def test_the_public_secret_statement_is_named() -> None:
    text = document(SECRET_READER, statement("Allow", "*", "secretsmanager:*", Sid="Open"))
    with pytest.raises(DeclarationError, match=r'^statement "Open" of the declared policy'):
        validate("secret", text, SECRET_ARN, SECRET_ROLE)


# --------------------------------------------------------------------------- size and characters


def padded(kind: str, size: int) -> str:
    """A policy the kind accepts, exactly `size` in the kind's unit, padded in a Sid with
    'é' (two bytes, one character) so that bytes and characters differ."""
    base = [KEY_ADMIN] if kind == "kms-key" else [SECRET_READER]

    def text(sid: str) -> str:
        return json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Sid": sid, **base[0]}]},
            ensure_ascii=False,
        )

    def measure(t: str) -> int:
        return len(t.encode()) if kind == "kms-key" else len(t)

    filler = "é" * ((size - measure(text(""))) // measure("é"))
    out = text(filler) + " " * (size - measure(text(filler)))  # JSON allows trailing spaces
    assert measure(out) == size
    return out


@pytest.mark.parametrize(
    ("kind", "arn", "role", "limit", "unit"),
    [
        ("kms-key", KEY_ARN, KEY_ROLE, 32_768, "bytes"),
        ("secret", SECRET_ARN, SECRET_ROLE, 20_480, "characters"),
    ],
)
def test_policy_size_limit_at_the_exact_boundary(
    kind: str, arn: str, role: str, limit: int, unit: str
) -> None:
    validate(kind, padded(kind, limit), arn, role)
    with pytest.raises(DeclarationError, match=f"at most {limit:,} {unit}"):
        validate(kind, padded(kind, limit + 1), arn, role)


def test_kms_counts_utf8_bytes_and_secrets_manager_characters() -> None:
    # Padded with two-byte characters: at KMS's limit in bytes the text has far fewer
    # characters, and at Secrets Manager's limit in characters far more bytes.
    assert len(padded("kms-key", 32_768)) < 20_480
    assert len(padded("secret", 20_480).encode()) > 32_768


@pytest.mark.parametrize(
    ("sid", "refused"),
    [
        ("plain ascii", False),
        ("latin-1 éÿ", False),  # up to U+00FF
        ("\u2019", True),  # a typographic apostrophe, pasted from a document
        ("\u0100", True),  # the first character past U+00FF
        ("\U0001f512", True),
    ],
)
def test_kms_key_policy_characters(sid: str, refused: bool) -> None:
    # Indented with tabs and CRLF line ends: KMS allows both.
    doc = {"Statement": [{"Sid": sid, **KEY_ADMIN}]}
    text = json.dumps(doc, ensure_ascii=False, indent="\t").replace("\n", "\r\n")
    if refused:
        with pytest.raises(DeclarationError, match=f"U\\+{ord(sid):04X}"):
            validate("kms-key", text, KEY_ARN, KEY_ROLE)
    else:
        validate("kms-key", text, KEY_ARN, KEY_ROLE)


def test_characters_are_checked_as_written_and_only_for_kms() -> None:
    escaped = json.dumps({"Statement": [{"Sid": "\u2019", **KEY_ADMIN}]})  # "\u2019" in ASCII
    validate("kms-key", escaped, KEY_ARN, KEY_ROLE)
    raw = json.dumps({"Statement": [{"Sid": "\u2019", **SECRET_READER}]}, ensure_ascii=False)
    validate("secret", raw, SECRET_ARN, SECRET_ROLE)


def test_every_kind_declares_its_policy_limits() -> None:
    for kind in kinds.all_kinds():
        assert kind.max_policy_size, kind.name


# --------------------------------------------------------------------------- both callers


def stored(kind: str, arn: str, text: str) -> Declared:
    parsed = Arn.parse(arn)
    return Declared(
        arn=arn,
        kind=kind,
        account=parsed.account,
        region=parsed.region,
        policy=text,
        digest=sha256(text),
        mode=Mode.ENFORCE,
        version=1,
        declared_by="arn:aws:iam::333333333333:role/security",
        declared_at=datetime(2026, 12, 1, tzinfo=UTC),
        principals=(),
    )


@pytest.mark.parametrize(
    ("kind", "arn", "limit", "unit"),
    [("kms-key", KEY_ARN, 32_768, "bytes"), ("secret", SECRET_ARN, 20_480, "characters")],
)
def test_a_stored_declaration_over_the_limit_is_never_applied(
    kind: str, arn: str, limit: int, unit: str
) -> None:
    assert validate_declaration(stored(kind, arn, padded(kind, limit))).statements
    with pytest.raises(DeclarationError, match=f"at most {limit:,} {unit}"):
        validate_declaration(stored(kind, arn, padded(kind, limit + 1)))


def test_a_stored_declaration_with_forbidden_characters_or_no_principal_is_never_applied() -> None:
    curly = json.dumps({"Statement": [{"Sid": "\u2019", **KEY_ADMIN}]}, ensure_ascii=False)
    with pytest.raises(DeclarationError, match="U\\+2019"):
        validate_declaration(stored("kms-key", KEY_ARN, curly))
    anonymous = document(statement("Allow", None, "secretsmanager:GetSecretValue"))
    with pytest.raises(DeclarationError, match="no Principal or NotPrincipal"):
        validate_declaration(stored("secret", SECRET_ARN, anonymous))


@pytest.mark.parametrize(
    ("arn", "text", "refused"),
    [
        (KEY_ARN, padded("kms-key", 32_769), "at most 32,768 bytes"),
        (KEY_ARN, document(READER), "lockout safety check"),
        (SECRET_ARN, document(statement("Allow", "*", "secretsmanager:*")), "PublicPolicy"),
        (SECRET_ARN, document(SECRET_READER), None),
    ],
)
def test_declaring_applies_every_rule(arn: str, text: str, refused: str | None) -> None:
    declarations = Declarations(NO_AWS, FakeStore(FakeClock()), SIGNATURES)  # type: ignore[arg-type]
    target = kinds.target(arn)
    if refused is None:
        assert declarations._acceptable(target, text) == Policy.parse(text)
    else:
        with pytest.raises(DeclarationError, match=refused):
            declarations._acceptable(target, text)
