"""The HTML report's pure parts: the data (build_report) and the page (render_html)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from jinja2 import nodes

from driftguard.model import AuditEntry, StatusRecord
from driftguard.vocabulary import AUDIT_CATEGORY, AuditAction, Mode, Status, TimelineCategory
from driftguard_cli import report as report_module
from driftguard_cli.report import (
    CATEGORY_COLOURS,
    STATUS_COLOURS,
    Report,
    build_report,
    render_html,
)

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
KEY = "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"
OTHER = "arn:aws:secretsmanager:us-east-1:333333333333:secret:notes-XyZ123"
POD_ROLE = "arn:aws:iam::111111111111:role/pod-role"
OLD_ID, UNKNOWN_ID = "AROAOLDOLDOLDOLDOLDOL", "AROAZZZZZZZZZZZZZZZZZ"
EVIL = "<script>alert('x')</script>"
# A name that closes the attribute it lands in and opens an element with a handler.
EVIL_ARN = 'arn:aws:secretsmanager:us-east-1:222222222222:secret:x"><img src=x onerror=alert(1)>'
TEMPLATE = Path(report_module.__file__).parent / "templates" / "report.html.j2"


def record(arn: str, status: Status, **kw: Any) -> StatusRecord:
    fields: dict[str, Any] = {
        "arn": arn,
        "kind": "kms-key" if ":kms:" in arn else "secret",
        "account": arn.split(":")[4],
        "region": "us-east-1",
        "mode": Mode.ENFORCE,
        "status": status,
        "updated_at": NOW - timedelta(hours=1),
    }
    return StatusRecord(**(fields | kw))


def entry(arn: str, hours_ago: float, action: AuditAction, status: str, **kw: Any) -> AuditEntry:
    return AuditEntry(arn, NOW - timedelta(hours=hours_ago), action, status, **kw)


def story_report(**kw: Any) -> Report:
    records = [
        record(SECRET, Status.ORPHANED_PRINCIPAL, orphaned_ids=(OLD_ID,), reason="waiting"),
        record(KEY, Status.ORPHANED_PRINCIPAL, orphaned_ids=(OLD_ID, UNKNOWN_ID)),
        # Restored long ago: its orphaned ids are history, not an open problem.
        record(OTHER, Status.IN_SYNC, orphaned_ids=(UNKNOWN_ID,)),
    ]
    histories = {
        KEY: [
            entry(KEY, 24 * 40, AuditAction.DECLARED, "in-sync"),  # before the window
            entry(KEY, 5, AuditAction.RESTORED, "in-sync", actor="mallory"),
            entry(KEY, 3, AuditAction.RESTORED, "in-sync", actor="mallory"),
            entry(KEY, 1, AuditAction.ORPHANED_PRINCIPAL, "orphaned-principal", actor="platform"),
        ],
        SECRET: [
            entry(SECRET, 6, AuditAction.DECLARED, "in-sync", actor="alice"),
            entry(
                SECRET, 1, AuditAction.ORPHANED_PRINCIPAL, "orphaned-principal", actor="platform"
            ),
        ],
        OTHER: [entry(OTHER, 2, AuditAction.DECLARED, "in-sync")],
    }
    return build_report(
        records,
        histories,
        {OLD_ID: POD_ROLE, UNKNOWN_ID: None},
        generated_at=NOW,
        table_name="driftguard-StateTable",
        since=NOW - timedelta(days=30),
        **kw,
    )


def hostile_report() -> Report:
    records = [
        record(KEY, Status.DRIFTED, reason=EVIL, orphaned_ids=('"><b>id',)),
        record(EVIL_ARN, Status.ERROR, reason="a&b <i>"),
    ]
    histories = {
        KEY: [entry(KEY, 1, AuditAction.DRIFTED, "drifted", actor=EVIL, message="a&b <i>")],
        EVIL_ARN: [entry(EVIL_ARN, 2, AuditAction.ERROR, EVIL, actor=EVIL)],
    }
    return build_report(
        records,
        histories,
        {'"><b>id': EVIL},
        generated_at=NOW,
        table_name="<table>",
        since=NOW - timedelta(days=1),
    )


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def inline(page: str, tag: str) -> str:
    """The exact text of the page's one <tag> element (style, script)."""
    (content,) = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
    return str(content)


def csp(page: str) -> dict[str, str]:
    (policy,) = [
        attrs["content"] or ""
        for tag, attrs in Tags(page).tags
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    return dict(d.strip().split(" ", 1) for d in policy.split(";"))


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# --------------------------------------------------------------------------- vocabulary


def test_every_status_and_timeline_category_has_a_colour() -> None:
    assert set(STATUS_COLOURS) == set(Status)
    assert set(CATEGORY_COLOURS) == set(TimelineCategory)


def test_every_audit_action_is_a_coloured_dot_of_its_category() -> None:
    report = build_report(
        [record(KEY, Status.IN_SYNC)],
        {KEY: [entry(KEY, len(AuditAction) - i, a, "in-sync") for i, a in enumerate(AuditAction)]},
        {},
        generated_at=NOW,
        table_name="t",
        since=NOW - timedelta(days=1),
    )
    assert [(p.action, p.category) for p in report.timeline] == list(AUDIT_CATEGORY.items())
    page = render_html(report)
    dots = {
        attrs["data-action"]: attrs["data-category"]
        for tag, attrs in Tags(page).tags
        if tag == "circle" and "data-action" in attrs
    }
    assert dots == {a.value: c.value for a, c in AUDIT_CATEGORY.items()}
    style = inline(page, "style")
    assert all(f".pt.cat-{c}{{fill:{CATEGORY_COLOURS[c]}}}" in style for c in TimelineCategory)


# --------------------------------------------------------------------------- the data


def test_resources_are_ordered_by_account_kind_and_counted_by_status() -> None:
    report = story_report()
    assert [(r.account, r.kind) for r in report.resources] == [
        ("222222222222", "secret"),
        ("333333333333", "kms-key"),
        ("333333333333", "secret"),
    ]
    counts = report.to_json()["status_counts"]
    assert counts["orphaned-principal"] == 2 and counts["in-sync"] == 1
    assert list(counts) == [s.value for s in Status]
    assert report.resources[1].name == "key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert report.resources[1].console_url.startswith(
        "https://us-east-1.console.aws.amazon.com/kms"
    )


def test_open_orphans_are_grouped_by_unique_id_with_the_role_it_was() -> None:
    orphans = {o.unique_id: o for o in story_report().orphans}
    assert set(orphans) == {OLD_ID, UNKNOWN_ID}
    assert orphans[OLD_ID].role_arn == POD_ROLE
    assert orphans[OLD_ID].resources == tuple(sorted([KEY, SECRET]))
    assert orphans[UNKNOWN_ID].role_arn is None
    assert orphans[UNKNOWN_ID].resources == (KEY,)  # not the secret that is in sync again


def test_timeline_covers_the_window_oldest_first() -> None:
    report = story_report()
    assert len(report.timeline) == 6  # the 40-day-old declaration is left out
    assert [p.at for p in report.timeline] == sorted(p.at for p in report.timeline)


def test_most_changed_counts_drift_and_restores_in_the_window() -> None:
    changed = story_report().most_changed
    assert [(c.arn, c.changes, c.restores) for c in changed] == [(KEY, 3, 2), (SECRET, 1, 0)]
    assert changed[0].last_actor == "platform"
    assert [c.arn for c in story_report(top=1).most_changed] == [KEY]


# --------------------------------------------------------------------------- the page


def test_page_is_self_contained() -> None:
    page = render_html(story_report())
    assert page.count("<script") == 1 and "src=" not in page and "<link" not in page
    assert csp(page)["default-src"] == "'none'"
    assert "{{" not in page and "{%" not in page  # nothing of the template left over


def test_the_csp_allows_exactly_the_page_s_own_style_and_script() -> None:
    for report in (story_report(), hostile_report()):
        page = render_html(report)
        assert page.count("<style") == 1 and page.count("<script") == 1
        assert csp(page) == {
            "default-src": "'none'",
            "style-src": sha256_source(inline(page, "style")),
            "script-src": sha256_source(inline(page, "script")),
            "img-src": "data:",
        }
        assert "unsafe-inline" not in page


def test_no_inline_style_or_event_handler_attributes() -> None:
    """The CSP would block them; the page must not need them."""
    for report in (story_report(), hostile_report()):
        tags = Tags(render_html(report)).tags
        assert [
            (tag, name)
            for tag, attrs in tags
            for name in attrs
            if name == "style" or name.startswith("on")
        ] == []


def test_page_shows_every_part() -> None:
    page = render_html(story_report())
    assert page.count('<tr class="res"') == 3
    chart = page.split('id="timeline-chart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count('<circle class="pt') == 6  # one dot per entry in the window
    assert chart.count('<g class="lane"') == 3
    assert chart.count("<title>") == 3 + 6  # a tooltip per lane label and per dot
    assert page.count('<tr class="orphan"') == 2
    assert page.count('<tr class="changed"') == 2
    assert 'data-category="remediation"' in page
    assert '<span class="legend-count" data-category="remediation">2</span>' in page
    assert page.count('<section class="account"') == 2
    assert 'id="filter"' in page and 'id="shown-count"' in page
    assert f"waiting (unique ids: {OLD_ID})" in page  # the reason names the deleted role's id


def test_everything_from_aws_is_escaped() -> None:
    page = render_html(hostile_report())
    assert EVIL not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "a&amp;b &lt;i&gt;" in page  # the tooltip of the timeline dot
    assert "&lt;table&gt;" in page
    assert page.count("<script") == 1
    # The ARN that tries to break out of its attribute stays inside it.
    tags = Tags(page).tags
    assert not {"img", "b", "i"} & {tag for tag, _ in tags}
    assert EVIL_ARN in {attrs.get("data-arn") for _, attrs in tags}


def test_the_template_never_turns_escaping_off() -> None:
    env = report_module.environment()
    assert env.autoescape is True
    tree = env.parse(TEMPLATE.read_text(encoding="utf-8"))
    assert "safe" not in {f.name for f in tree.find_all(nodes.Filter)}
    assert not list(tree.find_all(nodes.EvalContextModifier))  # {% autoescape false %}


def test_dots_move_right_with_time() -> None:
    page = render_html(story_report())
    lane = page.split(f'<g class="lane" data-arn="{KEY}"', 1)[1].split("</g>", 1)[0]
    xs = [float(x) for x in re.findall(r'<circle class="pt[^"]*" cx="([0-9.]+)"', lane)]
    assert len(xs) == 3 and xs == sorted(xs) and xs[0] < xs[-1]


def test_an_empty_table_still_renders() -> None:
    report = build_report(
        [], {}, {}, generated_at=NOW, table_name="t", since=NOW - timedelta(days=30)
    )
    page = render_html(report)
    assert "No declared resources." in page
    assert "no audit entries in this window" in page
    assert "No open orphaned principals." in page
    assert report.to_json()["status_counts"]["in-sync"] == 0
