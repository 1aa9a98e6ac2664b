"""`driftguard declare` (a policy file) and `driftguard adopt` (the live policy).

Both show what the new declaration changes before anything is signed or written: against
the current declaration (does it widen access?) and against the live policy (what the
next check changes). At a terminal they then ask; `--yes` does not. A pipeline (stdin or
stdout not a terminal) is never asked. Declining writes nothing and exits 2, as any
refusal to declare does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text

from driftguard.errors import ConfigError
from driftguard.vocabulary import Mode
from driftguard_cli import styles, views
from driftguard_cli.commands._common import Subparsers, command, mode_option, resource_arn
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_OK, EXIT_USAGE

NAMES = ("declare", "adopt")


def register(subparsers: Subparsers) -> None:
    declare = command(
        subparsers,
        "declare",
        "declare the policy a resource must have",
        "Validates the policy (no orphaned unique IDs; for keys, KMS's lockout check), shows\n"
        'what it changes against the current declaration ("widens access" when it grants\n'
        "more) and against the live policy, asks at a terminal (--yes skips the question;\n"
        "a pipeline is never asked), then signs and records it with its principals.\n"
        "Answering no writes nothing and exits 2.",
        "  driftguard declare \\\n"
        "      arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf \\\n"
        "      --policy-file testsecret-policy.json --mode enforce",
    )
    resource_arn(declare)
    declare.add_argument("--policy-file", required=True, type=Path, help="policy JSON file")
    mode_option(declare)
    public_option(declare)

    adopt = command(
        subparsers,
        "adopt",
        "declare the resource's live policy as its state",
        "Reads the live policy through the remediation role and declares it as it is,\n"
        "after showing what that changes against the current declaration and asking at a\n"
        "terminal, as declare does (--yes skips the question; answering no exits 2).",
        "  driftguard adopt arn:aws:kms:us-east-1:333333333333:key/1234abcd-... --mode detect",
    )
    resource_arn(adopt)
    mode_option(adopt)
    public_option(adopt)


def public_option(parser: Any) -> None:
    parser.add_argument(
        "--allow-public",
        action="store_true",
        help="accept a statement that grants everyone without a condition",
    )
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="declare without asking at a terminal (a pipeline is never asked)",
    )


def run(ctx: Context) -> int:
    args = ctx.args
    mode_name = args.mode or ctx.environ.get("DEFAULT_MODE")
    if not mode_name:
        raise ConfigError("give --mode or set DEFAULT_MODE")
    mode = Mode(mode_name)
    who = ctx.caller()
    if args.command == "declare":
        plan = ctx.declarations.plan(
            args.arn, args.policy_file.read_text(), mode, who, allow_public=args.allow_public
        )
    else:
        plan = ctx.declarations.plan_adoption(args.arn, mode, who, allow_public=args.allow_public)
    ctx.show(views.declaration_plan_view(plan))
    if not args.yes and ctx.interactive and not ctx.confirm("Declare this?"):
        return ctx.fail(f"declined: nothing declared for {plan.target}", EXIT_USAGE)
    declared = ctx.declarations.apply(plan)
    record = ctx.store.get_status(declared.arn)
    line = Text(f"declared {declared.arn} (version {declared.version}, {mode.value}): ")
    line.append_text(styles.status_text(record.status.value if record else "unknown"))
    ctx.show(line)
    return EXIT_OK
