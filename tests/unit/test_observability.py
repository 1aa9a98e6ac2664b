"""The tracer costs nothing until an invocation needs it (issue 10, cold start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from driftguard.observability import LazyTracer

ROOT = Path(__file__).resolve().parents[2]


def test_importing_a_handler_does_not_start_the_xray_recorder() -> None:
    """aws_xray_sdk's recorder builds an X-Ray client when it starts: a third of a second."""
    check = "import sys, app; print('aws_xray_sdk.core' in sys.modules)"
    for function in sorted(p.parent for p in (ROOT / "functions").glob("*/app.py")):
        path = f"{ROOT / 'layers' / 'driftguard'}:{function}"
        done = subprocess.run(
            [sys.executable, "-c", check],
            env={"PYTHONPATH": path, "AWS_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout.strip() == "False", function.name


class FakeTracer:
    """Powertools' Tracer as the handler sees it: a decorator that wraps."""

    def __init__(self) -> None:
        self.wrapped = 0

    def capture_lambda_handler(self, handler: Any) -> Any:
        self.wrapped += 1
        return handler


def test_the_first_invocation_makes_the_tracer_once_and_delegates() -> None:
    made: list[FakeTracer] = []

    def make() -> FakeTracer:
        made.append(FakeTracer())
        return made[-1]

    tracer = LazyTracer(make=make)  # type: ignore[arg-type]
    calls: list[Any] = []

    @tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> dict[str, Any]:
        calls.append(event)
        return {"ok": event}

    assert made == []  # nothing at import or decoration
    assert handler({"n": 1}, None) == {"ok": {"n": 1}}
    assert handler({"n": 2}, None) == {"ok": {"n": 2}}
    assert len(made) == 1 and made[0].wrapped == 1 and calls == [{"n": 1}, {"n": 2}]
