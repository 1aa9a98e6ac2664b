"""The CLI through its entry point, as a person or a pipeline runs it."""

from __future__ import annotations

import io

from driftguard_cli.main import main


class Terminal(io.StringIO):
    """A stream that says it is a terminal: what one would receive (the CLI shows
    progress bars only to a terminal)."""

    def isatty(self) -> bool:
        return True


def run_cli(*argv: str) -> tuple[int, str]:
    """(exit code, stdout)."""
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def run_cli_full(*argv: str, err: io.StringIO | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); `err` receives stderr when given (e.g. a Terminal)."""
    out = io.StringIO()
    err = io.StringIO() if err is None else err
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def run_cli_typing(*argv: str, typed: str, out: io.StringIO | None = None) -> tuple[int, str, str]:
    """As a person at a terminal who types `typed` when asked (stdin is a Terminal;
    "" is end of input). stdout is a Terminal too unless `out` is given (piped, say).
    (exit code, stdout, stderr)."""
    out = Terminal() if out is None else out
    err = io.StringIO()
    code = main(list(argv), out=out, err=err, stdin=Terminal(typed))
    return code, out.getvalue(), err.getvalue()
