"""One run of the command line: the parsed arguments, where output goes, and the AWS
side (session, state table, clients) built lazily, so a command that does not need
AWS (`demo`, `--help`) never touches it.

Commands gather their answer through the context (the only I/O), build it with the
pure functions of `driftguard_cli.answers`, and show it with `Context.show` (a
rich renderable from `driftguard_cli.views`) or `Context.dump` (JSON for scripts).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from typing import Any, TextIO

import boto3
from botocore.exceptions import ClientError
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from driftguard import kinds
from driftguard.aws import AwsClients, new_session
from driftguard.config import PartitionConfig, SigningConfig, StoreConfig
from driftguard.errors import ConfigError
from driftguard.inspector import Inspector
from driftguard.quotas import RateLimiter
from driftguard.retry import SYSTEM_CLOCK
from driftguard.signing import KmsSignatures
from driftguard.state import StateStore
from driftguard_cli.debug import CallLog
from driftguard_cli.declarations import Declarations
from driftguard_cli.exit_codes import EXIT_NOT_FOUND
from driftguard_cli.resources import Resolver
from driftguard_cli.stack import read_stack


def isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_console(stream: TextIO, color: str = "auto") -> Console:
    """A console on `stream`: colour as asked; on a terminal its width, otherwise wide
    enough that no line is ever wrapped (output piped to grep stays one line per row)."""
    tty = isatty(stream)
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
class Context:
    args: argparse.Namespace
    out: TextIO
    err: TextIO
    base_environ: dict[str, str] = field(default_factory=dict)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)

    @classmethod
    def create(
        cls,
        args: argparse.Namespace,
        out: TextIO,
        err: TextIO,
        environ: Mapping[str, str] = os.environ,
        stdin: TextIO | None = None,
    ) -> Context:
        return cls(args, out, err, dict(environ), stdin or sys.stdin)

    # ----------------------------------------------------------------------- settings

    @cached_property
    def environ(self) -> dict[str, str]:
        """The functions' settings: the environment, then the hub stack's outputs (when
        --stack or $DRIFTGUARD_STACK names one), then flags: the later wins."""
        settings = dict(self.base_environ)
        if self.stack_name:
            cloudformation = self.session.client("cloudformation")
            settings |= read_stack(cloudformation, self.stack_name, self.region)
        table = getattr(self.args, "table", None)
        return settings | ({"TABLE_NAME": table} if table else {})

    @property
    def stack_name(self) -> str | None:
        return getattr(self.args, "stack", None) or self.base_environ.get("DRIFTGUARD_STACK")

    @cached_property
    def region(self) -> str:
        """--region, $AWS_REGION, $AWS_DEFAULT_REGION, then the profile's: the AWS CLI's
        order (boto3 alone ignores AWS_REGION)."""
        region = self.session.region_name
        if not region:
            raise ConfigError("no AWS region: set AWS_REGION or pass --region")
        return str(region)

    # ----------------------------------------------------------------------- AWS side

    @cached_property
    def session(self) -> boto3.Session:
        env = self.base_environ
        region = (
            getattr(self.args, "region", None)
            or env.get("AWS_REGION")
            or env.get("AWS_DEFAULT_REGION")
            or None
        )
        profile = getattr(self.args, "profile", None)
        session = new_session(
            **({"region_name": region} if region else {}),
            **({"profile_name": profile} if profile else {}),
        )
        if getattr(self.args, "debug", False):
            CallLog(self.err).attach(session)
        return session

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
            partition=PartitionConfig.from_env(self.environ).partition,
            # The functions' default share (template.yaml QuotaShare): a scan from a
            # laptop must not throttle the organisation's own calls either.
            limiter=RateLimiter(kinds.quotas(), share=0.5, clock=SYSTEM_CLOCK),
        )

    @cached_property
    def signatures(self) -> KmsSignatures:
        key = SigningConfig.from_env(self.environ).signing_key_id
        return KmsSignatures(partial(self.clients.hub, "kms"), key)

    @cached_property
    def declarations(self) -> Declarations:
        return Declarations(self.clients, self.store, self.signatures)

    @cached_property
    def inspector(self) -> Inspector:
        return Inspector(self.clients, self.store, self.signatures)

    @cached_property
    def resolver(self) -> Resolver:
        """Key IDs, aliases and secret names, as the hub's account and region know them."""

        def declared() -> list[str]:
            return [record.arn for record in self.store.iter_statuses()]

        def describe_key(key: str) -> str | None:
            try:
                return str(self.clients.hub("kms").describe_key(KeyId=key)["KeyMetadata"]["Arn"])
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "NotFoundException":
                    return None
                raise

        return Resolver(declared, describe_key, lambda: f"the hub's account in {self.region}")

    def caller(self) -> str:
        """Who runs the command (the ARN of the credentials in use)."""
        return str(self.clients.hub("sts").get_caller_identity()["Arn"])

    # ----------------------------------------------------------------------- output

    @cached_property
    def console(self) -> Console:
        return make_console(self.out, self._color)

    @property
    def _color(self) -> str:
        return str(getattr(self.args, "color", "auto"))

    def show(self, renderable: RenderableType) -> None:
        if isatty(self.out):
            # Not cropped: the views fit the width, except an ARN longer than it, which
            # they leave whole for the terminal to wrap (copied, it stays one line).
            self.console.print(renderable, crop=False)
            return
        # Not a terminal: the same text without the cells' trailing padding.
        with self.console.capture() as captured:
            self.console.print(renderable)
        self.out.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))

    def say(self, line: str) -> None:
        """A plain line on stdout, or on stderr when stdout carries JSON."""
        print(line, file=self.err if self.wants_json else self.out)

    def dump(self, data: Any) -> None:
        """JSON, or CSV for `--output csv`: a row per item of a list (one for anything
        else), a column per key, lists joined with ";" and nested objects as JSON."""
        if self.output == "csv":
            write_csv(self.out, _jsonable(data))
            return
        json.dump(_jsonable(data), self.out, indent=2)
        self.out.write("\n")

    def fail(self, message: str, code: int = EXIT_NOT_FOUND) -> int:
        print(f"driftguard: {message}", file=self.err)
        return code

    @property
    def interactive(self) -> bool:
        """Someone at a terminal: stdin and stdout both are one. A pipeline is never
        asked anything."""
        return isatty(self.stdin) and isatty(self.out)

    def confirm(self, question: str) -> bool:
        """Ask on stdout, read the answer from stdin: True only for y or yes (no answer,
        end of input or Ctrl-C is no)."""
        self.out.write(f"{question} [y/N] ")
        self.out.flush()
        try:
            answer = self.stdin.readline()
        except KeyboardInterrupt:
            answer = ""
        if not answer.endswith("\n"):
            self.out.write("\n")  # end of input or Ctrl-C: end the question's line
        return answer.strip().lower() in ("y", "yes")

    @property
    def output(self) -> str:
        """table (people), json or csv (scripts): `--output`, or `--json`."""
        return str(getattr(self.args, "output", None) or "table")

    @property
    def wants_json(self) -> bool:
        """Data for a script on stdout (json or csv): progress and remarks go elsewhere."""
        return self.output != "table"

    @contextmanager
    def progress(self) -> Iterator[Progress | None]:
        """A transient progress display on stderr when it is a terminal and stdout is
        not JSON; None otherwise (the caller then skips its progress updates)."""
        if self.wants_json or not isatty(self.err):
            yield None
            return
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=make_console(self.err, self._color),
            transient=True,
        )
        with progress:
            yield progress


def write_csv(out: TextIO, data: Any) -> None:
    rows = data if isinstance(data, list) else [data]
    rows = [row if isinstance(row, dict) else {"value": row} for row in rows]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))
