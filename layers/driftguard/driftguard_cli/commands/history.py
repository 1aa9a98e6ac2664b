"""`driftguard history`: one resource's audit history, as a timeline."""

from __future__ import annotations

from dataclasses import asdict

from driftguard_cli import views
from driftguard_cli.commands._common import (
    Subparsers,
    command,
    json_flag,
    positive,
    resource_arn,
)
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_OK

NAMES = ("history",)


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "history",
        "audit history of one resource, as a timeline",
        "Every audit entry, oldest first, grouped by day: what happened, the time since the\n"
        "entry before, who made the change (from CloudTrail) and what changed.\n"
        "Exit 1 when the resource has no history.",
        "  driftguard history arn:aws:kms:us-east-1:333333333333:key/1234abcd-...\n"
        "  driftguard history arn:aws:kms:us-east-1:333333333333:key/1234abcd-... --limit 5",
    )
    resource_arn(parser)
    parser.add_argument("--limit", type=positive, help="only the last N entries")
    json_flag(parser)


def run(ctx: Context) -> int:
    args = ctx.args
    entries = ctx.store.history(args.arn)
    if args.limit:
        entries = entries[-args.limit :]
    if ctx.wants_json:
        ctx.dump([asdict(e) for e in entries])
    elif entries:
        ctx.show(views.history_view(args.arn, entries, width=ctx.console.width))
    if not entries:
        return ctx.fail(f"no history for {args.arn}")
    return EXIT_OK
