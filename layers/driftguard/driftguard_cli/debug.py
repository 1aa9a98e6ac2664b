"""`--debug`: one line on stderr per AWS call the command makes.

Operation, region, HTTP status, retries and time, from botocore's own call events on
the command's session (every client the command makes, hub or member account, comes
from it). Never a payload, a header or a credential: botocore's DEBUG logging prints
session tokens and policies, so it is not used.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

import boto3

_STARTED = "driftguard_debug_started"
_REGION = "driftguard_debug_region"
_CALL = "driftguard_debug_call"


class CallLog:
    def __init__(self, err: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._err = err
        self._clock = clock

    def attach(self, session: boto3.Session) -> None:
        session.events.register("before-call", self._before)
        session.events.register("after-call", self._after)
        session.events.register("after-call-error", self._failed)

    def _before(self, model: Any, context: dict[str, Any], **kwargs: Any) -> None:
        context[_STARTED] = self._clock()
        signer = kwargs.get("request_signer")
        context[_REGION] = getattr(signer, "region_name", None) or "-"
        context[_CALL] = f"{model.service_model.service_name}.{model.name}"

    def _after(self, context: dict[str, Any], parsed: dict[str, Any], **_: Any) -> None:
        meta = parsed.get("ResponseMetadata", {})
        outcome = str(meta.get("HTTPStatusCode", "?"))
        error = parsed.get("Error", {}).get("Code")
        self._line(context, f"{outcome} {error}" if error else outcome, meta)

    def _failed(self, context: dict[str, Any], exception: Exception, **_: Any) -> None:
        self._line(context, type(exception).__name__, {})

    def _line(self, context: dict[str, Any], outcome: str, meta: dict[str, Any]) -> None:
        now = self._clock()
        elapsed = (now - context.get(_STARTED, now)) * 1000
        retries = meta.get("RetryAttempts") or 0
        again = f", {retries} retries" if retries else ""
        print(
            f"aws: {context.get(_CALL, '?')} {context.get(_REGION, '-')} -> {outcome} "
            f"({elapsed:.0f} ms{again})",
            file=self._err,
            flush=True,
        )
