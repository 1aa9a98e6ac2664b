"""AWS access: the hub's own clients and clients in member accounts through the
remediation role. Created lazily, once per container, and injectable in tests
(pass a boto3 Session). Nothing here runs at import time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from driftguard.errors import ConfigError

# Standard retry mode backs off on throttling (Secrets Manager policy APIs share
# 50 requests/s per region, KMS PutKeyPolicy is low too).
BOTO_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5)
SESSION_NAME = "driftguard"
_REFRESH_MARGIN_SECONDS = 300


@dataclass(frozen=True)
class _Assumed:
    session: boto3.Session
    expires_at: float


class AwsClients:
    """Cached client factory.

    `hub(service)` acts as the function's own role; `in_account(account, service,
    region)` assumes `<remediation role>` in that account (KMS key policies cannot
    be read or written cross-account, so every spoke call goes through it).
    """

    def __init__(
        self,
        *,
        remediation_role_name: str | None = None,
        session: boto3.Session | None = None,
        partition: str = "aws",
    ) -> None:
        self._session = session
        self._remediation_role_name = remediation_role_name
        self._partition = partition
        self._hub_clients: dict[tuple[str, str], Any] = {}
        # Keyed by account; the session is kept to notice credentials were refreshed.
        self._account_clients: dict[tuple[str, str, str], tuple[boto3.Session, Any]] = {}
        self._assumed: dict[str, _Assumed] = {}
        self._lock = threading.Lock()

    @property
    def base_session(self) -> boto3.Session:
        if self._session is None:
            self._session = boto3.Session()
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
                self._hub_clients[key] = self.base_session.client(
                    service, region_name=key[1], config=BOTO_CONFIG
                )
            return self._hub_clients[key]

    def role_arn(self, account_id: str) -> str:
        if not self._remediation_role_name:
            raise ConfigError("REMEDIATION_ROLE_NAME is required to reach member accounts")
        return f"arn:{self._partition}:iam::{account_id}:role/{self._remediation_role_name}"

    def in_account(self, account_id: str, service: str, region: str | None = None) -> Any:
        region = region or self.region
        session = self._account_session(account_id)
        key = (account_id, service, region)
        with self._lock:
            cached = self._account_clients.get(key)
            if cached is not None and cached[0] is session:
                return cached[1]
            client = session.client(service, region_name=region, config=BOTO_CONFIG)
            self._account_clients[key] = (session, client)
            return client

    def _account_session(self, account_id: str) -> boto3.Session:
        with self._lock:
            assumed = self._assumed.get(account_id)
            if assumed and assumed.expires_at - _REFRESH_MARGIN_SECONDS > time.time():
                return assumed.session
        response = self.hub("sts").assume_role(
            RoleArn=self.role_arn(account_id), RoleSessionName=SESSION_NAME
        )
        creds = response["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.region,
        )
        with self._lock:
            self._assumed[account_id] = _Assumed(session, creds["Expiration"].timestamp())
        return session
