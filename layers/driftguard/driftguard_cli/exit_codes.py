"""The command line's exit codes, and the line every `--help` ends with.

`driftguard_cli.main` exports them too, for whoever calls `main` (the demo, tests)."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_DRIFT: Final = 1  # drift found (drift, scan, replay-dlq left messages)
EXIT_NOT_FOUND: Final = EXIT_DRIFT  # what was asked about is unknown
EXIT_USAGE: Final = 2  # usage or configuration error, or AWS refused

EXIT_CODES_HELP: Final = (
    "exit codes: 0 ok, 1 drift found or not found, 2 usage or configuration error"
)
