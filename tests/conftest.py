"""Fixtures shared by every test folder that needs the local AWS.

`sandbox_server` starts one sandbox (moto's server on 127.0.0.1, the hub
deployed from template.yaml) per test session, about a second; `sandbox`
resets it before each test (tens of milliseconds), so every test starts from a
freshly deployed hub with no keys, secrets or recorded events. moto's state is
global to the process, so there is exactly one sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_socket import enable_socket, socket_allow_hosts

from driftguard_sandbox import Sandbox

HUB = "333333333333"
WORKLOAD = "111111111111"
DATA = "222222222222"


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """Tests talk to the sandbox on 127.0.0.1 and to nothing else (unit tests: nothing)."""
    socket_allow_hosts(["127.0.0.1", "localhost"])
    yield
    enable_socket()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    sandbox = Sandbox.start(hub_account=HUB, member_accounts=(WORKLOAD, DATA))
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    sandbox_server.reset()
    return sandbox_server
