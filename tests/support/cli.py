"""The CLI through its entry point, as a person or a pipeline runs it."""

from __future__ import annotations

import io

from driftguard_cli.main import main


def run_cli(*argv: str) -> tuple[int, str]:
    """(exit code, stdout)."""
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def run_cli_full(*argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()
