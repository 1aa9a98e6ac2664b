"""What every command module shares: its interface, the parser factory (summary,
description, examples and exit codes in every `--help`), common options and the
argument types."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias

from botocore.exceptions import ClientError

from driftguard.policy import is_unique_id
from driftguard.vocabulary import Mode
from driftguard_cli.exit_codes import EXIT_CODES_HELP, EXIT_USAGE

if TYPE_CHECKING:
    from driftguard_cli.context import Context

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Command(Protocol):
    """A command module: the subcommands it adds, and what running one does."""

    @property
    def NAMES(self) -> tuple[str, ...]:
        """The subcommands `register` adds (`declare` adds two)."""
        ...

    def register(self, subparsers: Subparsers) -> None:
        """Add the subcommands' parsers: help, description, examples, arguments."""
        ...

    def run(self, ctx: Context) -> int:
        """Run the parsed command (`ctx.args.command` is one of NAMES); the exit code."""
        ...


def global_options(*, anywhere: bool) -> argparse.ArgumentParser:
    """The options every AWS user types anywhere on the line (`--profile`, `--region`...).

    The main parser gets them with their defaults; each subcommand gets them again with
    no default at all (`anywhere`), so one given after the command is read and one given
    before it is not overwritten."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("global options (before or after the command)")

    def default(value: object) -> object:
        return argparse.SUPPRESS if anywhere else value

    group.add_argument("--profile", default=default(None), help="AWS named profile")
    group.add_argument(
        "--region",
        default=default(None),
        help="AWS region of driftguard's hub (default: $AWS_REGION, $AWS_DEFAULT_REGION, "
        "the profile's)",
    )
    group.add_argument(
        "--stack",
        default=default(None),
        help="read the settings from the hub stack's outputs (default: $DRIFTGUARD_STACK)",
    )
    group.add_argument(
        "--table", default=default(None), help="state table name (default: $TABLE_NAME)"
    )
    group.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default=default("auto"),
        help="colour the output: auto (a terminal, unless NO_COLOR is set), always, never",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="show every AWS call on stderr (operation, status, time; never a payload)",
    )
    return parser


_ANYWHERE: Final = global_options(anywhere=True)


def command(
    subparsers: Subparsers, name: str, summary: str, description: str, examples: str
) -> argparse.ArgumentParser:
    """A subcommand whose `--help` ends with its examples and the exit codes.
    `examples`: indented command lines, one per line."""
    return subparsers.add_parser(
        name,
        help=summary,
        description=f"{summary}.\n\n{description}",
        epilog=f"examples:\n{examples}\n\n{EXIT_CODES_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_ANYWHERE],
    )


OUTPUTS: Final = ("table", "json", "csv")


def json_flag(parser: argparse.ArgumentParser) -> None:
    """`--output table|json|csv`, and `--json` for `--output json`."""
    parser.add_argument(
        "--output",
        choices=OUTPUTS,
        default="table",
        help="table (for people), json or csv (for scripts) on stdout",
    )
    parser.add_argument(
        "--json", dest="output", action="store_const", const="json", help="same as --output json"
    )


def resource_arn(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "arn",
        metavar="RESOURCE",
        help="the resource's ARN, or a KMS key ID or alias, or a declared secret's name",
    )


def mode_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        help="enforce (restore) or detect (alert only); default: $DEFAULT_MODE",
    )


# --------------------------------------------------------------------------- argument types


def role_arn(value: str) -> str:
    """argparse type: an IAM role ARN."""
    parts = value.split(":", 5)
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or parts[2] != "iam"
        or not parts[5].startswith("role/")
    ):
        raise argparse.ArgumentTypeError(f"not an IAM role ARN: {value!r}")
    return value


def unique_id(value: str) -> str:
    """argparse type: an IAM role or user unique ID (AROA.../AIDA..., maybe :session)."""
    if not is_unique_id(value):
        raise argparse.ArgumentTypeError(
            f"not an IAM role or user unique id (AROA... or AIDA..., 21 characters): {value!r}"
        )
    return value.split(":", 1)[0]


def positive(value: str) -> int:
    """argparse type: a whole number above zero."""
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {value}")
    return number


# --------------------------------------------------------------------------- errors


def without_local_aws(ctx: Context, exc: ImportError, what: str) -> int:
    """`demo` and `sandbox` when moto (the sandbox extra) is not installed: how to get it."""
    return ctx.fail(
        f"{what} needs the local AWS ({exc.name} is not installed): "
        'pip install "driftguard[sandbox]"',
        EXIT_USAGE,
    )


def describe_error(exc: Exception) -> str:
    """An AWS error as "Code: Message", anything else as its text."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return str(exc)
