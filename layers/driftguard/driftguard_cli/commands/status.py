"""`driftguard status`: every declared resource's recorded status."""

from __future__ import annotations

from dataclasses import asdict

from driftguard import kinds
from driftguard.vocabulary import Status
from driftguard_cli import views
from driftguard_cli.commands._common import Subparsers, command, json_flag
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_OK

NAMES = ("status",)


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "status",
        "status of every declared resource",
        "One row per declared resource, coloured by status, as the state table records it\n"
        "(newest first within a status); then why, for every resource with a problem.\n"
        "Reads only the state table.",
        "  driftguard status\n"
        "  driftguard status --state orphaned-principal\n"
        "  driftguard status --account 222222222222 --kind secret --json",
    )
    parser.add_argument("--state", choices=[s.value for s in Status], help="only this status")
    parser.add_argument("--account", help="only resources in this account")
    parser.add_argument(
        "--kind", choices=[k.name for k in kinds.all_kinds()], help="only this resource kind"
    )
    json_flag(parser)


def run(ctx: Context) -> int:
    args = ctx.args
    records = list(
        ctx.store.iter_statuses(
            status=Status(args.state) if args.state else None, account=args.account, kind=args.kind
        )
    )
    if args.json:
        ctx.dump([asdict(r) for r in records])
    else:
        ctx.show(views.status_view(records))
    return EXIT_OK
