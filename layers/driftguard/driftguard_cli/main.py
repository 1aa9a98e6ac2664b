"""`driftguard`: the security team's command line.

Reads the same environment variables as the functions (TABLE_NAME, AWS_REGION,
REMEDIATION_ROLE_NAME, ALERT_TOPIC_ARN, DEAD_LETTER_QUEUE_URL, ...), or flags.
Exit codes: 0 ok, 1 drift found or not found, 2 usage or configuration error.

One module per command in `driftguard_cli.commands` (see `_common.Command`); this
module assembles their parsers, runs the one asked for with a `Context`, and turns
errors into exit code 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from types import MappingProxyType
from typing import Final, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from driftguard.errors import DriftguardError
from driftguard_cli.commands import (
    approve,
    declare,
    demo,
    drift,
    history,
    principals,
    replay_dlq,
    report,
    scan,
    status,
    whois,
)
from driftguard_cli.commands._common import Command, describe_error
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_CODES_HELP, EXIT_DRIFT, EXIT_OK, EXIT_USAGE

__all__ = ["COMMANDS", "EXIT_DRIFT", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

# In the order `driftguard --help` lists them.
COMMANDS: Final[tuple[Command, ...]] = (
    declare,
    status,
    drift,
    history,
    principals,
    approve,
    whois,
    scan,
    replay_dlq,
    report,
    demo,
)

EXAMPLES: Final = f"""examples:
  driftguard adopt arn:aws:kms:us-east-1:333333333333:key/1234abcd-... --mode enforce
  driftguard status --state orphaned-principal
  driftguard drift arn:aws:kms:us-east-1:333333333333:key/1234abcd-...
  driftguard whois AROAEXAMPLEID1234567X
  driftguard report --html driftguard.html

environment: TABLE_NAME, AWS_REGION (or --table, --region); REMEDIATION_ROLE_NAME for
commands that read member accounts; the functions' settings for scan --remediate and
replay-dlq. Run `driftguard COMMAND --help` for each command.

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
    )
    parser.add_argument("--table", help="state table name (default: $TABLE_NAME)")
    parser.add_argument("--region", help="AWS region of the state table (default: $AWS_REGION)")
    parser.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour the output: auto (a terminal, unless NO_COLOR is set), always, never",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(subparsers)
    return parser


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
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _BY_NAME[args.command].run(Context.create(args, out, err, stdin=stdin))
    except (DriftguardError, OSError) as exc:
        print(f"driftguard: error: {exc}", file=err)
    except ClientError as exc:
        print(f"driftguard: AWS error: {describe_error(exc)}", file=err)
    except BotoCoreError as exc:
        print(f"driftguard: AWS error: {exc}", file=err)
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
