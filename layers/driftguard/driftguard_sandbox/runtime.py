"""Run a function's handler in-process the way Lambda would run it.

Each function is its own "container": its `app.py` is imported under a module
name of its own, lazily on first invocation, and kept until `reset()` (a cold
start per test). During an invocation the function's resolved environment is
applied to `os.environ` and restored afterwards; a single lock serializes
invocations so two functions never see each other's environment.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TextIO

from driftguard_sandbox.template import FunctionSpec

__all__ = ["LambdaContext", "LambdaRuntime"]


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "sandbox"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaRuntime:
    """Loads and invokes handlers; `invoke` is the router's default invoker."""

    def __init__(
        self,
        *,
        account_id: str,
        region: str,
        partition: str = "aws",
        log_stream: TextIO | None = None,
    ) -> None:
        # Where the functions' stdout goes (their CloudWatch Logs); None: this
        # process's stdout.
        self.log_stream = log_stream
        self.account_id = account_id
        self.region = region
        self.partition = partition
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.RLock()

    def function_arn(self, spec: FunctionSpec) -> str:
        name = spec.function_name or spec.logical_id
        return f"arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:{name}"

    def load(self, spec: FunctionSpec) -> Any:
        """The handler callable, importing `app.py` on first use (cold start)."""
        with self._lock:
            module = self._modules.get(spec.logical_id)
            if module is None:
                module = self._import(spec)
                self._modules[spec.logical_id] = module
            return getattr(module, spec.handler_name)

    @staticmethod
    def _import(spec: FunctionSpec) -> ModuleType:
        name = f"driftguard_fn_{spec.logical_id}"
        location = spec.handler_file
        module_spec = importlib.util.spec_from_file_location(name, location)
        if module_spec is None or module_spec.loader is None or not location.is_file():
            raise ImportError(f"{spec.logical_id}: no handler module at {location}")
        module = importlib.util.module_from_spec(module_spec)
        # Registered so dataclasses/pydantic can resolve the module's annotations.
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module

    def invoke(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        """Invoke `spec`'s handler with `event` under its environment; errors propagate."""
        context = LambdaContext(
            function_name=spec.function_name or spec.logical_id,
            invoked_function_arn=self.function_arn(spec),
            memory_limit_in_mb=spec.memory_size,
            timeout_seconds=spec.timeout,
        )
        lambda_env = {
            **spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": context.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": context.function_version,
            "AWS_LAMBDA_LOG_GROUP_NAME": context.log_group_name,
        }
        logs = redirect_stdout(self.log_stream) if self.log_stream else nullcontext()
        with self._lock, _environment(lambda_env), logs:
            handler = self.load(spec)
            return handler(event, context)

    def reset(self, *logical_ids: str) -> None:
        """Drop the loaded modules of these functions (default: all): their next
        invocation is a cold start."""
        with self._lock:
            for logical_id in logical_ids or tuple(self._modules):
                sys.modules.pop(f"driftguard_fn_{logical_id}", None)
                self._modules.pop(logical_id, None)


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """`variables` set in os.environ, then put back one by one, never deleted. Not
    mock.patch.dict: its clear-and-refill leaves the environment empty for a moment, and
    a test's thread creating a client then (the CLI, while a function runs) fails or
    loses its endpoint."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        # A variable that was not set stays (with the last function's value): deleting
        # one while another thread iterates the environment raises KeyError there.
        # The sandbox puts the whole environment back when it stops.
        for name, value in before.items():
            if value is not None and os.environ.get(name) != value:
                os.environ[name] = value
