"""Fixtures for reliability tests: the local multi-account AWS sandbox.

`tests` is not a package (no __init__.py, and the repository root is not on
sys.path), so tests/functional/conftest.py cannot be imported from here; the
sandbox fixtures are defined the same way instead. `sandbox_server` starts one
sandbox for these tests; `sandbox` resets it before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_socket import enable_socket, socket_allow_hosts

from driftguard.sandbox import Sandbox

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
    """Reliability tests talk to the sandbox on 127.0.0.1 and to nothing else."""
    socket_allow_hosts(["127.0.0.1", "localhost"])
    yield
    enable_socket()


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    sandbox_server.reset()
    return sandbox_server
