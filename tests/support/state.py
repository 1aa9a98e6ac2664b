"""Reading the state table in assertions."""

from __future__ import annotations

from driftguard.state import StateStore
from driftguard.vocabulary import Status


def status_of(store: StateStore, arn: str) -> Status:
    record = store.get_status(arn)
    assert record is not None, f"no status recorded for {arn}"
    return record.status
