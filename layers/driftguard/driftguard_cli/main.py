"""`driftguard`: the security team's command line.

Reads the same environment variables as the functions (TABLE_NAME, AWS_REGION,
REMEDIATION_ROLE_NAME, ALERT_TOPIC_ARN, DEAD_LETTER_QUEUE_URL, ...), or flags.
Exit codes: 0 ok, 1 drift found or not found, 2 usage or configuration error.

Each command gathers its answer here (the only I/O), builds it with the pure
functions of `driftguard_cli.answers` / `driftguard_cli.report`, and shows it with
`driftguard_cli.views` (a terminal) or as JSON (`--json`, for scripts).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Final, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from driftguard import kinds
from driftguard.arns import principal_account, role_key
from driftguard.aws import AwsClients
from driftguard.config import StoreConfig
from driftguard.decision import observed_status
from driftguard.errors import ConfigError, DriftguardError
from driftguard.inspector import Inspector
from driftguard.model import StatusRecord
from driftguard.policy import is_unique_id
from driftguard.principals import PrincipalLookup
from driftguard.state import StateStore
from driftguard.vocabulary import Failure, Mode, Outcome, Status
from driftguard_cli import views as render
from driftguard_cli.answers import (
    PrincipalAnswer,
    ScanRow,
    WhoisAnswer,
    drift_answer,
    named_resources,
)
from driftguard_cli.declarations import Declarations

EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2
EXIT_NOT_FOUND: Final = EXIT_DRIFT

_EXIT_CODES = """exit codes: 0 ok, 1 drift found or not found, 2 usage or configuration error"""

EXAMPLES = f"""examples:
  driftguard adopt arn:aws:kms:us-east-1:333333333333:key/1234abcd-... --mode enforce
  driftguard status --state orphaned-principal
  driftguard drift arn:aws:kms:us-east-1:333333333333:key/1234abcd-...
  driftguard whois AROAEXAMPLEID1234567X
  driftguard report --html driftguard.html

environment: TABLE_NAME, AWS_REGION (or --table, --region); REMEDIATION_ROLE_NAME for
commands that read member accounts; the functions' settings for scan --remediate and
replay-dlq. Run `driftguard COMMAND --help` for each command.

{_EXIT_CODES}
"""


def _role_arn(value: str) -> str:
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


def _unique_id(value: str) -> str:
    """argparse type: an IAM role or user unique ID (AROA.../AIDA..., maybe :session)."""
    if not is_unique_id(value):
        raise argparse.ArgumentTypeError(
            f"not an IAM role or user unique id (AROA... or AIDA..., 21 characters): {value!r}"
        )
    return value.split(":", 1)[0]


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftguard",
        description="Keep KMS key policies and secret policies at their declared state.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--table", help="state table name (default: $TABLE_NAME)")
    parser.add_argument("--region", help="AWS region of the state table (default: $AWS_REGION)")
    parser.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour the output: auto (a terminal, unless NO_COLOR is set), always, never",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str, examples: str) -> Any:
        return sub.add_parser(
            name,
            help=summary,
            description=f"{summary}.\n\n{description}",
            epilog=f"examples:\n{examples}\n\n{_EXIT_CODES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def json_flag(p: Any) -> None:
        p.add_argument("--json", action="store_true", help="machine-readable output on stdout")

    mode_help = "enforce (restore) or detect (alert only); default: $DEFAULT_MODE"
    declare = command(
        "declare",
        "declare the policy a resource must have",
        "Validates the policy (no orphaned unique IDs; for keys, KMS's lockout check),\n"
        "records it with its principals, and compares it with the live policy.",
        "  driftguard declare \\\n"
        "      arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf \\\n"
        "      --policy-file testsecret-policy.json --mode enforce",
    )
    declare.add_argument("arn", metavar="RESOURCE_ARN")
    declare.add_argument("--policy-file", required=True, type=Path, help="policy JSON file")
    declare.add_argument("--mode", choices=[m.value for m in Mode], help=mode_help)

    adopt = command(
        "adopt",
        "declare the resource's live policy as its state",
        "Reads the live policy through the remediation role and declares it as it is.",
        "  driftguard adopt arn:aws:kms:us-east-1:333333333333:key/1234abcd-... --mode detect",
    )
    adopt.add_argument("arn", metavar="RESOURCE_ARN")
    adopt.add_argument("--mode", choices=[m.value for m in Mode], help=mode_help)

    status = command(
        "status",
        "status of every declared resource",
        "One row per declared resource, coloured by status, as the state table records it\n"
        "(newest first within a status); then why, for every resource with a problem.\n"
        "Reads only the state table.",
        "  driftguard status\n"
        "  driftguard status --state orphaned-principal\n"
        "  driftguard status --account 222222222222 --kind secret --json",
    )
    status.add_argument("--state", choices=[s.value for s in Status], help="only this status")
    status.add_argument("--account", help="only resources in this account")
    status.add_argument(
        "--kind", choices=[k.name for k in kinds.all_kinds()], help="only this resource kind"
    )
    json_flag(status)

    drift = command(
        "drift",
        "compare one resource's live policy with its declaration",
        "Reads the live policy now (through the remediation role) and shows what differs:\n"
        "the findings and their severity, unique IDs of deleted roles (and which role each\n"
        "was), principals and actions only in live (+, red) or only declared (-, yellow),\n"
        "and the statements involved. Changes nothing. Exit 1 when not in sync.",
        "  driftguard drift arn:aws:kms:us-east-1:333333333333:key/1234abcd-...\n"
        "  driftguard drift arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"
        " --json | jq .changes",
    )
    drift.add_argument("arn", metavar="RESOURCE_ARN")
    json_flag(drift)

    history = command(
        "history",
        "audit history of one resource, as a timeline",
        "Every audit entry, oldest first, grouped by day: what happened, the time since the\n"
        "entry before, who made the change (from CloudTrail) and what changed.\n"
        "Exit 1 when the resource has no history.",
        "  driftguard history arn:aws:kms:us-east-1:333333333333:key/1234abcd-...\n"
        "  driftguard history arn:aws:kms:us-east-1:333333333333:key/1234abcd-... --limit 5",
    )
    history.add_argument("arn", metavar="RESOURCE_ARN")
    history.add_argument("--limit", type=_positive, help="only the last N entries")
    json_flag(history)

    principals = command(
        "principals",
        "what driftguard knows about a role",
        "Which declared policies name the role (and their status), every unique ID the role\n"
        "is known to have had (earlier ones are what deleting it leaves in policies), and\n"
        "whether it exists now (iam:GetRole through the remediation role in its account).\n"
        "Exit 1 when driftguard knows nothing about it and it does not exist.",
        "  driftguard principals arn:aws:iam::111111111111:role/pod-role",
    )
    principals.add_argument("role_arn", metavar="ROLE_ARN", type=_role_arn)
    json_flag(principals)

    whois = command(
        "whois",
        "the role a unique ID (AROA...) belonged to",
        "Deleting a role leaves its unique ID in every policy that named it, and IAM has no\n"
        "API from a unique ID back to the role: driftguard records each role's ID when it\n"
        "sees the role. Exit 1 when the ID is unknown.",
        "  driftguard whois AROAEXAMPLEID1234567X",
    )
    whois.add_argument("unique_id", metavar="UNIQUE_ID", type=_unique_id)
    json_flag(whois)

    scan = command(
        "scan",
        "compare every declared resource with its live policy",
        "Reads every declared resource's live policy, account by account (a progress bar\n"
        "on stderr when it is a terminal), and reports which are not in sync. With\n"
        "--remediate it runs the reconciler's sweep instead: restores (enforce mode),\n"
        "records and alerts. Exit 1 when anything is not in sync (or could not be read).",
        "  driftguard scan\n  driftguard scan --json\n  driftguard scan --remediate",
    )
    scan.add_argument(
        "--remediate", action="store_true", help="also restore (enforce mode) and alert"
    )
    json_flag(scan)

    replay = command(
        "replay-dlq",
        "re-drive the events parked on the dead-letter queue",
        "Each parked event (rejected by a function, or not delivered by EventBridge) runs\n"
        "through the code path its function runs, here, as you. A message is deleted once\n"
        "handled; one still invalid, or whose handling failed, stays on the queue.\n"
        "--dry-run lists them and changes nothing. Exit 1 when messages stay on the queue.",
        "  driftguard replay-dlq --dry-run\n"
        "  driftguard replay-dlq --queue-url https://sqs.us-east-1.amazonaws.com/333333333333/"
        "driftguard-EventsDeadLetterQueue-X",
    )
    replay.add_argument(
        "--queue-url", help="the events dead-letter queue (default: $DEAD_LETTER_QUEUE_URL)"
    )
    replay.add_argument("--dry-run", action="store_true", help="list only; delete nothing")
    json_flag(replay)

    report = command(
        "report",
        "write an HTML report of the state table",
        "One self-contained page (no external assets): every resource's state by account\n"
        "and kind, a timeline of drift and remediations, open orphaned principals and the\n"
        "most-changed resources. --json prints the same data.",
        "  driftguard report --html driftguard.html\n  driftguard report --days 7 --json",
    )
    report.add_argument("--html", type=Path, metavar="FILE", help="write the page to FILE")
    report.add_argument(
        "--days", type=_positive, default=30, help="timeline window in days (default: 30)"
    )
    json_flag(report)

    command(
        "demo",
        "tell the driftguard story on a local multi-account AWS",
        "Starts moto on 127.0.0.1 as three accounts and plays the story; contacts nothing else.",
        "  driftguard demo",
    )
    return parser


# --------------------------------------------------------------------------- plumbing


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_console(stream: TextIO, color: str = "auto") -> Console:
    """A console on `stream`: colour as asked; on a terminal its width, otherwise wide
    enough that no line is ever wrapped (output piped to grep stays one line per row)."""
    tty = _isatty(stream)
    return Console(
        file=stream,
        force_terminal=True if color == "always" else None,
        # auto: rich's own rules (a terminal, and NO_COLOR unset); a flag wins over both.
        no_color={"always": False, "never": True}.get(color),
        width=None if tty else 10_000,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=not tty,
    )


@dataclass
class _Context:
    args: argparse.Namespace
    out: TextIO
    err: TextIO
    environ: dict[str, str] = field(default_factory=dict)

    @cached_property
    def console(self) -> Console:
        return make_console(self.out, self.args.color)

    @cached_property
    def session(self) -> boto3.Session:
        return boto3.Session(region_name=self.args.region) if self.args.region else boto3.Session()

    @cached_property
    def table_name(self) -> str:
        return StoreConfig.from_env(self.environ).table_name

    @cached_property
    def store(self) -> StateStore:
        return StateStore.for_table(self.session, self.table_name)

    @cached_property
    def clients(self) -> AwsClients:
        return AwsClients(
            remediation_role_name=self.environ.get("REMEDIATION_ROLE_NAME") or None,
            session=self.session,
        )

    @cached_property
    def declarations(self) -> Declarations:
        return Declarations(self.clients, self.store)

    @cached_property
    def inspector(self) -> Inspector:
        return Inspector(self.clients, self.store)

    def show(self, renderable: RenderableType) -> None:
        if _isatty(self.out):
            self.console.print(renderable)
            return
        # Not a terminal: the same text without the cells' trailing padding.
        with self.console.capture() as captured:
            self.console.print(renderable)
        self.out.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))

    def dump(self, data: Any) -> None:
        json.dump(_jsonable(data), self.out, indent=2)
        self.out.write("\n")

    def fail(self, message: str, code: int = EXIT_NOT_FOUND) -> int:
        print(f"driftguard: {message}", file=self.err)
        return code

    @property
    def progress_wanted(self) -> bool:
        return not getattr(self.args, "json", False) and _isatty(self.err)


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _run(args, out, err)
    except (DriftguardError, OSError) as exc:
        print(f"driftguard: error: {exc}", file=err)
        return EXIT_USAGE
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"driftguard: AWS error: {error.get('Code')}: {error.get('Message')}", file=err)
        return EXIT_USAGE
    except BotoCoreError as exc:
        print(f"driftguard: AWS error: {exc}", file=err)
        return EXIT_USAGE


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command == "demo":
        try:
            from driftguard_sandbox.demo import run_demo
        except ImportError as exc:  # moto is the sandbox extra, not a CLI dependency
            print(
                f"driftguard: the demo needs the local AWS ({exc.name} is not installed): "
                'pip install "driftguard[sandbox]"',
                file=err,
            )
            return EXIT_USAGE
        return run_demo(out, main)
    # Flags win over the environment the functions share.
    environ = dict(os.environ) | ({"TABLE_NAME": args.table} if args.table else {})
    ctx = _Context(args, out, err, environ)
    handler = _COMMANDS[args.command]
    return handler(ctx)


# --------------------------------------------------------------------------- commands


def _declare(ctx: _Context) -> int:
    args = ctx.args
    mode_name = args.mode or ctx.environ.get("DEFAULT_MODE")
    if not mode_name:
        raise ConfigError("give --mode or set DEFAULT_MODE")
    mode = Mode(mode_name)
    who = _caller(ctx.session)
    if args.command == "declare":
        declared = ctx.declarations.declare(args.arn, args.policy_file.read_text(), mode, who)
    else:
        declared = ctx.declarations.adopt(args.arn, mode, who)
    record = ctx.store.get_status(declared.arn)
    line = Text(f"declared {declared.arn} (version {declared.version}, {mode.value}): ")
    line.append_text(render.status_text(record.status.value if record else "unknown"))
    ctx.show(line)
    return EXIT_OK


def _status(ctx: _Context) -> int:
    args = ctx.args
    records = list(
        ctx.store.iter_statuses(
            status=Status(args.state) if args.state else None, account=args.account, kind=args.kind
        )
    )
    if args.json:
        ctx.dump([asdict(r) for r in records])
    else:
        ctx.show(render.status_view(records))
    return EXIT_OK


def _drift(ctx: _Context) -> int:
    arn = ctx.args.arn
    observation = ctx.inspector.look(kinds.target(arn))
    if observation is None:
        return ctx.fail(f"{arn} is not declared (driftguard adopt or declare it first)")
    if observation.failure is Failure.RESOURCE_GONE:
        return ctx.fail(f"{observation.reason}: it is declared but no longer exists")
    if observation.failure is not None:
        raise DriftguardError(f"{arn}: {observation.reason}")
    answer = drift_answer(observation)
    if ctx.args.json:
        ctx.dump(answer.to_json())
    else:
        ctx.show(render.drift_view(answer))
    return EXIT_OK if answer.in_sync else EXIT_DRIFT


def _history(ctx: _Context) -> int:
    args = ctx.args
    entries = ctx.store.history(args.arn)
    if args.limit:
        entries = entries[-args.limit :]
    if args.json:
        ctx.dump([asdict(e) for e in entries])
    elif entries:
        ctx.show(render.history_view(args.arn, entries))
    if not entries:
        return ctx.fail(f"no history for {args.arn}")
    return EXIT_OK


def _statuses(store: StateStore, arns: Sequence[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for arn in arns:
        record = store.get_status(arn)
        out[arn] = record.status.value if record else None
    return out


def _lookup_role(clients: AwsClients, role_arn: str) -> tuple[bool | None, str | None, str | None]:
    """(exists, unique id now, why it could not be looked up)."""
    account = principal_account(role_arn)
    if account is None:
        return None, None, "no account in the ARN"
    name = role_arn.rsplit("/", 1)[-1]
    try:
        iam = clients.in_account(account, "iam")
        role = iam.get_role(RoleName=name)["Role"]
    except ConfigError as exc:
        return None, None, str(exc)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        if code == "NoSuchEntity":
            return False, None, None
        return None, None, f"{code} looking into account {account}"
    return True, str(role["RoleId"]), None


def _principals(ctx: _Context) -> int:
    role = role_key(ctx.args.role_arn)
    arns = ctx.store.resources_naming(role)
    exists, current, problem = _lookup_role(ctx.clients, role)
    answer = PrincipalAnswer(
        role_arn=role,
        resources=named_resources(arns, _statuses(ctx.store, arns)),
        unique_ids=tuple(sorted(ctx.store.unique_ids_of(role))),
        exists=exists,
        current_id=current,
        lookup_error=problem,
    )
    if ctx.args.json:
        ctx.dump(answer.to_json())
    else:
        ctx.show(render.principals_view(answer))
    if not answer.known:
        now = "it does not exist now" if exists is False else f"could not look it up: {problem}"
        return ctx.fail(f"driftguard knows nothing about {role}, and {now}")
    return EXIT_OK


def _whois(ctx: _Context) -> int:
    uid = ctx.args.unique_id
    role = ctx.store.principal_for_unique_id(uid)
    if role is None:
        if ctx.args.json:
            ctx.dump({"unique_id": uid, "role_arn": None})
        return ctx.fail(
            f"unknown unique id {uid}: driftguard never saw a role with it (it records a "
            "role's id when a declared policy names the role, or on CreateRole; IAM itself "
            "cannot map an id back to a role)"
        )
    arns = ctx.store.resources_naming(role)
    answer = WhoisAnswer(
        unique_id=uid,
        role_arn=role,
        other_ids=tuple(sorted(i for i in ctx.store.unique_ids_of(role) if i != uid)),
        resources=named_resources(arns, _statuses(ctx.store, arns)),
    )
    if ctx.args.json:
        ctx.dump(answer.to_json())
    else:
        ctx.show(render.whois_view(answer))
    return EXIT_OK


@contextmanager
def _progress(ctx: _Context) -> Iterator[Progress | None]:
    if not ctx.progress_wanted:
        yield None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=make_console(ctx.err, ctx.args.color),
        transient=True,
    )
    with progress:
        yield progress


def _scan(ctx: _Context) -> int:
    if ctx.args.remediate:
        return _sweep(ctx)
    by_account: dict[str, list[StatusRecord]] = defaultdict(list)
    for record in ctx.store.iter_statuses():
        by_account[record.account].append(record)
    total = sum(len(records) for records in by_account.values())
    rows: list[ScanRow] = []
    lookup = ctx.inspector.lookup()
    with _progress(ctx) as progress:
        accounts_task = resources_task = None
        if progress is not None:
            accounts_task = progress.add_task("accounts", total=len(by_account))
            resources_task = progress.add_task("resources", total=total)
        for account in sorted(by_account):
            if progress is not None and resources_task is not None:
                progress.update(resources_task, description=f"resources in {account}")
            for record in sorted(by_account[account], key=lambda r: (r.kind, r.arn)):
                rows.append(_scan_one(ctx, lookup, record))
                if progress is not None and resources_task is not None:
                    progress.advance(resources_task)
            if progress is not None and accounts_task is not None:
                progress.advance(accounts_task)
    if ctx.args.json:
        ctx.dump([row.to_json() for row in rows])
    else:
        ctx.show(render.scan_view(rows))
    return EXIT_DRIFT if any(row.drifted for row in rows) else EXIT_OK


def _scan_one(ctx: _Context, lookup: PrincipalLookup, record: StatusRecord) -> ScanRow:
    """The functions' own read-only look: a declaration failing its integrity check is
    an error here exactly as there."""
    arn, account, kind = record.arn, record.account, record.kind
    try:
        observation = ctx.inspector.look(kinds.target(arn, kind), lookup)
    except (DriftguardError, ClientError, BotoCoreError) as exc:
        return ScanRow(arn, account, kind, "error", error=_describe(exc))
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


def _sweep(ctx: _Context) -> int:
    from driftguard.runtime import Runtime

    runtime = Runtime.from_env(session=ctx.session, environ=ctx.environ)
    with _progress(ctx) as progress:
        count = sum(1 for _ in ctx.store.iter_statuses()) if progress is not None else 0
        task = progress.add_task("sweeping declared resources", total=count) if progress else None

        def advance(_result: object) -> None:
            if progress is not None and task is not None:
                progress.advance(task)

        results = runtime.remediator.sweep(on_result=advance)
    if ctx.args.json:
        ctx.dump([r.as_dict() for r in results])
    else:
        ctx.show(
            render.sweep_view(
                [(r.outcome.value, r.status.value if r.status else "-", r.arn) for r in results]
            )
        )
    return EXIT_DRIFT if any(r.outcome is not Outcome.IN_SYNC for r in results) else EXIT_OK


def _replay_dlq(ctx: _Context) -> int:
    from driftguard.dlq import DeadLetterQueue
    from driftguard.runtime import Runtime
    from driftguard_cli.replay import replay

    url = ctx.args.queue_url or ctx.environ.get("DEAD_LETTER_QUEUE_URL")
    if not url:
        raise ConfigError("give --queue-url or set DEAD_LETTER_QUEUE_URL")
    redrive = None
    if not ctx.args.dry_run:
        environ = ctx.environ | {"DEAD_LETTER_QUEUE_URL": url}
        redrive = Runtime.from_env(session=ctx.session, environ=environ).dispatch
    queue = DeadLetterQueue(ctx.clients.hub("sqs"), url)
    rows = replay(queue, redrive)
    if ctx.args.json:
        ctx.dump([row.to_json() for row in rows])
    else:
        ctx.show(render.replay_view(rows, dry_run=ctx.args.dry_run))
    kept = sum(1 for row in rows if row.kept)
    return EXIT_DRIFT if kept and not ctx.args.dry_run else EXIT_OK


def _report(ctx: _Context) -> int:
    from driftguard_cli.report import collect, render_html

    args = ctx.args
    if args.html is None and not args.json:
        raise ConfigError("give --html FILE (and/or --json)")
    report = collect(
        ctx.store, table_name=ctx.table_name, generated_at=datetime.now(UTC), days=args.days
    )
    if args.html is not None:
        args.html.write_text(render_html(report), encoding="utf-8")
        summary = (
            f"wrote {args.html}: {len(report.resources)} resources, {len(report.timeline)} "
            f"audit entries, {len(report.orphans)} open orphaned principals"
        )
        print(summary, file=ctx.err if args.json else ctx.out)
    if args.json:
        ctx.dump(report.to_json())
    return EXIT_OK


_COMMANDS: Final[dict[str, Callable[[_Context], int]]] = {
    "declare": _declare,
    "adopt": _declare,
    "status": _status,
    "drift": _drift,
    "history": _history,
    "principals": _principals,
    "whois": _whois,
    "scan": _scan,
    "replay-dlq": _replay_dlq,
    "report": _report,
}


# --------------------------------------------------------------------------- helpers


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return str(exc)


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))


def _caller(session: boto3.Session) -> str:
    return str(session.client("sts").get_caller_identity()["Arn"])


if __name__ == "__main__":
    raise SystemExit(main())
