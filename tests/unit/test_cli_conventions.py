"""What every AWS user has in their fingers: global options anywhere on the line,
AWS_REGION, --output, --version, --debug, resources by key ID, alias or secret name,
and one set of exit codes. No sockets: the parts are pure or take fakes."""

from __future__ import annotations

import io
import re
from argparse import Namespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from driftguard.errors import ConfigError, ResourceNotFoundError
from driftguard_cli.context import Context, write_csv
from driftguard_cli.exit_codes import (
    EXIT_CODES_HELP,
    EXIT_DRIFT,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
)
from driftguard_cli.main import build_parser, explain
from driftguard_cli.resources import AmbiguousNameError, Resolver, match_declared
from driftguard_cli.stack import ORGANIZATION, STACK_OUTPUTS, TUNABLES, settings_from_outputs
from tests.support.cli import run_cli_full

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:us-east-1:333333333333:key/{KEY_ID}"
SECRET = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"
OTHER = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:testsecret-XyZ123"


@pytest.mark.parametrize(
    "argv",
    [
        ["--profile", "p", "--region", "eu-west-1", "status"],
        ["status", "--profile", "p", "--region", "eu-west-1"],
        ["--profile", "p", "status", "--region", "eu-west-1"],
    ],
)
def test_profile_and_region_are_read_anywhere_on_the_line(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.profile, args.region) == ("p", "eu-west-1")


def test_an_option_before_the_command_is_not_reset_by_the_command() -> None:
    args = build_parser().parse_args(["--debug", "--color", "never", "status"])
    assert args.debug and args.color == "never"
    assert build_parser().parse_args(["status"]).debug is False


def _context(argv: list[str], environ: dict[str, str]) -> Context:
    return Context.create(build_parser().parse_args(argv), io.StringIO(), io.StringIO(), environ)


@pytest.mark.parametrize(
    ("argv", "environ", "region"),
    [
        (["status"], {"AWS_REGION": "eu-west-1"}, "eu-west-1"),
        (["status"], {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"}, "eu-west-1"),
        (["status"], {"AWS_DEFAULT_REGION": "us-east-2"}, "us-east-2"),
        (["status", "--region", "ap-south-1"], {"AWS_REGION": "eu-west-1"}, "ap-south-1"),
    ],
)
def test_the_region_is_chosen_as_the_aws_cli_chooses_it(
    argv: list[str], environ: dict[str, str], region: str
) -> None:
    assert _context(argv, environ).region == region


def test_version_is_printed_and_exits_0() -> None:
    code, out, _ = run_cli_full("--version")
    assert code == EXIT_OK and re.fullmatch(r"driftguard \S+\n", out)


def test_the_exit_codes_are_one_set_and_documented() -> None:
    assert (EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_NOT_FOUND) == (0, 1, 2, 3)
    for code, meaning in ((0, "ok"), (1, "drift"), (2, "usage"), (3, "not found")):
        assert f"{code} {meaning}" in EXIT_CODES_HELP.replace("\n", " ")


def test_csv_has_a_row_per_item_and_flattens_lists() -> None:
    out = io.StringIO()
    write_csv(out, [{"arn": KEY, "findings": ["widened", "orphaned-principal"]}, {"arn": SECRET}])
    assert out.getvalue().splitlines() == [
        "arn,findings",
        f"{KEY},widened;orphaned-principal",
        f"{SECRET},",
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (KEY_ID, [KEY]),
        ("testsecret", [OTHER, SECRET]),
        ("testsecret-AbCdEf", [SECRET]),
        ("nothing", []),
        ("mrk-" + "0" * 32, []),
    ],
)
def test_names_match_declared_resources(text: str, found: list[str]) -> None:
    assert match_declared(text, [KEY, SECRET, OTHER]) == found


def _resolver(declared: list[str], keys: dict[str, str]) -> Resolver:
    return Resolver(lambda: declared, keys.get, lambda: "333333333333 us-east-1")


def test_a_resolver_turns_every_name_into_one_arn() -> None:
    undeclared = "9" * 8 + "-1111-2222-3333-" + "4" * 12
    resolver = _resolver([KEY, SECRET], {"alias/app": KEY, undeclared: "x"})
    assert resolver.arn(KEY) == KEY
    assert resolver.arn(KEY_ID) == KEY
    assert resolver.arn("alias/app") == KEY
    assert resolver.arn("testsecret") == SECRET
    assert resolver.arn(undeclared) == "x"  # not declared: KMS knows it


def test_a_resolver_names_what_it_could_not_find() -> None:
    resolver = _resolver([SECRET, OTHER], {})
    with pytest.raises(ResourceNotFoundError, match="key alias alias/gone not found in 333"):
        resolver.arn("alias/gone")
    with pytest.raises(AmbiguousNameError, match="names 2 declared resources"):
        resolver.arn("testsecret")
    with pytest.raises(ResourceNotFoundError, match="not an ARN, a key ID or alias"):
        resolver.arn("not-an-arn")


def _refusal(code: str, operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "Requested resource not found"}}, operation
    )


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (ResourceNotFoundError("no such key"), EXIT_NOT_FOUND, "no such key"),
        (ConfigError("give --mode"), EXIT_USAGE, "error: give --mode"),
        (
            FileNotFoundError(2, "No such file or directory", "p.json"),
            EXIT_USAGE,
            "error: no such file or directory: p.json",
        ),
        (NoCredentialsError(), EXIT_USAGE, "no AWS credentials: set AWS_PROFILE"),
        (
            _refusal("ResourceNotFoundException", "Query"),
            EXIT_USAGE,
            "table driftguard-state not found in eu-west-1",
        ),
        (
            _refusal("AccessDeniedException", "GetKeyPolicy"),
            EXIT_USAGE,
            "AWS error: AccessDeniedException: Requested resource not found (GetKeyPolicy)",
        ),
    ],
)
def test_every_failure_is_one_line_naming_what_is_missing(
    exc: Exception, code: int, message: str
) -> None:
    ctx = _context(["status"], {"TABLE_NAME": "driftguard-state", "AWS_REGION": "eu-west-1"})
    got_code, got_message = explain(exc, ctx)
    assert (got_code, message in got_message) == (code, True), got_message
    assert "Errno" not in got_message


def test_a_missing_setting_points_at_the_stack() -> None:
    from driftguard.config import StoreConfig

    with pytest.raises(ConfigError) as raised:
        StoreConfig.from_env({})
    code, message = explain(raised.value, _context(["status"], {}))
    assert code == EXIT_USAGE
    assert message == "error: not set: TABLE_NAME (pass --stack NAME or set DRIFTGUARD_STACK)"


def test_a_bug_is_not_turned_into_a_message() -> None:
    with pytest.raises(KeyError):
        explain(KeyError("x"), _context(["status"], {}))


def test_stack_outputs_become_the_functions_settings() -> None:
    outputs = {name: f"value-of-{name}" for name in STACK_OUTPUTS}
    outputs["GuardedAccountIds"] = ORGANIZATION
    arn = "arn:aws-us-gov:cloudformation:us-gov-west-1:333333333333:stack/driftguard/abc"
    settings = settings_from_outputs(arn, outputs)
    assert settings["TABLE_NAME"] == "value-of-StateTableName"
    assert settings["MEMBER_ACCOUNT_IDS"] == "" and settings["PARTITION"] == "aws-us-gov"
    assert TUNABLES.items() <= settings.items()
    del outputs["SweepQueueUrl"]
    with pytest.raises(ConfigError, match="stack driftguard has no output SweepQueueUrl"):
        settings_from_outputs(arn, outputs)


def test_debug_lines_name_the_call_and_never_its_payload() -> None:
    from driftguard_cli.debug import CallLog

    err = io.StringIO()
    ticks = iter([1.0, 1.25])
    log = CallLog(err, clock=lambda: next(ticks))
    model: Any = Namespace(name="GetKeyPolicy", service_model=Namespace(service_name="kms"))
    context: dict[str, Any] = {}
    log._before(model=model, context=context, request_signer=Namespace(region_name="us-east-1"))
    parsed = {
        "Policy": "SECRET-POLICY",
        "ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": 2},
    }
    log._after(context=context, parsed=parsed)
    assert err.getvalue() == "aws: kms.GetKeyPolicy us-east-1 -> 200 (250 ms, 2 retries)\n"
    assert "THE-POLICY" not in err.getvalue()
