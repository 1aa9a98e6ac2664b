"""The report page's review sections: severity, incidents, time to restore, open since,
coverage, access chains; readable without colour, tooltips or a screen (pure)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from driftguard.model import AuditEntry, Declared, Inventory
from driftguard.vocabulary import AuditAction, Mode, Outcome, Severity, Status
from driftguard_cli.report import OUTCOME_WORDS, SEVERITY_COLOURS, Report, render_html
from driftguard_cli.report_model import build_report
from tests.unit.test_render_report import (
    EVIL,
    EVIL_ARN,
    KEY,
    NOW,
    OLD_ID,
    POD_ROLE,
    SECRET,
    entry,
    hostile_report,
    inline,
    record,
    story_report,
)

WIDENED_DIFF = {"summary": ["+ principal arn:aws:iam::444455556666:root"]}


class Texts(HTMLParser):
    """The text of every element, with its tag and attributes, in document order."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self.open: list[int] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        if tag not in ("meta", "br", "input", "circle", "line", "rect", "path"):
            self.open.append(len(self.elements) - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.elements[self.open.pop()][0] == tag:
                return

    def handle_data(self, data: str) -> None:
        for index in self.open:
            self.elements[index][2].append(data)

    def text(self, cls: str = "", **attrs: str) -> list[str]:
        """The whitespace-collapsed text of each element with that class and attributes."""
        return [
            " ".join("".join(parts).split())
            for _, a, parts in self.elements
            if (not cls or cls in a.get("class", "").split())
            and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def review_report(**kw: Any) -> Report:
    """The key widened by mallory and restored, then orphaned (open); the secret
    orphaned (open) with its declared policies granting pod-role."""
    records = [
        record(
            KEY,
            Status.ORPHANED_PRINCIPAL,
            findings=("orphaned-principal", "widened"),
            orphaned_ids=(OLD_ID,),
            updated_at=NOW - timedelta(minutes=30),
        ),
        record(SECRET, Status.ORPHANED_PRINCIPAL, findings=("orphaned-principal",)),
    ]
    histories = {
        KEY: [
            entry(KEY, 48, AuditAction.DECLARED, "in-sync", actor="alice"),
            entry(
                KEY,
                5,
                AuditAction.RESTORED,
                "in-sync",
                actor="mallory",
                trigger="PutKeyPolicy by mallory",
                diff=WIDENED_DIFF,
                findings=("widened",),
                before_digest="f" * 64,
                after_digest="a" * 64,
            ),
            entry(
                KEY,
                3,
                AuditAction.ORPHANED_PRINCIPAL,
                "orphaned-principal",
                actor="platform",
                trigger="DeleteRole by platform",
                findings=("orphaned-principal",),
            ),
        ],
        SECRET: [
            entry(SECRET, 6, AuditAction.ORPHANED_PRINCIPAL, "orphaned-principal"),
            entry(SECRET, 5.5, AuditAction.RESTORED, "in-sync", trigger="CreateRole by platform"),
            entry(SECRET, 2, AuditAction.ORPHANED_PRINCIPAL, "orphaned-principal"),
        ],
    }
    return build_report(
        records,
        histories,
        {OLD_ID: POD_ROLE},
        generated_at=NOW,
        table_name="driftguard-StateTable",
        since=NOW - timedelta(days=30),
        declarations=[declared(SECRET, POD_ROLE), declared(KEY, POD_ROLE)],
        **kw,
    )


def declared(arn: str, *principals: str) -> Declared:
    statement = {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "*"}
    return Declared(
        arn=arn,
        kind="kms-key" if ":kms:" in arn else "secret",
        account=arn.split(":")[4],
        region="us-east-1",
        policy=json.dumps({"Statement": [statement | {"Resource": "*"}]}),
        digest="d",
        mode=Mode.ENFORCE,
        version=1,
        declared_by="alice",
        declared_at=NOW - timedelta(days=2),
        principals=principals,
    )


# --------------------------------------------------------------------------- the data


def test_a_resource_shows_its_worst_severity_and_all_its_findings() -> None:
    report = review_report()
    key = next(r for r in report.resources if r.arn == KEY)
    assert key.severity is Severity.CRITICAL  # widened, though its status is orphaned
    assert key.findings == ("orphaned-principal", "widened")
    page = Texts(render_html(report))
    (row,) = page.text("res", data_arn=KEY)
    assert "critical" in row and "orphaned-principal, widened" in row
    assert [r.arn for r in report.problems] == [KEY, SECRET]  # the worst first


def test_the_report_carries_incidents_restore_times_and_open_since() -> None:
    report = review_report()
    # Newest first, open or not.
    assert [(i.arn, (NOW - i.started_at) / timedelta(hours=1)) for i in report.incidents] == [
        (SECRET, 2),
        (KEY, 3),
        (KEY, 5),
        (SECRET, 6),
    ]
    times = report.restore_times
    assert (times.restored, times.median, times.worst) == (
        2,
        timedelta(minutes=15),
        timedelta(minutes=30),
    )
    assert (times.still_open, times.longest_open) == (2, timedelta(hours=3))
    since = {r.arn: r.open_since for r in report.resources}
    assert since == {KEY: NOW - timedelta(hours=3), SECRET: NOW - timedelta(hours=2)}
    data = report.to_json()
    assert data["restore_times"]["worst"] == 1800.0  # durations in seconds
    assert data["incidents"][0]["outcome"] == "orphaned-principal"
    assert data["chains"][0]["role"] == POD_ROLE
    json.dumps(data, default=str)  # nothing else needs more than the CLI's encoder


def test_the_incident_list_is_bounded_and_says_how_many_it_left_out() -> None:
    report = review_report(incident_limit=3)
    assert len(report.incidents) == 3 and report.incidents_omitted == 1
    page = Texts(render_html(report))
    assert page.text(id="incidents-shown") == [
        "3 incidents open or ended in this window; 1 older not shown."
    ]


# --------------------------------------------------------------------------- the page


def test_the_page_shows_who_changed_what_what_driftguard_did_and_how_long() -> None:
    page = Texts(render_html(review_report()))
    rows = page.text("incident", data_arn=KEY)
    assert len(rows) == 2
    open_orphan, widened = rows
    assert "platform" in open_orphan and "DeleteRole by platform" in open_orphan
    assert OUTCOME_WORDS[Outcome.ORPHANED] in open_orphan and "open for 3 h 00 min" in open_orphan
    assert "mallory" in widened and "PutKeyPolicy by mallory" in widened
    assert "critical widened" in widened
    assert "+ principal arn:aws:iam::444455556666:root" in widened
    assert f"policy {'f' * 12} → {'a' * 12}" in widened  # before -> after
    assert OUTCOME_WORDS[Outcome.REMEDIATED] in widened and "restored after 0 s" in widened
    (times,) = page.text(id="restore-times")
    assert "median 15 min 00 s, worst 30 min 00 s over 2 restores" in times
    assert "2 incidents still open (the longest for 3 h 00 min)" in times
    (problem,) = page.text("problem", data_arn=SECRET)
    assert "2026-05-10 10:00:00 UTC" in problem  # open since: its orphan 2 hours ago
    key_since, secret_since = "2026-05-10 09:00:00 UTC", "2026-05-10 10:00:00 UTC"
    # In the open problems (worst first), then in the resources (by account).
    assert page.text("open-since") == [key_since, secret_since, secret_since, key_since]


def test_coverage_says_not_counted_until_the_sweep_counts() -> None:
    page = Texts(render_html(review_report()))
    assert page.text("not-counted") == ["not counted yet (the sweep counts it)"] * 2
    counted = Inventory("222222222222", "us-east-1", "secret", 4, NOW - timedelta(hours=1))
    page = Texts(render_html(review_report(inventory=[counted])))
    (data,) = page.text("coverage-account", data_account="222222222222")
    assert "1 declared: 1 secret. By status: orphaned-principal 1." in data
    assert "25% (1 of 4) counted 2026-05-10 11:00:00 UTC" in data
    (security,) = page.text("coverage-account", data_account="333333333333")
    assert "not counted yet (the sweep counts it)" in security


def test_the_access_chain_runs_role_to_secret_to_key_with_each_status() -> None:
    page = Texts(render_html(review_report()))
    (chain,) = page.text("chain", data_role=POD_ROLE)
    role, secret, key = chain.index(POD_ROLE), chain.index(SECRET), chain.index(KEY)
    assert role < secret < key
    assert chain.count("orphaned-principal") == 2 and chain.endswith("complete")
    assert "account 111111111111" in chain and "account 222222222222" in chain


def test_status_and_severity_are_never_colour_only() -> None:
    for report in (review_report(), story_report(), hostile_report()):
        page = Texts(render_html(report))
        for _, attrs, parts in page.elements:
            classes = attrs.get("class", "").split()
            if "badge" in classes or "card" in classes:
                words = " ".join("".join(parts).split())
                named = [c.split("-", 1)[1] for c in classes if c[:3] in ("st-", "sev")]
                assert all(name in words for name in named), (classes, words)
                assert words


def test_the_chart_says_in_text_what_its_colours_and_tooltips_say() -> None:
    page = render_html(review_report())
    texts = Texts(page)
    chart = page.split('id="timeline-chart"', 1)[1].split("</svg>", 1)[0]
    dots = re.findall(r'<circle class="pt', chart)
    numbers = [int(n) for n in texts.text("dot-label")]
    assert sorted(numbers) == list(range(1, len(dots) + 1))  # every dot numbered
    entries = texts.text("entry")
    assert len(entries) == len(dots)
    for tip, row in zip(
        sorted(re.findall(r"<title>(\d{4}-[^<]*)</title>", chart)), entries, strict=True
    ):
        moment, what = tip.split(": ", 1)
        assert moment in row and what.split(" ", 1)[0] in row  # time and action
    for lane_arn in re.findall(r'<g class="lane" data-arn="([^"]+)"', chart):
        assert any(lane_arn in row for row in entries)  # the lane's full ARN, visible
    assert "time (UTC)" in " ".join(texts.text("axis-label"))
    assert "resource" in texts.text("axis-label")
    assert set(texts.text("band-label")) <= {s.value for s in Status}
    assert texts.text("band-label")  # wide bands name their status
    assert {"in-sync", "orphaned-principal"} <= set(" ".join(texts.text("legend")).split())


def test_a_print_stylesheet_for_paper() -> None:
    style = inline(render_html(story_report()), "style")
    (printed,) = re.findall(r"@media print\{(.*)\}\s*$", style, re.DOTALL)
    rules = {k.strip(): v for k, v in re.findall(r"([^{}]+)\{([^{}]*)\}", printed)}
    assert rules["#filter-bar"] == "display:none"
    assert "position:static!important" in rules["*"]  # nothing sticky
    assert "color:#000" in rules["body"] and "background:#fff" in rules["body"]
    assert 'content:" (" attr(href) ")"' in rules["a.console::after"]
    assert "break-inside:avoid" in rules["tr,.card,li,svg,h3,h4"]
    assert rules["section.major"] == "break-before:page"
    page = render_html(review_report())
    assert page.count('class="major"') == 4
    assert len(re.findall(r'<a class="console" href="https://', page)) == 2


def test_every_severity_has_a_colour_and_every_outcome_words() -> None:
    assert set(SEVERITY_COLOURS) == set(Severity)
    assert set(OUTCOME_WORDS) == set(Outcome)


def test_the_new_sections_escape_what_comes_from_aws() -> None:
    records = [record(EVIL_ARN, Status.DRIFTED, findings=(EVIL,))]
    histories = {
        EVIL_ARN: [
            AuditEntry(
                EVIL_ARN,
                NOW - timedelta(hours=1),
                AuditAction.DRIFTED,
                "drifted",
                actor=EVIL,
                trigger=EVIL,
                diff={"summary": [f"+ principal {EVIL}"]},
                before_digest=EVIL,
            ),
        ]
    }
    report = build_report(
        records,
        histories,
        {},
        generated_at=NOW,
        table_name="t",
        since=NOW - timedelta(days=1),
        declarations=[declared(EVIL_ARN, POD_ROLE)],
        inventory=[Inventory("222222222222", EVIL, "secret", 1, NOW)],
    )
    page = render_html(report)
    assert EVIL not in page and "<img" not in page
    assert page.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") >= 5
    assert page.count("<script") == 1


def test_an_empty_table_renders_every_new_section() -> None:
    report = build_report([], {}, {}, generated_at=NOW, table_name="t", since=NOW)
    texts = Texts(render_html(report))
    for section in ("problems", "incidents", "access-chains", "coverage", "restore-times"):
        assert texts.text(id=section), section
    assert texts.text(id="no-problems") == ["Every declared resource is in sync."]
    assert texts.text(id="no-incidents") == ["No incidents in this window."]
    assert texts.text(id="no-chains") == ["No declared policy grants a role."]
    assert texts.text(id="restore-median") == ["no verified restore in this window"]
