"""A socket server on 127.0.0.1 served from a daemon thread (moto's and the Slack receiver)."""

from __future__ import annotations

import socketserver
import threading
from typing import Final

HOST: Final = "127.0.0.1"  # the sandbox never listens anywhere else


class BackgroundServer:
    def __init__(self, server: socketserver.BaseServer, name: str, poll: float = 0.5) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(poll,), name=name, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        address: tuple[str, int] = self.server.server_address  # type: ignore[assignment]
        return f"http://{address[0]}:{address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
