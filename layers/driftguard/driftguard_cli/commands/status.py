"""`driftguard status`: every declared resource's recorded status."""

from __future__ import annotations

from collections.abc import Iterator

from driftguard.model import StatusRecord
from driftguard.state import StateStore
from driftguard.sweep import ResourceFilter
from driftguard_cli import views
from driftguard_cli.answers import sorted_records, status_json
from driftguard_cli.commands._common import Subparsers, command, json_flag
from driftguard_cli.commands._filters import filter_options, resource_filter
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_OK

NAMES = ("status",)


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "status",
        "status of every declared resource",
        "One row per declared resource as the state table records it: its status, the\n"
        "severity of the worst finding and every finding; the worst first (severity, then\n"
        "status, then the newest). Then why, for every resource with a problem. At a\n"
        "narrow terminal each resource takes a few lines instead of one.\n"
        "Reads only the state table. Exit 1 when any resource listed is not in sync\n"
        "(a problem: drifted, orphaned, error...), 0 when all are.",
        "  driftguard status\n"
        "  driftguard status --state orphaned-principal,pending-principal\n"
        "  driftguard status --account 222222222222 --kind secret --json\n"
        "  driftguard status --account 111111111111 --account 222222222222 "
        "--resource-region eu-west-1",
    )
    filter_options(parser)
    json_flag(parser)


def run(ctx: Context) -> int:
    only = resource_filter(ctx.args)
    records = sorted_records(
        r
        for r in _candidates(ctx.store, only)
        if only.matches(r.account, r.region, r.kind, r.status)
    )
    if ctx.wants_json:
        ctx.dump([status_json(r) for r in records])
    else:
        ctx.show(views.status_view(records, width=ctx.console.width))
    return EXIT_DRIFT if any(r.status.is_problem for r in records) else EXIT_OK


def _candidates(store: StateStore, only: ResourceFilter) -> Iterator[StatusRecord]:
    """The narrowest queries the table answers (one per account, else one per status,
    each narrowed by a single kind or status); the caller filters the rest."""
    kind = next(iter(only.kinds)) if len(only.kinds) == 1 else None
    status = next(iter(only.statuses)) if len(only.statuses) == 1 else None
    if only.accounts:
        for account in sorted(only.accounts):
            yield from store.iter_statuses(account=account, kind=kind, status=status)
    elif only.statuses:
        for each in sorted(only.statuses):
            yield from store.iter_statuses(status=each, kind=kind)
    else:
        yield from store.iter_statuses(kind=kind)
