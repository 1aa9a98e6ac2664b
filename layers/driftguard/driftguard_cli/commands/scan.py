"""`driftguard scan`: every declared resource's live policy against its declaration
(read only); with --remediate, the reconciler's sweep (restore, record, alert)."""

from __future__ import annotations

from rich.progress import Progress, TaskID

from driftguard.decision import Observation, observed_status
from driftguard.sweep import plan, survey
from driftguard.vocabulary import Outcome
from driftguard_cli import views
from driftguard_cli.answers import ScanRow
from driftguard_cli.commands._common import Subparsers, command, describe_error, json_flag
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_OK

NAMES = ("scan",)
# Policy reads at once; the clients' limiter keeps them under half of each quota.
SCAN_THREADS = 16


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "scan",
        "compare every declared resource with its live policy",
        "Reads every declared resource's live policy, account by account (a progress bar\n"
        "on stderr when it is a terminal), and reports which are not in sync. With\n"
        "--remediate it runs the reconciler's sweep instead: restores (enforce mode),\n"
        "records and alerts. Exit 1 when anything is not in sync (or could not be read).",
        "  driftguard scan\n  driftguard scan --json\n  driftguard scan --remediate",
    )
    parser.add_argument(
        "--remediate", action="store_true", help="also restore (enforce mode) and alert"
    )
    json_flag(parser)


def run(ctx: Context) -> int:
    if ctx.args.remediate:
        return sweep(ctx)
    rows = scan(ctx)
    if ctx.args.json:
        ctx.dump([row.to_json() for row in rows])
    else:
        ctx.show(views.scan_view(rows))
    return EXIT_DRIFT if any(row.drifted for row in rows) else EXIT_OK


# --------------------------------------------------------------------------- scan


class _Bars:
    """The scan's two progress bars (accounts, resources), or nothing at all."""

    def __init__(self, progress: Progress | None, accounts: int, resources: int) -> None:
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


def scan(ctx: Context) -> list[ScanRow]:
    """One read-only look per declared resource, the sweep's way: an account and
    region at a time, their state in batched reads, their policies on threads under
    the quota limiter."""
    shards = sorted(plan(ctx.store.shards()), key=lambda s: (s.account, s.region))
    rows: list[ScanRow] = []
    with ctx.progress() as progress:
        bars = _Bars(progress, accounts=len(shards), resources=sum(s.resources for s in shards))
        for shard in shards:
            bars.account(f"{shard.account} {shard.region}")
            for arn, kind, seen in survey(ctx.store, ctx.inspector, shard, SCAN_THREADS):
                rows.append(scan_row(arn, shard.account, kind, seen))
                bars.resource_done()
            bars.account_done()
    return sorted(rows, key=lambda row: (row.account, row.kind, row.arn))


def scan_row(arn: str, account: str, kind: str, seen: Observation | Exception | None) -> ScanRow:
    """The functions' own read-only look: a declaration failing its integrity check is
    an error here exactly as there."""
    if isinstance(seen, Exception):
        return ScanRow(arn, account, kind, "error", error=describe_error(seen))
    if seen is None:
        return ScanRow(arn, account, kind, "error", error="status without a declaration")
    classification = seen.classification
    return ScanRow(
        arn=arn,
        account=account,
        kind=kind,
        status=observed_status(seen).value,
        findings=seen.findings,
        severity=classification.severity.value if classification else "none",
        error=seen.reason or None,
    )


# --------------------------------------------------------------------------- sweep


def sweep(ctx: Context) -> int:
    """`scan --remediate`: the reconciler's sweep, here, as the caller."""
    from driftguard.runtime import Runtime  # the functions' settings, only when asked

    runtime = Runtime.from_env(session=ctx.session, environ=ctx.environ)
    with ctx.progress() as progress:
        task = None
        if progress is not None:
            count = sum(shard.resources for shard in runtime.sweeper.plan())
            task = progress.add_task("sweeping declared resources", total=count)

        def advance(_result: object) -> None:
            if progress is not None and task is not None:
                progress.advance(task)

        results = runtime.sweeper.sweep(on_result=advance)
    if ctx.args.json:
        ctx.dump([r.as_dict() for r in results])
    else:
        ctx.show(
            views.sweep_view(
                [(r.outcome.value, r.status.value if r.status else "-", r.arn) for r in results]
            )
        )
    return EXIT_DRIFT if any(r.outcome is not Outcome.IN_SYNC for r in results) else EXIT_OK
