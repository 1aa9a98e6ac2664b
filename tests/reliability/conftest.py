"""The reliability tests run AWS's waits fast: what takes minutes on AWS takes
seconds here, in the same proportions."""

from __future__ import annotations

import pytest

from driftguard_sandbox.sandbox import Sandbox

FAST = 0.02  # real seconds per AWS second
# The functions' own short waits (template.yaml Globals), paced like AWS's.
FUNCTION_WAITS = ("LEASE_WAIT_SECONDS", "PUT_RETRY_SECONDS", "VERIFY_SECONDS")


@pytest.fixture
def fast(sandbox: Sandbox) -> Sandbox:
    """The sandbox at 1/50 of real time: AWS's waits, the re-check queue's delays,
    the clients' retry backoff and the functions' own waits alike."""
    sandbox.time.scale = FAST
    environment = next(iter(sandbox.specs.values())).environment
    sandbox.configure_functions(
        **{name: str(float(environment[name]) * FAST) for name in FUNCTION_WAITS}
    )
    return sandbox
