"""Shared fixtures for functional tests: the local multi-account AWS sandbox.

`sandbox_server` starts one moto server per test session (about a second);
`sandbox` resets it before each test (tens of milliseconds), so every test
starts from a freshly deployed hub with no keys, secrets or recorded events.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_socket import enable_socket, socket_allow_hosts

from driftguard.sandbox import FunctionSpec, Sandbox

HUB = "333333333333"
WORKLOAD = "111111111111"
DATA = "222222222222"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    sandbox = Sandbox.start(hub_account=HUB, member_accounts=(WORKLOAD, DATA))
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """Functional tests talk to the sandbox on 127.0.0.1 and to nothing else."""
    socket_allow_hosts(["127.0.0.1", "localhost"])
    yield
    enable_socket()


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def recorded_invocations(sandbox: Sandbox) -> list[tuple[str, dict[str, Any]]]:
    """Replace the real handlers by a recorder: (logical id, event) per invocation."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(spec: FunctionSpec, event: dict[str, Any]) -> dict[str, str]:
        calls.append((spec.logical_id, event))
        return {"status": "recorded"}

    sandbox.invoker = record
    return calls
