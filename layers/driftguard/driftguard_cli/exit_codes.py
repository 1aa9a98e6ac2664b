"""The command line's exit codes, the same for every command, and the lines every
`--help` ends with.

`driftguard_cli.main` exports them too, for whoever calls `main` (the demo, tests)."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_DRIFT: Final = 1  # drift or changes found (status, drift, scan, plan), messages left
EXIT_USAGE: Final = 2  # usage or configuration error, an AWS refusal, a declined question
EXIT_NOT_FOUND: Final = 3  # what was asked about is unknown (a resource, a role, a history)

EXIT_CODES_HELP: Final = (
    "exit codes: 0 ok, 1 drift or changes found, 2 usage or configuration error (or AWS\n"
    "refused), 3 not found"
)
