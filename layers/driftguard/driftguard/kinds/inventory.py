"""The coverage inventory: how many resources of each kind exist in an account and
region, declared or not, for the report to set against what is declared.

The sweep worker counts its shard once it has swept all of it. Counting is read only
and best effort: nothing the sweep decided depends on it, so what stops a count (a
spoke stack older than the list grants: AccessDenied; throttling past botocore's
retries; the store) is a warning, and the other kinds are still counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from driftguard.aws import AwsClients
from driftguard.errors import DriftguardError
from driftguard.kinds.base import ResourceKind, error_code
from driftguard.kinds.registry import all_kinds
from driftguard.model import Inventory

# A child of the functions' Powertools logger ("driftguard"): structured in Lambda,
# plain on stderr in the CLI (whose stdout is its answer).
logger = logging.getLogger(__name__)

# What AWS, the network or driftguard's own guards raise; anything else is a bug.
_COUNT_ERRORS = (ClientError, BotoCoreError, DriftguardError)


class InventoryStore(Protocol):
    def put_inventory(self, item: Inventory) -> None: ...


def count(
    clients: AwsClients,
    account: str,
    region: str,
    now: Callable[[], datetime],
    kinds: tuple[ResourceKind, ...] | None = None,
) -> list[Inventory]:
    """Each kind's count in the account and region; a kind that could not be counted
    is left out (and logged)."""
    counted = []
    for kind in all_kinds() if kinds is None else kinds:
        if not kind.counts_in(region):
            continue
        try:
            existing = kind.count_existing(clients, account, region)
        except _COUNT_ERRORS as exc:
            _warn("resources not counted", account, region, kind.name, exc)
            continue
        counted.append(Inventory(account, region, kind.name, existing, now()))
    return counted


def record(
    store: InventoryStore,
    clients: AwsClients,
    account: str,
    region: str,
    now: Callable[[], datetime],
) -> list[Inventory]:
    """Count the account and region and store each count; what was stored."""
    stored = []
    for item in count(clients, account, region, now):
        try:
            store.put_inventory(item)
        except _COUNT_ERRORS as exc:
            _warn("resource count not stored", account, region, item.kind, exc)
            continue
        stored.append(item)
    return stored


def _warn(message: str, account: str, region: str, kind: str, exc: Exception) -> None:
    code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    logger.warning(
        "%s: %s in %s/%s (%s)",
        message,
        kind,
        account,
        region,
        code,
        extra={"account": account, "region": region, "kind": kind, "error_code": code},
    )
