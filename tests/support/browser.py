"""Headless Chromium for the tests that look at the HTML report: run it, talk to it
over its DevTools protocol (a pipe), parse the DOM it dumps. Debian's package
(`make browser`, which `make test` runs)."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"  # screenshots, PDFs and pages, for people to look at


# --------------------------------------------------------------------------- Chromium


def _browser(profile: Path, *args: str) -> list[str]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: run `make browser` (make test does)")
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _browser(profile, *args), capture_output=True, text=True, timeout=120, check=True
    )


class DevTools:
    """Chromium's DevTools protocol over --remote-debugging-pipe: it reads commands on
    its fd 3 and answers on its fd 4, one JSON message per NUL-terminated chunk."""

    def __init__(self, to_browser: int, from_browser: int) -> None:
        self._out, self._in = to_browser, from_browser
        self._buffer, self._last_id = b"", 0

    def call(self, method: str, params: dict[str, Any] | None = None, **kw: str) -> Any:
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params or {}, **kw}
        os.write(self._out, json.dumps(message).encode() + b"\0")
        answer = self.receive(lambda m: m.get("id") == self._last_id)
        assert "error" not in answer, answer
        return answer["result"]

    def receive(self, wanted: Any, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message: dict[str, Any] = json.loads(raw)
                if wanted(message):
                    return message
            ready, _, _ = select.select([self._in], [], [], deadline - time.monotonic())
            assert ready, "Chromium did not answer"
            chunk = os.read(self._in, 1 << 16)
            assert chunk, "Chromium closed its DevTools pipe"
            self._buffer += chunk

    def evaluate(self, url: str, expression: str, media: str) -> Any:
        """`expression`'s value on `url` loaded in a new tab with CSS media `media`
        emulated ("print", or "" for the screen)."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        sid = session["sessionId"]
        self.call("Page.enable", sessionId=sid)
        self.call("Emulation.setEmulatedMedia", {"media": media}, sessionId=sid)
        self.call("Page.navigate", {"url": url}, sessionId=sid)
        self.receive(lambda m: m.get("method") == "Page.loadEventFired")
        done = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, sessionId=sid
        )
        return done["result"]["value"]


@contextmanager
def devtools(profile: Path) -> Iterator[DevTools]:
    to_browser = os.pipe()  # its fd 3 reads [0]; we write [1]
    from_browser = os.pipe()  # its fd 4 writes [1]; we read [0]

    def onto_3_and_4() -> None:  # in the child, before exec
        # Out of the way first: a pipe's own fd may be 3 or 4.
        ours = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser[0], from_browser[1])]
        os.dup2(ours[0], 3)
        os.dup2(ours[1], 4)

    process = subprocess.Popen(
        _browser(profile, "--remote-debugging-pipe", "about:blank"),
        pass_fds=(3, 4),
        preexec_fn=onto_3_and_4,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(to_browser[0])
    os.close(from_browser[1])
    tools = DevTools(to_browser[1], from_browser[0])
    try:
        yield tools
        tools.call("Browser.close")
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        os.close(to_browser[1])
        os.close(from_browser[0])


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    content: list[Node | str] = field(default_factory=list)  # in document order

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def words(self) -> str:
        """The text as read, in document order, whitespace collapsed."""
        parts = (part if isinstance(part, str) else part.words() for part in self.content)
        return " ".join(" ".join(parts).split())

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, tag: str = "", cls: str = "", **attrs: str) -> list[Node]:
        return [
            n
            for n in self.walk()
            if (not tag or n.tag == tag)
            and (not cls or cls in n.classes)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def one(self, tag: str = "", cls: str = "", **attrs: str) -> Node:
        (node,) = self.find(tag, cls, **attrs)
        return node


_VOID = {"meta", "link", "br", "input", "img", "hr", "col", "source", "area", "base", "wbr"}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        self.stack[-1].content.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)
        self.stack[-1].content.append(data)


def parse_dom(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    return builder.root


# Chromium's console on stderr: it names each CSP directive the page violated.
CONSOLE = ("--enable-logging=stderr", "--v=0")


def csp_violations(stderr: str) -> set[str]:
    return set(re.findall(r"Content Security Policy directive '([a-z-]+)", stderr))


def csp_of(page: str) -> dict[str, str]:
    """The directives of the page's meta Content-Security-Policy."""
    meta = parse_dom(page).one("meta", http_equiv="Content-Security-Policy")
    return dict(d.strip().split(" ", 1) for d in meta.attrs["content"].split(";"))


def sha256_source(page: str, tag: str) -> str:
    """The CSP source for the exact text of the page's one <tag> element."""
    (text,) = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height
