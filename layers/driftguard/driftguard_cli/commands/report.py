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
        "One self-contained page (no external assets): every resource's state by account\n"
        "and kind, a timeline of drift and remediations, open orphaned principals and the\n"
        "most-changed resources. --json prints the same data.",
        "  driftguard report --html driftguard.html\n  driftguard report --days 7 --json",
    )
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the page to FILE")
    parser.add_argument(
        "--days", type=positive, default=30, help="timeline window in days (default: 30)"
    )
    json_flag(parser)


def run(ctx: Context) -> int:
    from driftguard_cli.report import collect, render_html  # jinja2, only when asked

    args = ctx.args
    if args.html is None and not args.json:
        raise ConfigError("give --html FILE (and/or --json)")
    report = collect(
        ctx.store, table_name=ctx.table_name, generated_at=datetime.now(UTC), days=args.days
    )
    if args.html is not None:
        args.html.write_text(render_html(report), encoding="utf-8")
        ctx.say(
            f"wrote {args.html}: {len(report.resources)} resources, {len(report.timeline)} "
            f"audit entries, {len(report.orphans)} open orphaned principals"
        )
    if args.json:
        ctx.dump(report.to_json())
    return EXIT_OK
