"""Unit tests are pure: any socket they open is a bug."""

from __future__ import annotations

from collections.abc import Iterator

import aws_xray_sdk.core  # noqa: F401
import pytest
from pytest_socket import disable_socket, enable_socket

# aws_xray_sdk opens its UDP emitter's socket (it sends nothing) when first imported;
# driftguard imports it on first use, which in a unit test is after sockets are off.


@pytest.fixture(autouse=True)
def _no_sockets() -> Iterator[None]:
    disable_socket()
    yield
    enable_socket()
