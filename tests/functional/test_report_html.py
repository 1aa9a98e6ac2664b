"""`driftguard report --html` from a sandbox story, opened in headless Chromium.

Chromium (Debian's package, `make browser`) loads the file, runs its script and
dumps the DOM; the test reads what rendered. A screenshot and the page are kept
under test-artifacts/ for people to look at.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import struct
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from driftguard.state import StateStore
from driftguard.vocabulary import AuditAction
from driftguard_cli.exit_codes import EXIT_OK
from driftguard_cli.report import build_report, render_html
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, Story
from tests.support.cli import run_cli

# The slow tier: an external tool (SAM CLI, checkov) or a browser.
pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


# --------------------------------------------------------------------------- Chromium


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: run `make browser` (make test does)")
    return subprocess.run(
        [
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
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

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


# --------------------------------------------------------------------------- the story


@dataclass
class Rendered:
    story: Story
    store: StateStore
    page: Path
    current_id: str


@pytest.fixture(scope="module")
def rendered(sandbox_server: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """Both policies adopted; the key policy widened by hand (restored); pod-role
    deleted (orphaned), created again (restored) and deleted again (still orphaned).
    Built once for the module: the tests only read the page."""
    sandbox = sandbox_server
    sandbox.reset()
    story = Story.create(sandbox)
    for arn in (story.key_arn, story.secret_arn):
        assert run_cli("adopt", arn, "--mode", "enforce")[0] == EXIT_OK
    sandbox.wait_idle()
    story.widen_key_policy()
    sandbox.wait_idle()
    story.delete_pod_role()
    sandbox.wait_idle()
    current_id = story.recreate_pod_role()
    sandbox.wait_idle()
    story.delete_pod_role()
    sandbox.wait_idle()
    page = tmp_path_factory.mktemp("report") / "report.html"
    code, output = run_cli("report", "--html", str(page))
    assert code == EXIT_OK and "2 resources" in output
    store = StateStore.for_table(sandbox.hub_session(), sandbox.hub.table_name)
    return Rendered(story, store, page, current_id)


def test_report_renders_in_chromium(rendered: Rendered, tmp_path: Path) -> None:
    story, store = rendered.story, rendered.store
    result = chromium(tmp_path / "profile", *CONSOLE, "--dump-dom", rendered.page.as_uri())
    dom = parse_dom(result.stdout)

    # The CSP let the page's style and script apply, and the script ran: it marks the
    # page and counts the rows it shows.
    assert csp_violations(result.stderr) == set()
    assert dom.one("html").attrs.get("data-js") == "ready"
    assert dom.one(id="shown-count").all_text() == "2 of 2 resources shown"

    # Every resource, by account and kind, with its status.
    rows = {(r.attrs["data-arn"], r.attrs["data-status"]) for r in dom.find("tr", "res")}
    assert rows == {
        (story.key_arn, "orphaned-principal"),
        (story.secret_arn, "orphaned-principal"),
    }
    data_account = dom.one("section", "account", data_account="222222222222")
    assert [r.attrs["data-arn"] for r in data_account.find("tr", "res")] == [story.secret_arn]
    assert dom.one(id="total-resources").all_text() == "2"
    card = dom.one("div", "card", data_status="orphaned-principal")
    assert card.one("span", "n").all_text() == "2"

    # The timeline: one dot per audit entry, coloured by what happened.
    histories = [store.history(arn) for arn in (story.key_arn, story.secret_arn)]
    actions = Counter(e.action for history in histories for e in history)
    chart = dom.one("svg", id="timeline-chart")
    dots = chart.find("circle", "pt")
    assert len(dots) == sum(actions.values())
    categories = Counter(d.attrs["data-category"] for d in dots)
    assert categories["drift"] == actions[AuditAction.ORPHANED_PRINCIPAL] == 4
    assert categories["remediation"] == actions[AuditAction.RESTORED] == 3
    assert {lane.attrs["data-arn"] for lane in chart.find("g", "lane")} == {
        story.key_arn,
        story.secret_arn,
    }

    # The open orphaned principal: the recreated role's id, deleted again.
    (orphan,) = dom.find("tr", "orphan")
    assert orphan.attrs["data-unique-id"] == rendered.current_id
    assert POD_ROLE_ARN in orphan.all_text()
    assert story.key_arn in orphan.all_text() and story.secret_arn in orphan.all_text()

    # Most changed first: the key was also widened by hand.
    changed = [r.attrs["data-arn"] for r in dom.find("tr", "changed")]
    assert changed == [story.key_arn, story.secret_arn]

    # Self-contained: nothing is loaded from anywhere, and only the page's own style and
    # script may apply, by their hashes.
    assert not [n for n in dom.walk() if "src" in n.attrs or n.tag == "link"]
    assert not [
        n for n in dom.walk() if "style" in n.attrs or any(a.startswith("on") for a in n.attrs)
    ]
    page = rendered.page.read_text(encoding="utf-8")
    assert csp_of(page) == {
        "default-src": "'none'",
        "style-src": sha256_source(page, "style"),
        "script-src": sha256_source(page, "script"),
        "img-src": "data:",
    }


def test_report_filter_runs_in_the_browser(rendered: Rendered, tmp_path: Path) -> None:
    url = rendered.page.as_uri() + "#filter=secretsmanager"
    dom = parse_dom(chromium(tmp_path / "profile", "--dump-dom", url).stdout)
    assert dom.one(id="shown-count").all_text() == "1 of 2 resources shown"
    hidden = {r.attrs["data-arn"] for r in dom.find("tr", "res") if "hidden" in r.attrs}
    assert hidden == {rendered.story.key_arn}
    security = dom.one("section", "account", data_account="333333333333")
    assert "hidden" in security.attrs  # an account with nothing to show is folded away


def test_the_csp_refuses_any_other_style_or_script(tmp_path: Path) -> None:
    """The hashes are what let the page's style and script apply: changed by a word,
    neither does (no sandbox needed: an empty report has the same style and script)."""
    now = datetime.now(UTC)
    page = render_html(
        build_report([], {}, {}, generated_at=now, table_name="t", since=now - timedelta(days=1))
    )
    tampered = page.replace("margin:24px", "margin:25px").replace("'ready'", "'tampered'")
    assert tampered.count("25px") == 1 and tampered.count("'tampered'") == 1
    for name, text, js, violated in (
        ("page", page, "ready", set()),
        ("tampered", tampered, None, {"style-src", "script-src"}),
    ):
        path = tmp_path / f"{name}.html"
        path.write_text(text, encoding="utf-8")
        result = chromium(tmp_path / f"profile-{name}", *CONSOLE, "--dump-dom", path.as_uri())
        assert parse_dom(result.stdout).one("html").attrs.get("data-js") == js, name
        assert csp_violations(result.stderr) == violated, name


def test_report_screenshot_is_kept(rendered: Rendered, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    shutil.copyfile(rendered.page, ARTIFACTS / "report.html")
    chromium(
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        rendered.page.as_uri(),
    )
    assert png_size(shot) == (1280, 2000)
    assert shot.stat().st_size > 20_000  # a blank page compresses to a few kilobytes
