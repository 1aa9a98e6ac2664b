"""Functional-test fixtures; the sandbox itself comes from tests/conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.template import FunctionSpec


@pytest.fixture
def recorded_invocations(sandbox: Sandbox) -> list[tuple[str, dict[str, Any]]]:
    """Replace the real handlers by a recorder: (logical id, event) per invocation."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(spec: FunctionSpec, event: dict[str, Any]) -> dict[str, str]:
        calls.append((spec.logical_id, event))
        return {"status": "recorded"}

    sandbox.invoker = record
    return calls
