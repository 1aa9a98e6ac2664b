"""`driftguard scan`: every declared resource's live policy against its declaration
(read only); with --remediate, the reconciler's sweep (restore, record, alert)."""

from __future__ import annotations

from collections import defaultdict

from botocore.exceptions import BotoCoreError, ClientError
from rich.progress import Progress, TaskID

from driftguard import kinds
from driftguard.decision import observed_status
from driftguard.errors import DriftguardError
from driftguard.model import StatusRecord
from driftguard.principals import PrincipalLookup
from driftguard.vocabulary import Outcome
from driftguard_cli import views
from driftguard_cli.answers import ScanRow
from driftguard_cli.commands._common import Subparsers, command, describe_error, json_flag
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_OK

NAMES = ("scan",)


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
    """One read-only look per declared resource, account by account."""
    by_account: dict[str, list[StatusRecord]] = defaultdict(list)
    for record in ctx.store.iter_statuses():
        by_account[record.account].append(record)
    total = sum(len(records) for records in by_account.values())
    rows: list[ScanRow] = []
    lookup = ctx.inspector.lookup()  # each principal looked up once for the whole scan
    with ctx.progress() as progress:
        bars = _Bars(progress, accounts=len(by_account), resources=total)
        for account in sorted(by_account):
            bars.account(account)
            for record in sorted(by_account[account], key=lambda r: (r.kind, r.arn)):
                rows.append(scan_one(ctx, lookup, record))
                bars.resource_done()
            bars.account_done()
    return rows


def scan_one(ctx: Context, lookup: PrincipalLookup, record: StatusRecord) -> ScanRow:
    """The functions' own read-only look: a declaration failing its integrity check is
    an error here exactly as there."""
    arn, account, kind = record.arn, record.account, record.kind
    try:
        observation = ctx.inspector.look(kinds.target(arn, kind), lookup)
    except (DriftguardError, ClientError, BotoCoreError) as exc:
        return ScanRow(arn, account, kind, "error", error=describe_error(exc))
    if observation is None:
        return ScanRow(arn, account, kind, "error", error="status without a declaration")
    classification = observation.classification
    return ScanRow(
        arn=arn,
        account=account,
        kind=kind,
        status=observed_status(observation).value,
        findings=observation.findings,
        severity=classification.severity.value if classification else "none",
        error=observation.reason or None,
    )


# --------------------------------------------------------------------------- sweep


def sweep(ctx: Context) -> int:
    """`scan --remediate`: the reconciler's sweep, here, as the caller."""
    from driftguard.runtime import Runtime  # the functions' settings, only when asked

    runtime = Runtime.from_env(session=ctx.session, environ=ctx.environ)
    with ctx.progress() as progress:
        task = None
        if progress is not None:
            count = sum(1 for _ in ctx.store.iter_statuses())
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
