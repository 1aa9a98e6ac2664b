"""`driftguard report --html` from a sandbox story, opened in headless Chromium.

Chromium (Debian's package, `make browser`) loads the file, runs its script and
dumps the DOM; the test reads what rendered. It also prints the page to PDF, and
renders it with print media emulated over its DevTools protocol (a pipe) to read
the styles paper gets. A screenshot, the PDF and the page are kept under
test-artifacts/ for people to look at.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from driftguard.state import StateStore
from driftguard.vocabulary import AuditAction, Status
from driftguard_cli.exit_codes import EXIT_OK
from driftguard_cli.report import build_report, render_html
from driftguard_cli.report_model import when
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, Story
from tests.support.browser import (
    ARTIFACTS,
    CONSOLE,
    chromium,
    csp_of,
    csp_violations,
    devtools,
    parse_dom,
    png_size,
    sha256_source,
)
from tests.support.cli import run_cli

# The slow tier: an external tool (SAM CLI, checkov) or a browser.
pytestmark = pytest.mark.sandbox


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


def test_report_shows_what_a_review_needs(rendered: Rendered, tmp_path: Path) -> None:
    """Severity, open since, time to restore, the incidents, the access chain and the
    accounts, as the browser shows them."""
    story, store = rendered.story, rendered.store
    dom = parse_dom(chromium(tmp_path / "profile", "--dump-dom", rendered.page.as_uri()).stdout)
    history = {arn: store.history(arn) for arn in (story.key_arn, story.secret_arn)}

    # Open problems: both orphaned (high), open since the role's second deletion.
    problems = {r.attrs["data-arn"]: r for r in dom.find("tr", "problem")}
    assert set(problems) == set(history)
    for arn, row in problems.items():
        assert row.attrs["data-severity"] == "high" and "high" in row.all_text()
        assert "orphaned-principal" in row.all_text()
        last_orphaned = [e for e in history[arn] if e.action is AuditAction.ORPHANED_PRINCIPAL]
        assert row.one("td", "open-since").all_text() == when(last_orphaned[-1].at)

    # Incidents, newest first: the two open orphans; three verified restores, one of
    # them of mallory's widening (restored in the check that saw it).
    incidents = dom.find("tr", "incident")
    assert [i.attrs["data-open"] for i in incidents[:2]] == ["yes", "yes"]
    assert Counter(i.attrs["data-outcome"] for i in incidents) == {
        "remediated": 3,
        "orphaned-principal": 2,
    }
    (widened,) = [i for i in incidents if "widened" in i.all_text()]
    (undone,) = [e for e in history[story.key_arn] if "widened" in e.findings]
    assert widened.attrs["data-arn"] == story.key_arn and undone.actor
    assert undone.actor in widened.all_text() and "critical" in widened.all_text()
    assert "+ principal arn:aws:iam::444455556666:root" in widened.all_text()
    assert "restored the declared policy (verified)" in widened.all_text()
    times = dom.one(id="restore-times").words()
    assert "over 3 restores in this window" in times and "2 incidents still open" in times

    # pod-role -> the secret (data account) -> the key (security account).
    (chain,) = dom.find("tr", "chain")
    assert chain.attrs["data-role"] == POD_ROLE_ARN and chain.attrs["data-complete"] == "yes"
    links = [link.attrs["data-arn"] for link in chain.find("div", "link")]
    assert links == [story.secret_arn, story.key_arn]
    assert chain.all_text().count(Status.ORPHANED_PRINCIPAL) == 2

    # Per account: declared by kind and status; nothing counted yet (no sweep ran).
    for account, kind in (("222222222222", "secret"), ("333333333333", "kms-key")):
        section = dom.one("section", "coverage-account", data_account=account)
        text = section.words()
        assert f"1 declared: 1 {kind}. By status: orphaned-principal 1." in text
        assert section.one("tr", "cover").one("td", "not-counted").all_text() == (
            "not counted yet (the sweep counts it)"
        )

    # --json: the same data for a script.
    code, out = run_cli("report", "--json")
    data = json.loads(out)
    assert code == EXIT_OK and len(data["incidents"]) == len(incidents)
    assert data["restore_times"]["restored"] == 3 and data["restore_times"]["still_open"] == 2
    assert [c["role"] for c in data["chains"]] == [POD_ROLE_ARN]

    # The chart's dots are numbered, each number a row of the entries below it.
    dots = dom.one("svg", id="timeline-chart").find("circle", "pt")
    labels = sorted(int(t.all_text()) for t in dom.find("text", "dot-label"))
    assert (
        labels
        == list(range(1, len(dots) + 1))
        == [int(r.find("td")[0].all_text()) for r in dom.find("tr", "entry")]
    )


def pdf_pages(profile: Path, page: Path, pdf: Path) -> int:
    """Chromium's print to PDF (print media, A4 by default): the number of pages."""
    pdf.unlink(missing_ok=True)
    chromium(profile, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 30_000, len(data)
    return len(re.findall(rb"/Type\s*/Page\b", data))


def test_report_prints_on_paper(rendered: Rendered, tmp_path: Path) -> None:
    """Printed, each big section begins a page: more pages than the same page without
    that one rule (its CSP hash updated, so the rest of its style still applies)."""
    ARTIFACTS.mkdir(exist_ok=True)
    printed = pdf_pages(tmp_path / "profile", rendered.page, ARTIFACTS / "report.pdf")
    page = rendered.page.read_text(encoding="utf-8")
    style = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)[0]
    unbroken = style.replace("section.major{break-before:page}", "")
    assert unbroken != style and page.count('class="major"') == 4
    control = tmp_path / "unbroken.html"
    control.write_text(
        page.replace(style, unbroken).replace(
            sha256_source(page, "style").strip("'"), csp_hash_of(unbroken)
        ),
        encoding="utf-8",
    )
    unbroken_pages = pdf_pages(tmp_path / "profile-2", control, tmp_path / "unbroken.pdf")
    assert unbroken_pages < printed


def csp_hash_of(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


PRINTED_STYLES = """JSON.stringify({
  print: matchMedia('print').matches,
  filter: getComputedStyle(document.getElementById('filter-bar')).display,
  link: getComputedStyle(document.querySelector('a.console'), '::after').content,
  text: getComputedStyle(document.body).color,
  muted: getComputedStyle(document.querySelector('.muted')).color,
  background: getComputedStyle(document.body).backgroundColor,
  breaks: Array.from(document.querySelectorAll('section.major'),
                     s => getComputedStyle(s).breakBefore),
  sticky: Array.from(document.querySelectorAll('*'))
    .filter(e => getComputedStyle(e).position === 'sticky').length,
  rows: getComputedStyle(document.querySelector('tr.res')).breakInside,
})"""


def test_print_media_applies_the_print_rules(rendered: Rendered, tmp_path: Path) -> None:
    """The same page with print media emulated, against the screen: no filter, nothing
    sticky, black on white, console links followed by their URL, page breaks."""
    url, page = rendered.page.as_uri(), rendered.page.read_text(encoding="utf-8")
    with devtools(tmp_path / "profile") as browser:
        screen = json.loads(browser.evaluate(url, PRINTED_STYLES, ""))
        paper = json.loads(browser.evaluate(url, PRINTED_STYLES, "print"))
    assert (screen["print"], paper["print"]) == (False, True)
    assert screen["filter"] != "none" and paper["filter"] == "none"
    assert screen["sticky"] > 0 and paper["sticky"] == 0
    assert screen["link"] == "none"
    # The first console link, printed after its text (the page escapes its "&").
    href = html.unescape(re.findall(r'<a class="console" href="([^"]+)"', page)[0])
    assert href.startswith("https://") and paper["link"] == f'" ({href})"'
    assert (paper["text"], paper["muted"]) == ("rgb(0, 0, 0)", "rgb(0, 0, 0)")
    assert paper["background"] in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    assert screen["breaks"] == ["auto"] * 4 and paper["breaks"] == ["page"] * 4
    assert paper["rows"] == "avoid"


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


def test_coverage_counts_what_the_sweep_found(rendered: Rendered, tmp_path: Path) -> None:
    """After a sweep has counted the accounts, coverage sets what is declared against
    what exists. (Last in the module: it sweeps, the tests above only read.)"""
    sandbox_sweep = rendered.story.sandbox.sweep
    sandbox_sweep()
    counted = {(c.account, c.region, c.kind): c.existing for c in rendered.store.inventory()}
    assert counted, "the sweep counted nothing"
    page = tmp_path / "report.html"
    assert run_cli("report", "--html", str(page))[0] == EXIT_OK
    dom = parse_dom(chromium(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout)
    shown = {}
    for section in dom.find("section", "coverage-account"):
        for row in section.find("tr", "cover"):
            cells = [td.words() for td in row.find("td")]
            place = (
                section.attrs["data-account"],
                row.attrs["data-region"],
                row.attrs["data-kind"],
            )
            shown[place] = cells
    for place, existing in counted.items():
        declared = int(shown[place][2])
        assert shown[place][3] == str(existing), (place, shown[place])
        if existing and declared <= existing:
            assert shown[place][4].startswith(f"{declared * 100 // existing}% ({declared} of")
    # The story declared one secret in the data account and one key in the security one.
    assert int(shown[("222222222222", "us-east-1", "secret")][2]) == 1
    assert int(shown[("333333333333", "us-east-1", "kms-key")][2]) == 1
