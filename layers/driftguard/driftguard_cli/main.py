"""`driftguard`: the security team's command line.

Reads its settings from the hub stack's outputs (`--stack NAME`, $DRIFTGUARD_STACK) or
the same environment variables as the functions (TABLE_NAME, REMEDIATION_ROLE_NAME,
...), AWS's own (AWS_PROFILE, AWS_REGION) and flags, which may come anywhere on the line.
Exit codes (`exit_codes`): 0 ok, 1 drift or changes found, 2 usage or configuration
error, 3 not found.

One module per command in `driftguard_cli.commands` (see `_common.Command`); this
module assembles their parsers, runs the one asked for with a `Context`, and turns
every failure into its exit code and one line on stderr (`explain`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from importlib.metadata import PackageNotFoundError, version
from types import MappingProxyType
from typing import Final, TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from driftguard.errors import DriftguardError, MissingSettingError, ResourceNotFoundError
from driftguard_cli.commands import (
    approve,
    declarations_as_code,
    declare,
    demo,
    drift,
    history,
    paths,
    principals,
    replay_dlq,
    report,
    sandbox,
    scan,
    status,
    whois,
)
from driftguard_cli.commands._common import Command, describe_error, global_options
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import (
    EXIT_CODES_HELP,
    EXIT_DRIFT,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
)

__all__ = [
    "COMMANDS",
    "EXIT_DRIFT",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

# In the order `driftguard --help` lists them.
COMMANDS: Final[tuple[Command, ...]] = (
    declare,
    declarations_as_code,
    status,
    drift,
    history,
    paths,
    principals,
    approve,
    whois,
    scan,
    replay_dlq,
    report,
    demo,
    sandbox,
)

EXAMPLES: Final = f"""examples:
  driftguard adopt arn:aws:kms:us-east-1:333333333333:key/1234abcd-... --mode enforce
  driftguard status --state orphaned-principal
  driftguard drift arn:aws:kms:us-east-1:333333333333:key/1234abcd-...
  driftguard whois AROAEXAMPLEID1234567X
  driftguard report --html driftguard.html

settings: --stack NAME (or $DRIFTGUARD_STACK) reads them all from the hub stack's
outputs; otherwise the functions' environment variables (TABLE_NAME, SIGNING_KEY_ID,
REMEDIATION_ROLE_NAME, ...). AWS_PROFILE and AWS_REGION (or --profile, --region) as for
the aws CLI. A resource may be named by ARN, key ID, key alias or secret name.
Run `driftguard COMMAND --help` for each command.

{EXIT_CODES_HELP}
"""


def _by_name(commands: Sequence[Command]) -> Mapping[str, Command]:
    found: dict[str, Command] = {}
    for module in commands:
        for name in module.NAMES:
            assert name not in found, f"two commands named {name}"
            found[name] = module
    return MappingProxyType(found)


_BY_NAME: Final = _by_name(COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftguard",
        description="Keep KMS key policies and secret policies at their declared state.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[global_options(anywhere=False)],
    )
    parser.add_argument("--version", action="version", version=f"driftguard {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def _version() -> str:
    try:
        return version("driftguard")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """`stdin`: where a question's answer is read (`declare`, `adopt` at a terminal)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        with redirect_stdout(out), redirect_stderr(err):  # argparse prints to sys.*
            args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    ctx = Context.create(args, out, err, stdin=stdin)
    try:
        if getattr(args, "arn", None):  # a key ID, an alias or a secret name will do
            args.arn = ctx.resolver.arn(args.arn)
        return _BY_NAME[args.command].run(ctx)
    except Exception as exc:
        code, message = explain(exc, ctx)
        print(f"driftguard: {message}", file=err)
        return code


def explain(exc: Exception, ctx: Context) -> tuple[int, str]:
    """An exit code and one line for a failure: what is missing or refused, in the
    words of the setting or resource, never a traceback or an errno."""
    if isinstance(exc, ResourceNotFoundError):
        return EXIT_NOT_FOUND, str(exc)
    if isinstance(exc, MissingSettingError) and not ctx.stack_name:
        return EXIT_USAGE, f"error: {exc} (pass --stack NAME or set DRIFTGUARD_STACK)"
    if isinstance(exc, DriftguardError):
        return EXIT_USAGE, f"error: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return EXIT_USAGE, f"error: {exc.strerror.lower()}{where}"
    if isinstance(exc, ClientError):
        return EXIT_USAGE, _aws_refused(exc, ctx)
    if isinstance(exc, NoCredentialsError):
        return EXIT_USAGE, "error: no AWS credentials: set AWS_PROFILE or pass --profile"
    if isinstance(exc, NoRegionError):
        return EXIT_USAGE, "error: no AWS region: set AWS_REGION or pass --region"
    if isinstance(exc, BotoCoreError):
        return EXIT_USAGE, f"AWS error: {exc}"
    raise exc


def _aws_refused(exc: ClientError, ctx: Context) -> str:
    error = exc.response.get("Error", {})
    if error.get("Code") == "ResourceNotFoundException" and exc.operation_name in _TABLE_CALLS:
        table = ctx.environ.get("TABLE_NAME", "?")
        return (
            f"error: table {table} not found in {ctx.region} "
            "(check --table, $TABLE_NAME or --stack)"
        )
    return f"AWS error: {describe_error(exc)} ({exc.operation_name})"


_TABLE_CALLS: Final = frozenset(
    {
        "GetItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
        "BatchWriteItem",
        "DescribeTable",
    }
)


if __name__ == "__main__":
    raise SystemExit(main())
