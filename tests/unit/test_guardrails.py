"""driftguard's own flags on every policy write: the KMS lockout check is never
bypassed, and a secret policy is only written with BlockPublicPolicy. The spoke
template denies the other values (tests/contract/test_templates.py); this pins what
the code sends, for every registered kind."""

from __future__ import annotations

from typing import Any

import pytest

from driftguard import kinds
from driftguard.arns import Arn
from tests.support.guardrails import GUARDRAILS

POLICY = '{"Version": "2012-10-17", "Statement": []}'


class Recorder:
    """A client that records every call and answers nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            return {}

        return call


class RecordingClients:
    def __init__(self) -> None:
        self.client = Recorder()

    def in_account(self, account: str, service: str, region: str | None = None) -> Recorder:
        return self.client


def test_every_kind_has_its_guardrails_listed() -> None:
    assert sorted(GUARDRAILS) == sorted(kind.name for kind in kinds.all_kinds())


@pytest.mark.parametrize("name", sorted(GUARDRAILS))
def test_every_write_carries_the_guardrail_flags(name: str) -> None:
    arn, operation, flags = GUARDRAILS[name]
    clients = RecordingClients()

    kinds.get(name).write_policy(clients, Arn.parse(arn), POLICY)  # type: ignore[arg-type]

    writes = [kwargs for called, kwargs in clients.client.calls if called == operation]
    assert len(writes) == 1, clients.client.calls
    assert {flag: writes[0].get(flag) for flag in flags} == flags
