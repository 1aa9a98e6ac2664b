"""Handlers run like Lambda: one module per function, its environment, a context."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from driftguard_sandbox.router import Router
from driftguard_sandbox.runtime import LambdaRuntime
from driftguard_sandbox.template import FunctionSpec, RuleSpec

HANDLER = textwrap.dedent(
    """
    import os
    from dataclasses import dataclass

    COLD_STARTS = []

    @dataclass
    class Reply:
        table: str

    COLD_STARTS.append(os.environ["TABLE_NAME"])

    def handler(event, context):
        if event.get("fail"):
            raise ValueError("asked to fail")
        return {
            "table": Reply(os.environ["TABLE_NAME"]).table,
            "function": context.function_name,
            "arn": context.invoked_function_arn,
            "memory": context.memory_limit_in_mb,
            "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 5000,
            "cold_starts": len(COLD_STARTS),
        }
    """
)
PATTERN = {"source": ["test.sandbox"]}


def spec_at(code_dir: Path, logical_id: str = "EchoFunction") -> FunctionSpec:
    return FunctionSpec(
        logical_id=logical_id,
        code_uri=code_dir,
        handler="app.handler",
        environment={"TABLE_NAME": "echo-table"},
        event_rules=[RuleSpec(name="Echo", bus="hub", pattern=PATTERN)],
        schedules=[],
        sns_topics=[],
        function_name=f"driftguard-{logical_id}",
        memory_size=256,
        timeout=5,
    )


@pytest.fixture
def runtime() -> LambdaRuntime:
    return LambdaRuntime(account_id="333333333333", region="us-east-1")


def test_handler_runs_with_its_environment_and_a_context(
    tmp_path: Path, runtime: LambdaRuntime
) -> None:
    (tmp_path / "app.py").write_text(HANDLER)
    spec = spec_at(tmp_path)
    env_before = dict(os.environ)

    first = runtime.invoke(spec, {})
    second = runtime.invoke(spec, {})

    assert first == {
        "table": "echo-table",
        "function": "driftguard-EchoFunction",
        "arn": "arn:aws:lambda:us-east-1:333333333333:function:driftguard-EchoFunction",
        "memory": 256,
        "remaining_ok": True,
        "cold_starts": 1,
    }
    assert second["cold_starts"] == 1  # the module ("container") is kept warm
    assert dict(os.environ) == env_before  # the function's environment is undone
    assert "driftguard_fn_EchoFunction" in sys.modules

    runtime.reset()
    assert "driftguard_fn_EchoFunction" not in sys.modules
    assert runtime.invoke(spec, {})["cold_starts"] == 1


def test_handler_errors_propagate_from_a_synchronous_invoke(
    tmp_path: Path, runtime: LambdaRuntime
) -> None:
    (tmp_path / "app.py").write_text(HANDLER)
    with pytest.raises(ValueError, match="asked to fail"):
        runtime.invoke(spec_at(tmp_path), {"fail": True})


def test_a_delivery_is_recorded_even_when_the_handler_cannot_load(
    tmp_path: Path, runtime: LambdaRuntime
) -> None:
    dead: list[tuple[str, str]] = []
    router = Router(
        [spec_at(tmp_path / "missing")],
        hub_account="333333333333",
        invoker=runtime.invoke,
        dead_letter=lambda spec, rule, event, error: dead.append((spec.logical_id, error)),
    )
    try:
        event: dict[str, Any] = {"source": "test.sandbox", "account": "111111111111"}
        router.publish(event)
        router.wait_idle(5)
    finally:
        router.stop()

    (delivery,) = router.deliveries
    assert delivery.function == "EchoFunction" and delivery.rule == "Echo"
    assert delivery.attempts == 3 and delivery.error is not None
    assert delivery.error.startswith("ImportError")
    # No DLQ configured on this rule: the failure is recorded, not dead-lettered.
    assert dead == [] and not delivery.dead_lettered


def test_hub_events_use_default_bus_rules_only(tmp_path: Path, runtime: LambdaRuntime) -> None:
    router = Router([spec_at(tmp_path)], hub_account="333333333333", invoker=runtime.invoke)
    try:
        assert router.matching_functions({"source": "test.sandbox", "account": "111111111111"}) == [
            "EchoFunction"
        ]
        assert (
            router.matching_functions({"source": "test.sandbox", "account": "333333333333"}) == []
        )
    finally:
        router.stop()
