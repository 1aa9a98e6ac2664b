"""Declaration files (driftguard_cli.declaration_files): what a file declares, every way
a file can be wrong and what it is told, the loader over a directory's files, and the
writer `driftguard export` uses (stable output that reads back as what it wrote)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from driftguard.model import Declared, sha256
from driftguard.vocabulary import Mode
from driftguard_cli.commands.declarations_as_code import read_directory
from driftguard_cli.declaration_files import (
    DeclarationFile,
    FileError,
    Source,
    declaration_file,
    export_files,
    file_names,
    load,
    parse,
    render,
)
from driftguard_sandbox.story import DATA, SECURITY, key_policy, secret_policy

KEY = "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"
POLICY = '  Version: "2012-10-17"\n  Statement: []\n'
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "declarations"


def yaml_file(*lines: str, policy: str = POLICY) -> bytes:
    return ("\n".join(lines) + "\npolicy:\n" + policy).encode()


def declared(arn: str, policy: Any, mode: Mode = Mode.ENFORCE) -> Declared:
    text = policy if isinstance(policy, str) else json.dumps(policy)
    return Declared(
        arn=arn,
        kind="kms-key" if ":kms:" in arn else "secret",
        account=arn.split(":")[4],
        region=arn.split(":")[3],
        policy=text,
        digest=sha256(text),
        mode=mode,
        version=3,
        declared_by="arn:aws:sts::333333333333:assumed-role/DeclarerRole/ci",
        declared_at=datetime(2026, 5, 1, tzinfo=UTC),
        principals=(),
    )


# --------------------------------------------------------------------------- good files

GOOD = [
    (
        "minimal.yaml",
        yaml_file(f"arn: {KEY}", "mode: enforce"),
        dict(arn=KEY, mode=Mode.ENFORCE, owner=None, ticket=None, allow_public=False),
    ),
    (
        "everything.yml",
        yaml_file(
            f"arn: {SECRET}",
            "mode: detect",
            "owner: payments",
            "ticket: SEC-1",
            "allow_public: true",
        ),
        dict(arn=SECRET, mode=Mode.DETECT, owner="payments", ticket="SEC-1", allow_public=True),
    ),
    (
        "plain.json",
        json.dumps({"arn": KEY, "mode": "enforce", "policy": {"Statement": []}}).encode(),
        dict(arn=KEY, mode=Mode.ENFORCE, policy={"Statement": []}),
    ),
    (  # plain numbers and true/false mean what they look like
        "numbers.yaml",
        yaml_file(
            f"arn: {KEY}",
            "mode: enforce",
            policy="  Version: '2012-10-17'\n  Age: 3600\n  Ratio: 1.5\n  Secure: false\n",
        ),
        dict(policy={"Version": "2012-10-17", "Age": 3600, "Ratio": 1.5, "Secure": False}),
    ),
]


@pytest.mark.parametrize(("path", "data", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_a_good_file_declares_what_it_says(
    path: str, data: bytes, expected: dict[str, Any]
) -> None:
    found = parse(Source(path, data))
    assert isinstance(found, DeclarationFile), found
    assert found.path == path
    for name, value in expected.items():
        assert getattr(found, name) == value, name


# --------------------------------------------------------------------------- bad files

BAD = [
    ("syntax.yaml", b"arn: [\n", ["not valid YAML: ", "(line 2, column 1)"]),
    ("syntax.json", b'{"arn": ', ["not valid JSON: Expecting value (line 1, column 9)"]),
    ("binary.yaml", b"\xff\xfe", ["not UTF-8 text"]),
    ("empty.yaml", b"", ["not a declaration: expected a mapping of arn, mode, owner, ticket, "]),
    ("list.yaml", b"- arn\n", ["not a declaration: ", "got a list"]),
    (
        "unknown.yaml",
        yaml_file(f"arn: {KEY}", "mode: enforce", "colour: red"),
        ["colour: unknown field (allowed: arn, mode, owner, ticket, allow_public, policy)"],
    ),
    ("missing.yaml", f"arn: {KEY}\nmode: enforce\n".encode(), ["policy: required field missing"]),
    ("arn.yaml", yaml_file("arn: nope", "mode: enforce"), ["arn: not an ARN: 'nope'"]),
    (
        "kind.yaml",
        yaml_file("arn: arn:aws:s3:::bucket", "mode: enforce"),
        ["arn: no resource kind handles arn:aws:s3:::bucket"],
    ),
    (
        "mode.yaml",
        yaml_file(f"arn: {KEY}", "mode: fix"),
        ["mode: Input should be 'enforce' or 'detect'"],
    ),
    (
        "string.yaml",
        f"arn: {KEY}\nmode: enforce\npolicy: '{{\"Statement\": []}}'\n".encode(),
        ["policy: must be the policy itself as a mapping, not a string of JSON"],
    ),
    (
        "public.yaml",
        yaml_file(f"arn: {KEY}", "mode: enforce", "allow_public: 'true'"),
        ["allow_public: Input should be a valid boolean"],
    ),
    (
        "date.yaml",
        yaml_file(f"arn: {KEY}", "mode: enforce", policy="  Version: 2012-10-17\n"),
        ["2012-10-17 is read as a date in YAML; quote it to mean the text (line 4, column 12)"],
    ),
    (
        "octal.yaml",
        yaml_file(f"arn: {KEY}", "mode: enforce", policy="  Account: 0123456701\n"),
        ["0123456701 is read as a number in YAML; quote it to mean the text"],
    ),
    (
        "yes.yaml",
        yaml_file(f"arn: {KEY}", "mode: enforce", "allow_public: yes"),
        ["yes is read as a boolean in YAML; write true or false, or quote it"],
    ),
    (
        "twice.yaml",
        yaml_file(f"arn: {KEY}", "mode: enforce", policy="  Effect: Deny\n  Effect: Allow\n"),
        ["the key 'Effect' appears twice in one mapping (line 5, column 3)"],
    ),
    (
        "twice.json",
        b'{"arn": "a", "mode": "enforce", "arn": "b"}',
        ["not valid JSON: the key 'arn' appears twice in one object"],
    ),
    ("nan.json", b'{"policy": {"Age": NaN}}', ["not valid JSON: NaN is not a JSON value"]),
    (
        "bytes.yaml",
        yaml_file(f"arn: {KEY}", "mode: enforce", policy="  Sid: !!binary aGk=\n"),
        ["policy: holds a value JSON cannot carry: bytes"],
    ),
    (  # every problem of a file at once
        "several.yaml",
        b"arn: nope\nmode: fix\ncolour: red\n",
        ["arn: not an ARN", "mode: Input should be", "policy: required", "colour: unknown field"],
    ),
]


@pytest.mark.parametrize(("path", "data", "messages"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_is_told_what_is_wrong_and_where(
    path: str, data: bytes, messages: list[str]
) -> None:
    found = parse(Source(path, data))
    assert isinstance(found, FileError), found
    assert found.path == path
    text = str(found)
    assert text.startswith(f"{path}: ")
    for message in messages:
        assert message in text


# --------------------------------------------------------------------------- loading


def test_the_loader_reads_in_path_order_and_reports_every_bad_file() -> None:
    good_key = Source("b/key.yaml", yaml_file(f"arn: {KEY}", "mode: enforce"))
    good_secret = Source(
        "a/secret.json", json.dumps({"arn": SECRET, "mode": "detect", "policy": {}}).encode()
    )
    loaded = load([good_key, Source("z.yaml", b"arn: ["), good_secret, Source("c.yaml", b"")])
    assert [f.path for f in loaded.files] == ["a/secret.json", "b/key.yaml"]
    assert [e.path for e in loaded.errors] == ["c.yaml", "z.yaml"]


def test_two_files_for_one_resource_are_both_errors_and_neither_declares() -> None:
    first = Source("one.yaml", yaml_file(f"arn: {KEY}", "mode: enforce"))
    second = Source("two.yaml", yaml_file(f"arn: {KEY}", "mode: detect"))
    loaded = load([second, first, Source("s.yaml", yaml_file(f"arn: {SECRET}", "mode: detect"))])
    assert [f.path for f in loaded.files] == ["s.yaml"]
    assert [str(e) for e in loaded.errors] == [
        f"one.yaml: arn: {KEY} is declared in two.yaml too",
        f"two.yaml: arn: {KEY} is declared in one.yaml too",
    ]


def test_the_example_directory_loads() -> None:
    """docs/examples/declarations cannot rot: the story's two resources, no error."""
    loaded = load(read_directory(EXAMPLES))
    assert loaded.errors == ()
    by_account = {f.arn.split(":")[4]: f for f in loaded.files}
    assert sorted(by_account) == [DATA, SECURITY]
    assert by_account[SECURITY].policy == key_policy()
    assert by_account[DATA].policy == secret_policy()
    assert all(f.mode is Mode.ENFORCE and f.owner and f.ticket for f in loaded.files)


def test_reading_a_directory_skips_hidden_files_and_other_suffixes(tmp_path: Path) -> None:
    for name in ("a.yaml", "b/c.yml", "d.json", "e.md", ".f.yaml", ".git/g.yaml", "h.YAML"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert [s.path for s in read_directory(tmp_path)] == ["a.yaml", "b/c.yml", "d.json", "h.YAML"]


# --------------------------------------------------------------------------- comparing


@pytest.mark.parametrize(
    ("declared_policy", "mode", "same"),
    [
        (key_policy(), Mode.ENFORCE, True),
        (dict(reversed(list(key_policy().items()))), Mode.ENFORCE, True),  # key order aside
        (key_policy(), Mode.DETECT, False),
        (key_policy() | {"Id": "other"}, Mode.ENFORCE, False),
        ("{not json", Mode.ENFORCE, False),
    ],
    ids=["equal", "key-order", "mode", "policy", "unreadable"],
)
def test_a_file_is_the_same_as_a_declaration_with_its_mode_and_document(
    declared_policy: Any, mode: Mode, same: bool
) -> None:
    file = DeclarationFile("k.yaml", KEY, Mode.ENFORCE, key_policy())
    assert file.same_as(declared(KEY, declared_policy, mode)) is same


# --------------------------------------------------------------------------- writing


def test_an_exported_file_is_stable_and_in_a_fixed_order() -> None:
    file = DeclarationFile(
        "k.yaml", KEY, Mode.DETECT, {"Version": "2012-10-17", "Statement": []}, "ops", "SEC-9"
    )
    assert render(file) == (
        "# A driftguard declaration: see docs/declarations-as-code.md\n"
        f"arn: {KEY}\n"
        "mode: detect\n"
        "owner: ops\n"
        "ticket: SEC-9\n"
        "policy:\n"
        "  Version: '2012-10-17'\n"
        "  Statement: []\n"
    )
    assert render(file) == render(DeclarationFile("other.yaml", **_fields(file)))


def _fields(file: DeclarationFile) -> dict[str, Any]:
    return {k: getattr(file, k) for k in ("arn", "mode", "policy", "owner", "ticket")}


TRICKY = {
    "Version": "2012-10-17",
    "Id": "0777",
    "Statement": [
        {
            "Sid": "on",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::012345670123:root"},
            "Action": ["kms:Decrypt"],
            "Resource": "*",
            "Condition": {
                "NumericLessThan": {"aws:MultiFactorAuthAge": 3600},
                "Bool": {"aws:SecureTransport": "true", "aws:ViaAWSService": False},
                "StringEquals": {"aws:PrincipalTag/team": "zürich: a, b # c"},
            },
        }
    ],
}


@pytest.mark.parametrize(
    "policy", [key_policy(), secret_policy(), TRICKY], ids=["key", "secret", "tricky"]
)
def test_export_then_load_is_the_declaration_again(policy: dict[str, Any]) -> None:
    declaration = declared(KEY, policy)
    files, errors = export_files([declaration])
    assert errors == ()
    loaded = load(Source(path, text.encode()) for path, text in files.items())
    assert loaded.errors == ()
    (file,) = loaded.files
    assert file.policy == policy and file.same_as(declaration)
    assert json.loads(file.policy_text) == policy


def test_a_public_declaration_is_exported_with_allow_public() -> None:
    public = secret_policy()
    public["Statement"][0]["Principal"] = {"AWS": "*"}
    assert declaration_file(declared(SECRET, public), "s.yaml").allow_public
    assert not declaration_file(declared(SECRET, secret_policy()), "s.yaml").allow_public
    (text,) = export_files([declared(SECRET, public)])[0].values()
    assert "\nallow_public: true\n" in text


def test_an_unreadable_declaration_is_not_exported_and_is_named() -> None:
    files, errors = export_files([declared(KEY, "{not json"), declared(SECRET, secret_policy())])
    assert list(files) == ["222222222222/secret-testsecret.yaml"]
    (error,) = errors
    assert str(error).startswith(f"{KEY}: its declared policy is unreadable")


def test_file_names_say_account_kind_and_name_and_are_never_taken_twice() -> None:
    west = SECRET.replace("us-east-1", "eu-west-1")
    slashed = "arn:aws:secretsmanager:us-east-1:222222222222:secret:team/db+1-Zz9Yy8"
    underscored = "arn:aws:secretsmanager:us-east-1:222222222222:secret:team_db_1-Qq1Ww2"
    names = file_names([declared(a, {}) for a in (KEY, SECRET, west, slashed, underscored)])
    assert names[KEY] == "333333333333/kms-key-1234abcd-12ab-34cd-56ef-1234567890ab.yaml"
    assert names[SECRET] == "222222222222/secret-testsecret-us-east-1.yaml"
    assert names[west] == "222222222222/secret-testsecret-eu-west-1.yaml"
    assert names[slashed].startswith("222222222222/secret-team_db_1-us-east-1-")
    assert names[underscored].startswith("222222222222/secret-team_db_1-us-east-1-")
    assert len(set(names.values())) == len(names)
    alone = file_names([declared(SECRET, {})])
    assert alone[SECRET] == "222222222222/secret-testsecret.yaml"
