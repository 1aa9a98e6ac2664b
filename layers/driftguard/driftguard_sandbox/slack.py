"""`LocalSlack`: a Slack incoming webhook on 127.0.0.1 for the notifier to post to.

A real HTTP server (threaded, a free port) that answers the way Slack's webhook
endpoint does and records every POST:

- `200 ok` for a message Slack would take;
- `400 invalid_payload` (not a JSON object), `400 no_text` (neither text nor
  blocks), `400 invalid_blocks` (blocks slack_sdk's models refuse, or past the
  limits they do not check: `driftguard.notify.blocks.check_block`), so a
  message Slack would refuse is refused here too;
- `404 no_service` for any other path (a revoked or mistyped webhook).

Tests and the demo script the next answers with `script(...)`:
`SlackReply.rate_limited(retry_after=1)` (429 with Retry-After),
`SlackReply.server_error()` (500), `SlackReply.hang(seconds)` (no answer before
the client's timeout), `SlackReply.no_service()` (404).

Only 127.0.0.1 is bound. The URL carries a random token, like a real webhook,
so a test can check it never shows up in logs.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from driftguard.notify.blocks import MAX_BLOCKS, check_block
from driftguard_sandbox.background import HOST, BackgroundServer

__all__ = ["LocalSlack", "SlackPost", "SlackReply"]


@dataclass(frozen=True)
class SlackReply:
    """One scripted answer, after `delay` seconds. Status 0 is no answer at all:
    the connection is closed after the delay (a hang, when longer than the
    client's timeout)."""

    status: int = 200
    body: str = "ok"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0

    @classmethod
    def ok(cls) -> SlackReply:
        return cls()

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> SlackReply:
        return cls(429, "rate_limited", (("Retry-After", str(retry_after)),))

    @classmethod
    def server_error(cls, status: int = 500) -> SlackReply:
        return cls(status, "internal_error")

    @classmethod
    def no_service(cls) -> SlackReply:
        return cls(404, "no_service")

    @classmethod
    def hang(cls, seconds: float) -> SlackReply:
        """Say nothing for `seconds`, then hang up: nothing is posted."""
        return cls(0, "", delay=seconds)


@dataclass(frozen=True)
class SlackPost:
    """One POST the receiver got, and what it answered."""

    path: str
    body: bytes
    headers: dict[str, str]
    status: int
    answer: str
    at: float = field(default_factory=time.monotonic)

    @property
    def payload(self) -> dict[str, Any] | None:
        try:
            loaded = json.loads(self.body)
        except ValueError:
            return None
        return loaded if isinstance(loaded, dict) else None

    @property
    def delivered(self) -> bool:
        return self.status == 200


class LocalSlack:
    """Start with `LocalSlack().start()` or `with LocalSlack() as slack:`."""

    def __init__(self) -> None:
        # Shaped like a real webhook: /services/T.../B.../<secret token>.
        self.path = (
            f"/services/T{secrets.token_hex(4).upper()}/B{secrets.token_hex(4).upper()}/"
            f"{secrets.token_urlsafe(18)}"
        )
        self.default = SlackReply.ok()
        self._script: deque[SlackReply] = deque()
        self._posts: list[SlackPost] = []
        self._taken = 0
        self._lock = threading.Condition()
        self._release = threading.Event()  # ends every pending hang at stop()
        self._background: BackgroundServer | None = None

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> LocalSlack:
        server = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        server.daemon_threads = True
        server.block_on_close = False  # a hanging answer must not hold up stop()
        self._release.clear()
        self._background = BackgroundServer(server, "sandbox-slack", poll=0.05)
        return self

    def stop(self) -> None:
        self._release.set()
        if self._background is not None:
            self._background.stop()
        self._background = None

    def __enter__(self) -> LocalSlack:
        return self.start() if self._background is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The webhook URL (a credential in real life: tests check it is never logged)."""
        if self._background is None:
            raise RuntimeError("LocalSlack not started")
        return f"{self._background.url}{self.path}"

    # -- behaviour ------------------------------------------------------------
    def script(self, *replies: SlackReply) -> None:
        """Answer the next POSTs with `replies`, in order; then `default` again."""
        with self._lock:
            self._script.extend(replies)

    def always(self, reply: SlackReply) -> None:
        """Answer every POST with `reply` once the script is used up."""
        with self._lock:
            self.default = reply

    def clear(self) -> None:
        with self._lock:
            self._script.clear()
            self._posts.clear()
            self._taken = 0
            self.default = SlackReply.ok()

    # -- what it got ------------------------------------------------------------
    @property
    def posts(self) -> list[SlackPost]:
        """Every POST so far, whatever it was answered."""
        with self._lock:
            return list(self._posts)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The payloads that were answered `200 ok` (what the channel shows)."""
        return [p.payload for p in self.posts if p.delivered and p.payload is not None]

    def take(self) -> list[dict[str, Any]]:
        """Messages delivered since the last `take()` (the demo prints them as they come)."""
        with self._lock:
            delivered = [p.payload for p in self._posts if p.delivered and p.payload is not None]
            new, self._taken = delivered[self._taken :], len(delivered)
            return new

    def wait_for_posts(self, count: int, timeout: float = 10.0) -> list[SlackPost]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._posts) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self._posts)} of {count} posts after {timeout}s")
                self._lock.wait(remaining)
            return list(self._posts)

    # -- server side ------------------------------------------------------------
    def _answer(self, path: str, body: bytes, headers: dict[str, str]) -> SlackReply:
        if path != self.path:
            reply = SlackReply.no_service()
        else:
            # Slack checks the payload first; a refused one uses up no scripted answer.
            problem = slack_rejects(body)
            with self._lock:
                if problem:
                    reply = SlackReply(400, problem)
                else:
                    reply = self._script.popleft() if self._script else self.default
        with self._lock:
            self._posts.append(SlackPost(path, body, headers, reply.status, reply.body))
            self._lock.notify_all()
        return reply

    def _wait(self, seconds: float) -> None:
        self._release.wait(seconds)


def slack_rejects(body: bytes) -> str | None:
    """The error Slack's webhook answers for `body`, or None if it takes it."""
    try:
        payload = json.loads(body)
    except ValueError:
        return "invalid_payload"
    if not isinstance(payload, dict):
        return "invalid_payload"
    blocks = payload.get("blocks")
    if not payload.get("text") and not blocks:
        return "no_text"
    if blocks is None:
        return None
    return None if _valid_blocks(blocks) else "invalid_blocks"


def _valid_blocks(blocks: Any) -> bool:
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return False
    # slack_sdk's parsers raise the others on malformed blocks (a missing key, a wrong type).
    try:
        for block in Block.parse_all(blocks):
            check_block(block)
    except (SlackObjectFormationError, AttributeError, KeyError, TypeError, ValueError):
        return False
    return True


def _handler_for(receiver: LocalSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            reply = receiver._answer(self.path, body, dict(self.headers.items()))
            if reply.delay:
                receiver._wait(reply.delay)
            if not reply.status:
                self.close_connection = True
                return
            data = reply.body.encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a hang past its timeout)

        def log_message(self, format: str, *args: Any) -> None:
            return None  # quiet: the request line would print the webhook URL

    return Handler
