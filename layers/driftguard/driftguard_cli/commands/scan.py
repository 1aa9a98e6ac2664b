"""`driftguard scan`: every declared resource's live policy against its declaration
(read only); with --remediate, the reconciler's sweep (restore, record, alert)."""

from __future__ import annotations

from rich.progress import Progress, TaskID

from driftguard.decision import Observation, observed_status
from driftguard.sweep import ResourceFilter, plan, survey
from driftguard.vocabulary import Outcome
from driftguard_cli import views
from driftguard_cli.answers import ScanRow, sorted_scan, sweep_rows
from driftguard_cli.commands._common import Subparsers, command, describe_error, json_flag
from driftguard_cli.commands._filters import filter_options, resource_filter
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_OK, EXIT_USAGE

NAMES = ("scan",)
# Policy reads at once; the clients' limiter keeps them under half of each quota.
SCAN_THREADS = 16


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "scan",
        "compare every declared resource with its live policy",
        "Reads every declared resource's live policy, account by account (a progress bar\n"
        "on stderr when it is a terminal), and reports which are not in sync, the worst\n"
        "first. The filters narrow it to some accounts, regions, kinds or recorded\n"
        "statuses. Exit 1 when anything is not in sync (or could not be read).\n"
        "\n"
        "With --remediate it runs the reconciler's sweep instead, on the same resources:\n"
        "restores (enforce mode), records and alerts. At a terminal it first scans, shows\n"
        "what would be restored and asks (--yes skips the question; answering no writes\n"
        "nothing and exits 2); when not at a terminal it needs --yes (exit 2 without).",
        "  driftguard scan\n"
        "  driftguard scan --json --account 111111111111,222222222222 --kind secret\n"
        "  driftguard scan --remediate --state drifted\n"
        "  driftguard scan --remediate --yes --account 333333333333",
    )
    parser.add_argument(
        "--remediate", action="store_true", help="also restore (enforce mode) and alert"
    )
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="with --remediate: restore without asking (needed when not at a terminal)",
    )
    filter_options(parser)
    json_flag(parser)


def run(ctx: Context) -> int:
    only = resource_filter(ctx.args)
    if ctx.args.remediate:
        return remediate(ctx, only)
    rows = scan(ctx, only)
    if ctx.wants_json:
        ctx.dump([row.to_json() for row in rows])
    else:
        ctx.show(views.scan_view(rows, width=ctx.console.width))
    return EXIT_DRIFT if any(row.drifted for row in rows) else EXIT_OK


# --------------------------------------------------------------------------- scan


class _Bars:
    """The scan's two progress bars (accounts, resources), or nothing at all."""

    def __init__(self, progress: Progress | None, accounts: int, resources: int | None) -> None:
        self._progress = progress
        self._accounts: TaskID | None = None
        self._resources: TaskID | None = None
        if progress is not None:
            self._accounts = progress.add_task("accounts", total=accounts)
            self._resources = progress.add_task("resources", total=resources)

    def account(self, account: str) -> None:
        if self._progress is not None and self._resources is not None:
            self._progress.update(self._resources, description=f"resources in {account}")

    def resource_done(self) -> None:
        if self._progress is not None and self._resources is not None:
            self._progress.advance(self._resources)

    def account_done(self) -> None:
        if self._progress is not None and self._accounts is not None:
            self._progress.advance(self._accounts)


def scan(ctx: Context, only: ResourceFilter) -> list[ScanRow]:
    """One read-only look per declared resource `only` matches, the sweep's way: an
    account and region at a time, their state in batched reads, their policies on
    threads under the quota limiter. The worst first."""
    shards = sorted(
        (s for s in plan(ctx.store.shards()) if only.selects_shard(s.account, s.region)),
        key=lambda s: (s.account, s.region),
    )
    # Filtered within the shards, their planned counts are only an upper bound.
    total = None if only.within_shards else sum(s.resources for s in shards)
    rows: list[ScanRow] = []
    with ctx.progress() as progress:
        bars = _Bars(progress, accounts=len(shards), resources=total)
        for shard in shards:
            bars.account(f"{shard.account} {shard.region}")
            for arn, kind, seen in survey(ctx.store, ctx.inspector, shard, SCAN_THREADS, only):
                rows.append(scan_row(arn, shard.account, shard.region, kind, seen))
                bars.resource_done()
            bars.account_done()
    return sorted_scan(rows)


def scan_row(
    arn: str, account: str, region: str, kind: str, seen: Observation | Exception | None
) -> ScanRow:
    """The functions' own read-only look: a declaration failing its integrity check is
    an error here exactly as there."""
    if isinstance(seen, Exception) or seen is None:
        error = describe_error(seen) if seen is not None else "status without a declaration"
        return ScanRow(arn, account, kind, "error", error=error, region=region)
    classification = seen.classification
    return ScanRow(
        arn=arn,
        account=account,
        kind=kind,
        status=observed_status(seen).value,
        findings=seen.findings,
        severity=classification.severity.value if classification else "none",
        error=seen.reason or None,
        region=region,
        mode=seen.declared.mode.value,
    )


# --------------------------------------------------------------------------- sweep


def remediate(ctx: Context, only: ResourceFilter) -> int:
    """`scan --remediate`: at a terminal, what would be restored and a question first;
    elsewhere only with --yes (nobody is there to answer)."""
    if not ctx.args.yes:
        if not ctx.interactive:
            return ctx.fail("scan --remediate needs --yes when not at a terminal", EXIT_USAGE)
        if ctx.wants_json:  # the question would end up in the data
            return ctx.fail(f"scan --remediate --output {ctx.output} needs --yes", EXIT_USAGE)
        restorable = [row for row in scan(ctx, only) if row.restorable]
        if not restorable:
            ctx.say("nothing to restore: no resource in enforce mode is out of sync")
            return EXIT_OK
        ctx.show(views.scan_view(restorable, width=ctx.console.width))
        count = f"{len(restorable)} resource{'s' if len(restorable) != 1 else ''}"
        if not ctx.confirm(f"Restore {count}?"):
            return ctx.fail("declined: nothing restored", EXIT_USAGE)
    return sweep(ctx, only)


def sweep(ctx: Context, only: ResourceFilter) -> int:
    """The reconciler's sweep, here, as the caller, on the resources `only` matches."""
    from driftguard.runtime import Runtime  # the functions' settings, only when asked

    runtime = Runtime.from_env(session=ctx.session, environ=ctx.environ)
    with ctx.progress() as progress:
        task = None
        if progress is not None:
            shards = runtime.sweeper.plan(only)
            total = None if only.within_shards else sum(s.resources for s in shards)
            task = progress.add_task("sweeping declared resources", total=total)

        def advance(_result: object) -> None:
            if progress is not None and task is not None:
                progress.advance(task)

        # Unfiltered, exactly the scheduled sweep (which also counts what exists).
        results = runtime.sweeper.sweep(on_result=advance, only=only if only.narrows else None)
    loaded = ctx.store.load_many([r.arn for r in results])
    rows = sweep_rows(results, {arn: record for arn, (_, record) in loaded.items()})
    if ctx.wants_json:
        ctx.dump([row.to_json() for row in rows])
    else:
        ctx.show(views.sweep_view(rows, width=ctx.console.width))
    return EXIT_DRIFT if any(r.outcome is not Outcome.IN_SYNC for r in results) else EXIT_OK
