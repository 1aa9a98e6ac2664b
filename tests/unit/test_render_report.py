"""The HTML report's pure parts: the data (build_report) and the page (render_html)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from driftguard.config import Mode
from driftguard.model import AuditEntry, Status, StatusRecord
from driftguard_cli.report import Report, build_report, category, render_html

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
KEY = "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"
OTHER = "arn:aws:secretsmanager:us-east-1:333333333333:secret:notes-XyZ123"
POD_ROLE = "arn:aws:iam::111111111111:role/pod-role"
OLD_ID, UNKNOWN_ID = "AROAOLDOLDOLDOLDOLDOL", "AROAZZZZZZZZZZZZZZZZZ"
EVIL = "<script>alert('x')</script>"


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


def entry(arn: str, hours_ago: float, action: str, status: str, **kw: Any) -> AuditEntry:
    return AuditEntry(arn, NOW - timedelta(hours=hours_ago), action, status, **kw)


def story_report(**kw: Any) -> Report:
    records = [
        record(SECRET, Status.ORPHANED_PRINCIPAL, orphaned_ids=(OLD_ID,), reason="waiting"),
        record(KEY, Status.ORPHANED_PRINCIPAL, orphaned_ids=(OLD_ID, UNKNOWN_ID)),
        # Restored long ago: its orphaned ids are history, not an open problem.
        record(OTHER, Status.REMEDIATED, orphaned_ids=(UNKNOWN_ID,)),
    ]
    histories = {
        KEY: [
            entry(KEY, 24 * 40, "declared", "in-sync"),  # before the window
            entry(KEY, 5, "restored", "remediated", actor="mallory"),
            entry(KEY, 3, "restored", "remediated", actor="mallory"),
            entry(KEY, 1, "orphaned-principal", "orphaned-principal", actor="platform"),
        ],
        SECRET: [
            entry(SECRET, 6, "declared", "in-sync", actor="alice"),
            entry(SECRET, 1, "orphaned-principal", "orphaned-principal", actor="platform"),
        ],
        OTHER: [entry(OTHER, 2, "declared", "in-sync")],
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


def test_categories_of_audit_actions() -> None:
    assert category("restored") == category("resolved") == "remediation"
    assert category("orphaned-principal") == category("drifted") == "drift"
    assert category("restore-failed") == "failure"
    assert category("declared") == "declared"
    assert category("something-new") == "other"


def test_resources_are_ordered_by_account_kind_and_counted_by_status() -> None:
    report = story_report()
    assert [(r.account, r.kind) for r in report.resources] == [
        ("222222222222", "secret"),
        ("333333333333", "kms-key"),
        ("333333333333", "secret"),
    ]
    counts = dict(report.status_counts)
    assert counts["orphaned-principal"] == 2 and counts["remediated"] == 1
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
    assert orphans[UNKNOWN_ID].resources == (KEY,)  # not the remediated secret


def test_timeline_covers_the_window_oldest_first() -> None:
    report = story_report()
    assert len(report.timeline) == 6  # the 40-day-old declaration is left out
    assert [p.at for p in report.timeline] == sorted(p.at for p in report.timeline)


def test_most_changed_counts_drift_and_restores_in_the_window() -> None:
    changed = story_report().most_changed
    assert [(c.arn, c.changes, c.restores) for c in changed] == [(KEY, 3, 2), (SECRET, 1, 0)]
    assert changed[0].last_actor == "platform"
    assert [c.arn for c in story_report(top=1).most_changed] == [KEY]


def test_page_is_self_contained() -> None:
    page = render_html(story_report())
    assert page.count("<script") == 1 and "src=" not in page and "<link" not in page
    assert "default-src 'none'" in page
    assert not re.search(r"\$[a-z_]+", page.split("<script>")[0])  # every slot filled


def test_page_shows_every_part() -> None:
    page = render_html(story_report())
    assert page.count('<tr class="res"') == 3
    chart = page.split('id="timeline-chart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count('<circle class="pt') == 6  # one dot per entry in the window
    assert chart.count('<g class="lane"') == 3
    assert page.count('<tr class="orphan"') == 2
    assert page.count('<tr class="changed"') == 2
    assert 'data-category="remediation"' in page


def test_everything_from_aws_is_escaped() -> None:
    report = build_report(
        [record(KEY, Status.DRIFTED, reason=EVIL, orphaned_ids=('"><b>id',))],
        {KEY: [entry(KEY, 1, "drifted", "drifted", actor=EVIL, message="a&b <i>")]},
        {'"><b>id': EVIL},
        generated_at=NOW,
        table_name="<table>",
        since=NOW - timedelta(days=1),
    )
    page = render_html(report)
    assert EVIL not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "a&amp;b &lt;i&gt;" in page  # the tooltip of the timeline dot
    assert "&lt;table&gt;" in page
    assert page.count("<script") == 1


def test_dots_move_right_with_time() -> None:
    page = render_html(story_report())
    lane = page.split(f'data-arn="{KEY}"', 1)[1].split("</g>", 1)[0]
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
