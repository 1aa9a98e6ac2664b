"""`driftguard report`: an HTML page (and/or JSON) of the state table; the report
itself is `driftguard_cli.report`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from driftguard.errors import ConfigError
from driftguard_cli.commands._common import Subparsers, command, json_flag, positive
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_OK

NAMES = ("report",)


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "report",
        "write an HTML report of the state table",
        "One self-contained page (no external assets) a security review can run from:\n"
        "open problems with their severity and since when, time to restore, the incidents\n"
        "(who changed what, what driftguard did, how long it took), a timeline, open\n"
        "orphaned principals, the access chain of every declared role, per-account counts\n"
        "and coverage, and every resource by account and kind. It prints well too.\n"
        "--json prints the same data.",
        "  driftguard report --html driftguard.html\n  driftguard report --days 7 --json",
    )
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the page to FILE")
    parser.add_argument(
        "--days",
        type=positive,
        default=30,
        help="window of the timeline, incidents and time to restore, in days (default: 30)",
    )
    json_flag(parser)


def run(ctx: Context) -> int:
    from driftguard_cli.report import collect, render_html  # jinja2, only when asked

    args = ctx.args
    if args.html is None and not ctx.wants_json:
        raise ConfigError("give --html FILE (and/or --json)")
    report = collect(
        ctx.store, table_name=ctx.table_name, generated_at=datetime.now(UTC), days=args.days
    )
    if args.html is not None:
        args.html.write_text(render_html(report), encoding="utf-8")
        ctx.say(
            f"wrote {args.html}: {len(report.resources)} resources, {len(report.timeline)} "
            f"audit entries, {len(report.incidents) + report.incidents_omitted} incidents, "
            f"{len(report.orphans)} open orphaned principals"
        )
    if ctx.wants_json:
        ctx.dump(report.to_json())
    return EXIT_OK
