"""The one sandbox figures 3 to 6 share (moto's state is global to the process), and
how a figure tells driftguard's calls from everyone else's."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable

from driftguard_sandbox.meter import Call
from driftguard_sandbox.sandbox import FUNCTIONS_ROLE, Sandbox
from driftguard_sandbox.story import DATA, REGION, SECURITY, WORKLOAD

# What a call to AWS takes, added to every call when a figure asks (meter.latency):
# a policy read from Lambda takes some 20 to 50 ms.
LATENCY = 0.025
# The story's accounts (figure 3) and eight more: ten member accounts for the sweeps.
MEMBERS = (WORKLOAD, DATA, *(f"1000000000{n:02d}" for n in range(3, 11)))


def start() -> Sandbox:
    """The hub in the story's security account, ten member accounts; the functions'
    logs (their CloudWatch Logs) are dropped, warnings and errors included."""
    return Sandbox.start(
        hub_account=SECURITY,
        member_accounts=MEMBERS,
        region=REGION,
        parameters={"LogLevel": "WARNING"},
        function_logs=open(os.devnull, "w"),
    )


def remediation_role(sandbox: Sandbox) -> str:
    return str(
        sandbox.resolve_context().parameters.get("RemediationRoleName", "driftguard-remediation")
    )


def by_driftguard(sandbox: Sandbox) -> Callable[[Call], bool]:
    """driftguard's own calls: the functions' role (hub) or the remediation role (any
    account). Set-up and the people of a scenario call under other roles
    (`Admin`, `SecurityAdmin`, `Developer`...)."""
    roles = (f":assumed-role/{FUNCTIONS_ROLE}/", f":assumed-role/{remediation_role(sandbox)}/")
    return lambda call: any(role in call.who for role in roles)


def by_session(session_name: str) -> Callable[[Call], bool]:
    return lambda call: call.who.endswith(f"/{session_name}")


def cold_start(sandbox: Sandbox) -> None:
    """Every function's next invocation is a cold start: what a container does once
    (AssumeRole per account, VerifyMac per declaration) shows in the counts."""
    sandbox.wait_idle()
    sandbox.runtime.reset()


def counted(sandbox: Sandbox, where: Callable[[Call], bool]) -> Counter[str]:
    """Calls since the meter's last reset, once everything they set off is done."""
    sandbox.wait_idle(timeout=600)
    return sandbox.meter.count(where)
