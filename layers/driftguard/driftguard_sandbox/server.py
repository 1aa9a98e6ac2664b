"""moto's server on 127.0.0.1 with the `AwsGaps` middleware in front.

The same app moto's `ThreadedMotoServer` runs (`DomainDispatcherApplication`
over `create_backend_app`), served by werkzeug's threaded server on a free
port, so the sandbox can wrap it. Only 127.0.0.1 is ever bound or contacted.

`reset()` empties moto (POST /moto-api/reset) but keeps STS sessions valid:
moto stores assumed-role credentials in the IAM/STS backends a reset wipes,
and credentials cached by code under test (boto3 default session, a warm
handler's clients) would otherwise silently fall back to moto's default account.
"""

from __future__ import annotations

import urllib.request
from typing import Any

from moto.iam.models import iam_backends
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.sts.models import sts_backends
from werkzeug.serving import make_server

from driftguard_sandbox.aws_gaps import AwsGaps
from driftguard_sandbox.background import HOST, BackgroundServer

__all__ = ["MotoServer"]

# Never route sandbox traffic through a proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _QuietRequestHandler(MotoRequestHandler):
    """moto's handler without one access-log line per request (errors still log)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves a host: moto finds out by
    listing its own package directory, on every request."""

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backends:
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]


class MotoServer:
    """Owns the werkzeug server thread, the middleware and moto's lifecycle."""

    def __init__(self) -> None:
        self.gaps = AwsGaps(_Dispatcher())
        self._background: BackgroundServer | None = None

    @property
    def url(self) -> str:
        if self._background is None:
            raise RuntimeError("server not started")
        return self._background.url

    def start(self) -> None:
        server = make_server(
            HOST, 0, self.gaps, threaded=True, request_handler=_QuietRequestHandler
        )
        self._background = BackgroundServer(server, "sandbox-moto")

    def stop(self) -> None:
        if self._background is not None:
            self._background.stop()
        self._background = None

    def reset(self) -> None:
        """Empty every moto backend over HTTP, keeping STS sessions usable."""
        sessions = _snapshot_sessions()
        request = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")
        with _DIRECT.open(request, timeout=10) as response:
            response.read()
        _restore_sessions(sessions)
        self.gaps.clear()


def _snapshot_sessions() -> list[tuple[str, str, Any]]:
    """(account, partition, AssumedRole) for every STS session moto knows."""
    return [
        (account_id, partition, assumed)
        for account_id, per_account in list(sts_backends.items())
        for partition, backend in list(per_account.items())
        for assumed in list(backend.assumed_roles)
    ]


def _restore_sessions(sessions: list[tuple[str, str, Any]]) -> None:
    for account_id, partition, assumed in sessions:
        iam_backends[account_id][partition].access_keys[assumed.access_key_id] = assumed.access_key
        sts_backends[account_id][partition].assumed_roles.append(assumed)
