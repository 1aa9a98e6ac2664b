"""AWS request quotas, and the limiter that keeps driftguard's calls under its share.

Quotas are per account and region, and other callers use them too (people, pipelines,
the applications): Secrets Manager's four resource-policy APIs share 50 requests per
second, not adjustable; KMS GetKeyPolicy has 1,000 and PutKeyPolicy 15 (KMS developer
guide, request quotas). driftguard takes `share` of each (QUOTA_SHARE, half by
default) and spaces its calls evenly under that rate, so a sweep never throttles the
organisation's own calls; what other callers still cause is retried by botocore's
adaptive mode.

The limiter runs on every HTTP attempt of a member-account client (botocore's
`before-send` event), so retries count too. It is per container: the sweep runs one
worker per account and region at a time (driftguard.sweep), which makes a
container's limit the account-region's limit.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from driftguard.retry import Clock


@dataclass(frozen=True)
class Quota:
    """What AWS allows per account and region: `per_second` requests, shared by every
    operation with the same `bucket`. Each resource kind declares the quotas of the
    calls it makes (ResourceKind.quotas); IAM publishes no per-second quota for its
    reads, and AssumeRole is made once per account per container."""

    bucket: str
    per_second: float


class RateLimiter:
    """Spaces calls so that each (account, region, bucket) stays under `share` of its
    quota: call n starts no earlier than n / rate seconds after the first (no burst,
    so no one-second window ever holds more than the rate)."""

    def __init__(
        self, quotas: Mapping[tuple[str, str], Quota], *, share: float, clock: Clock
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"quota share must be in (0, 1], not {share}")
        self._quotas = dict(quotas)
        self._share = share
        self._clock = clock
        self._next: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def rate(self, service: str, operation: str) -> float | None:
        """driftguard's calls per second for the operation (None: not limited)."""
        quota = self._quotas.get((service, operation))
        return quota.per_second * self._share if quota else None

    def acquire(self, account: str, region: str, service: str, operation: str) -> None:
        """Wait until the call may go."""
        quota = self._quotas.get((service, operation))
        if quota is None:
            return
        interval = 1.0 / (quota.per_second * self._share)
        key = (account, region, quota.bucket)
        with self._lock:
            now = self._clock.monotonic()
            slot = max(now, self._next.get(key, now))
            self._next[key] = slot + interval
        if slot > now:
            self._clock.sleep(slot - now)

    def attach(self, client: Any, account: str, region: str) -> None:
        """Limit every request `client` sends (retries included)."""
        service = client.meta.service_model.service_name

        def before_send(event_name: str, **_: Any) -> None:
            self.acquire(account, region, service, event_name.rsplit(".", 1)[-1])

        client.meta.events.register("before-send", before_send)
