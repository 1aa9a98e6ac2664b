"""`driftguard`: the security team's command line.

Reads the same environment variables as the functions (TABLE_NAME, AWS_REGION,
REMEDIATION_ROLE_NAME, ALERT_TOPIC_ARN, ...), or flags. Exit codes: 0 ok,
1 drift found, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from driftguard.alerts import readable_changes
from driftguard.aws import AwsClients
from driftguard.config import Mode, StoreConfig
from driftguard.declarations import Declarations
from driftguard.errors import ConfigError, DriftguardError
from driftguard.model import Status
from driftguard.outcomes import Outcome
from driftguard.state import StateStore

EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2

EXAMPLES = """examples:
  driftguard adopt arn:aws:kms:us-east-1:333333333333:key/1234abcd-... --mode enforce
  driftguard declare arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf \\
      --policy-file testsecret-policy.json
  driftguard status --state orphaned-principal
  driftguard history arn:aws:kms:us-east-1:333333333333:key/1234abcd-... --json
  driftguard scan --remediate
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftguard",
        description="Keep KMS key policies and secret policies at their declared state.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--table", help="state table name (default: $TABLE_NAME)")
    parser.add_argument("--region", help="AWS region of the state table (default: $AWS_REGION)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    declare = sub.add_parser("declare", help="declare the policy a resource must have")
    declare.add_argument("arn", metavar="RESOURCE_ARN")
    declare.add_argument("--policy-file", required=True, type=Path, help="policy JSON file")
    declare.add_argument("--mode", choices=[m.value for m in Mode], help="default: $DEFAULT_MODE")

    adopt = sub.add_parser("adopt", help="declare the resource's live policy as its state")
    adopt.add_argument("arn", metavar="RESOURCE_ARN")
    adopt.add_argument("--mode", choices=[m.value for m in Mode], help="default: $DEFAULT_MODE")

    status = sub.add_parser("status", help="status of every declared resource")
    status.add_argument("--state", choices=[s.value for s in Status], help="only this status")
    status.add_argument("--account", help="only this account")
    status.add_argument("--kind", help="only this resource kind (kms-key, secret)")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    history = sub.add_parser("history", help="audit history of one resource, oldest first")
    history.add_argument("arn", metavar="RESOURCE_ARN")
    history.add_argument("--json", action="store_true", help="machine-readable output")

    scan = sub.add_parser("scan", help="compare every declared resource with its live policy")
    scan.add_argument(
        "--remediate", action="store_true", help="also restore (enforce mode) and alert"
    )
    scan.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("demo", help="tell the driftguard story on a local multi-account AWS")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        return _run(args, out)
    except (DriftguardError, OSError) as exc:
        print(f"driftguard: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(
            f"driftguard: AWS error: {error.get('Code')}: {error.get('Message')}", file=sys.stderr
        )
        return EXIT_USAGE
    except BotoCoreError as exc:
        print(f"driftguard: AWS error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "demo":
        from driftguard.demo import run_demo

        return run_demo(out)
    # Flags win over the environment the functions share.
    environ = dict(os.environ) | ({"TABLE_NAME": args.table} if args.table else {})
    store_config = StoreConfig.from_env(environ)
    session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
    store = StateStore.for_table(session, store_config.table_name)
    if args.command == "status":
        return _status(store, args, out)
    if args.command == "history":
        return _history(store, args, out)
    clients = AwsClients(
        remediation_role_name=os.environ.get("REMEDIATION_ROLE_NAME") or None, session=session
    )
    declarations = Declarations(clients, store)
    if args.command in ("declare", "adopt"):
        mode_name = args.mode or os.environ.get("DEFAULT_MODE")
        if not mode_name:
            raise ConfigError("give --mode or set DEFAULT_MODE")
        mode = Mode(mode_name)
        who = _caller(session)
        if args.command == "declare":
            declared = declarations.declare(args.arn, args.policy_file.read_text(), mode, who)
        else:
            declared = declarations.adopt(args.arn, mode, who)
        record = store.get_status(declared.arn)
        state = record.status.value if record else "unknown"
        print(
            f"declared {declared.arn} (version {declared.version}, {mode.value}): {state}", file=out
        )
        return EXIT_OK
    if args.command == "scan":
        return _scan(store, clients, declarations, args, out, environ)
    raise AssertionError(args.command)


def _status(store: StateStore, args: argparse.Namespace, out: TextIO) -> int:
    records = list(
        store.iter_statuses(
            status=Status(args.state) if args.state else None, account=args.account, kind=args.kind
        )
    )
    if args.json:
        json.dump([_jsonable(asdict(r)) for r in records], out, indent=2)
        out.write("\n")
        return EXIT_OK
    rows = [
        (
            r.status.value,
            r.kind,
            r.account,
            r.mode.value,
            r.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.arn,
        )
        for r in records
    ]
    _table(("STATUS", "KIND", "ACCOUNT", "MODE", "UPDATED (UTC)", "RESOURCE"), rows, out)
    for r in records:
        if r.reason and r.status.is_problem:
            print(f"  {r.arn}: {r.reason}", file=out)
    return EXIT_OK


def _history(store: StateStore, args: argparse.Namespace, out: TextIO) -> int:
    entries = store.history(args.arn)
    if args.json:
        json.dump([_jsonable(asdict(e)) for e in entries], out, indent=2)
        out.write("\n")
        return EXIT_OK
    if not entries:
        print(f"no history for {args.arn}", file=out)
    for entry in entries:
        who = f" by {entry.actor}" if entry.actor else ""
        print(f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.action:<20} {entry.status:<19}{who}", file=out)
        if entry.message:
            print(f"{'':21}{entry.message}", file=out)
        for change in readable_changes(entry.diff):
            print(f"{'':23}{change}", file=out)
    return EXIT_OK


def _scan(
    store: StateStore,
    clients: AwsClients,
    declarations: Declarations,
    args: argparse.Namespace,
    out: TextIO,
    environ: dict[str, str],
) -> int:
    if args.remediate:
        from driftguard.runtime import Runtime

        results = Runtime.from_env(session=clients.base_session, environ=environ).remediator.sweep()
        rows = [(r.outcome.value, r.status.value if r.status else "-", r.arn) for r in results]
        drift = any(r.outcome not in (Outcome.IN_SYNC,) for r in results)
        report: list[dict[str, Any]] = [r.as_dict() for r in results]
    else:
        rows, report, drift = [], [], False
        for record in store.iter_statuses():
            declared = store.get_declared(record.arn)
            if declared is None:
                continue
            inspection = declarations.inspect(declared)
            findings = sorted(f.value for f in inspection.classification.findings)
            drift = drift or not inspection.classification.in_sync
            rows.append((inspection.status.value, ",".join(findings) or "-", record.arn))
            report.append(
                {"arn": record.arn, "status": inspection.status.value, "findings": findings}
            )
    if args.json:
        json.dump(report, out, indent=2)
        out.write("\n")
    else:
        _table(("RESULT", "DETAIL", "RESOURCE"), rows, out)
    return EXIT_DRIFT if drift else EXIT_OK


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    for row in (headers, *rows):
        print(
            "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip(), file=out
        )
    if not rows:
        print("(none)", file=out)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _caller(session: boto3.Session) -> str:
    return str(session.client("sts").get_caller_identity()["Arn"])


if __name__ == "__main__":
    raise SystemExit(main())
