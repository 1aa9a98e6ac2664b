"""One run of the command line: the parsed arguments, where output goes, and the AWS
side (session, state table, clients) built lazily, so a command that does not need
AWS (`demo`, `--help`) never touches it.

Commands gather their answer through the context (the only I/O), build it with the
pure functions of `driftguard_cli.answers`, and show it with `Context.show` (a
rich renderable from `driftguard_cli.views`) or `Context.dump` (JSON for scripts).
"""

from __future__ import annotations

import argparse
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
from driftguard.inspector import Inspector
from driftguard.quotas import RateLimiter
from driftguard.retry import SYSTEM_CLOCK
from driftguard.signing import KmsSignatures
from driftguard.state import StateStore
from driftguard_cli.declarations import Declarations
from driftguard_cli.exit_codes import EXIT_NOT_FOUND


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
    environ: dict[str, str] = field(default_factory=dict)
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
        """Flags win over the environment the functions share."""
        table = getattr(args, "table", None)
        environ = dict(environ) | ({"TABLE_NAME": table} if table else {})
        return cls(args, out, err, environ, stdin or sys.stdin)

    # ----------------------------------------------------------------------- AWS side

    @cached_property
    def session(self) -> boto3.Session:
        region = getattr(self.args, "region", None)
        return new_session(region_name=region) if region else new_session()

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
            self.console.print(renderable)
            return
        # Not a terminal: the same text without the cells' trailing padding.
        with self.console.capture() as captured:
            self.console.print(renderable)
        self.out.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))

    def say(self, line: str) -> None:
        """A plain line on stdout, or on stderr when stdout carries JSON."""
        print(line, file=self.err if self.wants_json else self.out)

    def dump(self, data: Any) -> None:
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
    def wants_json(self) -> bool:
        return bool(getattr(self.args, "json", False))

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


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))
