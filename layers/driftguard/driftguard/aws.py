"""AWS access: the hub's own clients and clients in member accounts through the
remediation role. Created lazily, once per container, and injectable in tests
(pass a boto3 Session). Nothing here runs at import time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.loaders import Loader

from driftguard.errors import AccountNotAllowedError, ConfigError
from driftguard.quotas import RateLimiter
from driftguard.retry import SYSTEM_CLOCK, Clock

# Standard retry mode backs off on throttling. In member accounts driftguard shares
# the quotas with everyone else there (driftguard.quotas): adaptive mode also slows
# the client down after a throttle, and the pool fits a sweep worker's threads.
BOTO_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5)
MEMBER_CONFIG = BotoConfig(
    retries={"mode": "adaptive", "max_attempts": 6}, connect_timeout=5, max_pool_connections=32
)
SESSION_NAME = "driftguard"
_REFRESH_MARGIN_SECONDS = 300


_LOADER: list[Loader] = []  # the process's one data loader, made by the first session


def new_session(**kwargs: Any) -> boto3.Session:
    """A boto3 Session whose service models are parsed once per process.

    Each botocore session otherwise re-reads and re-parses the JSON models (IAM's
    alone takes a tenth of a second): the CLI, the demo and the sandbox create
    several in one process. `kwargs` are boto3.Session's."""
    core = botocore.session.Session()
    if _LOADER:
        core.register_component("data_loader", _LOADER[0])
    session = boto3.Session(botocore_session=core, **kwargs)
    loader: Loader = core.get_component("data_loader")
    if not _LOADER:
        _LOADER.append(loader)
    # boto3 adds its own resource models' folder to the loader once per session.
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return session


@dataclass(frozen=True)
class _Assumed:
    """Credentials of the remediation role in one account, until they expire."""

    access_key: str
    secret_key: str
    token: str
    expires_at: float


class AwsClients:
    """Cached client factory.

    `hub(service)` acts as the function's own role; `in_account(account, service,
    region)` assumes `<remediation role>` in that account. Each side has its limiter
    (driftguard.quotas) (KMS key policies cannot
    be read or written cross-account, so every spoke call goes through it).
    """

    def __init__(
        self,
        *,
        remediation_role_name: str | None = None,
        session: boto3.Session | None = None,
        partition: str = "aws",
        clock: Clock = SYSTEM_CLOCK,
        member_accounts: frozenset[str] | None = None,
        limiter: RateLimiter | None = None,
        hub_limiter: RateLimiter | None = None,
    ) -> None:
        self._session = session
        self._limiter = limiter
        self._hub_limiter = hub_limiter
        self._members = member_accounts
        self._clock = clock
        self._remediation_role_name = remediation_role_name
        self._partition = partition
        self._hub_clients: dict[tuple[str, str], Any] = {}
        # Keyed by account; the credentials are kept to notice they were refreshed.
        self._account_clients: dict[tuple[str, str, str], tuple[_Assumed, Any]] = {}
        self._assumed: dict[str, _Assumed] = {}
        self._assuming: dict[str, threading.Lock] = {}  # one AssumeRole at a time, per account
        self._lock = threading.Lock()

    @property
    def base_session(self) -> boto3.Session:
        if self._session is None:
            self._session = new_session()
        return self._session

    @property
    def region(self) -> str:
        region: str | None = self.base_session.region_name
        if not region:
            raise ConfigError("no AWS region: set AWS_REGION (or pass --region)")
        return region

    def hub(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        with self._lock:
            if key not in self._hub_clients:
                client = self.base_session.client(service, region_name=key[1], config=BOTO_CONFIG)
                if self._hub_limiter is not None:
                    self._hub_limiter.attach(client, "hub", key[1])
                self._hub_clients[key] = client
            return self._hub_clients[key]

    def role_arn(self, account_id: str) -> str:
        if not self._remediation_role_name:
            raise ConfigError("REMEDIATION_ROLE_NAME is required to reach member accounts")
        return f"arn:{self._partition}:iam::{account_id}:role/{self._remediation_role_name}"

    def allows(self, account_id: str) -> bool:
        """Whether driftguard may act in the account (None: the organization's, which the
        hub bus alone admits)."""
        return self._members is None or account_id in self._members

    def in_account(self, account_id: str, service: str, region: str | None = None) -> Any:
        if not self.allows(account_id):
            raise AccountNotAllowedError(
                f"account {account_id} is not one driftguard guards (MemberAccountIds)"
            )
        region = region or self.region
        assumed = self._assume(account_id)
        key = (account_id, service, region)
        with self._lock:
            cached = self._account_clients.get(key)
            if cached is not None and cached[0] is assumed:
                return cached[1]
            # From the one base session: service models are loaded once per container,
            # not once per account.
            client = self.base_session.client(
                service,
                region_name=region,
                config=MEMBER_CONFIG,
                aws_access_key_id=assumed.access_key,
                aws_secret_access_key=assumed.secret_key,
                aws_session_token=assumed.token,
            )
            if self._limiter is not None:
                self._limiter.attach(client, account_id, region)
            self._account_clients[key] = (assumed, client)
            return client

    def _assume(self, account_id: str) -> _Assumed:
        """One AssumeRole per account, again only shortly before the credentials expire;
        threads asking for the same account at once wait for the one that asks."""
        with self._lock:
            assuming = self._assuming.setdefault(account_id, threading.Lock())
        with assuming:
            with self._lock:
                assumed = self._assumed.get(account_id)
                now = self._clock.now().timestamp()
                if assumed and assumed.expires_at - _REFRESH_MARGIN_SECONDS > now:
                    return assumed
            return self._assume_now(account_id)

    def _assume_now(self, account_id: str) -> _Assumed:
        response = self.hub("sts").assume_role(
            RoleArn=self.role_arn(account_id), RoleSessionName=SESSION_NAME
        )
        creds = response["Credentials"]
        assumed = _Assumed(
            access_key=creds["AccessKeyId"],
            secret_key=creds["SecretAccessKey"],
            token=creds["SessionToken"],
            expires_at=creds["Expiration"].timestamp(),
        )
        with self._lock:
            self._assumed[account_id] = assumed
        return assumed
