"""`driftguard report --html FILE`: one self-contained HTML page about the state table.

`build_report` (driftguard_cli.report_model, pure) turns status records, audit
histories, declarations and the sweep's inventory into a `Report`; `collect` is the
one function that reads the table. `render_html` turns a `Report` into the page
through templates/report.html.j2 (jinja2, autoescaped, undefined names are errors):
every value from AWS or the table is escaped by the template, nothing is marked
safe. The page loads nothing (inline CSS, JS and SVG), and its
Content-Security-Policy allows exactly its one <style> and one <script>, by their
sha256 hashes, so injected markup could neither run script nor style the page. It
reads fine without JavaScript (the script only adds the filter and its count) and
on paper (a print stylesheet; nothing is said by colour or tooltip alone).
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Final

import jinja2

from driftguard.path_store import PathStore
from driftguard.state import StateStore
from driftguard.vocabulary import Outcome, Severity, Status, TimelineCategory
from driftguard_cli.report_chart import timeline_chart
from driftguard_cli.report_model import Report, build_report, when
from driftguard_cli.report_paths import path_rows

__all__ = [
    "CATEGORY_COLOURS",
    "OUTCOME_WORDS",
    "SEVERITY_COLOURS",
    "STATUS_COLOURS",
    "Report",
    "build_report",
    "collect",
    "render_html",
]

# Every Status, Severity and TimelineCategory has one (tests/unit/test_vocabulary.py).
# The page always writes the name beside the colour.
STATUS_COLOURS: Final[Mapping[Status, str]] = {
    Status.IN_SYNC: "#1a7f37",
    Status.DRIFTED: "#bf8700",
    Status.PENDING_PRINCIPAL: "#8250df",
    Status.ORPHANED_PRINCIPAL: "#cf222e",
    Status.ERROR: "#d1242f",
    Status.QUARANTINED: "#82071e",
}
SEVERITY_COLOURS: Final[Mapping[Severity, str]] = {
    Severity.NONE: "#57606a",
    Severity.INFO: "#0969da",
    Severity.MEDIUM: "#9a6700",
    Severity.HIGH: "#cf222e",
    Severity.CRITICAL: "#82071e",
}
CATEGORY_COLOURS: Final[Mapping[TimelineCategory, str]] = {
    TimelineCategory.DECLARED: "#57606a",
    TimelineCategory.DRIFT: "#cf222e",
    TimelineCategory.REMEDIATION: "#1a7f37",
    TimelineCategory.FAILURE: "#82071e",
    TimelineCategory.OBSERVED: "#afb8c1",
}
# What driftguard did about an incident, in the incident list's words.
OUTCOME_WORDS: Final[Mapping[Outcome, str]] = {
    Outcome.IN_SYNC: "nothing to do",
    Outcome.REMEDIATED: "restored the declared policy (verified)",
    Outcome.DETECTED: "alerted only (detect mode)",
    Outcome.PENDING: "alerted; waits for a new principal to exist",
    Outcome.ORPHANED: "alerted; a granted role was deleted (restores when it is back)",
    Outcome.QUARANTINED: "quarantined: stopped restoring, someone keeps changing it",
    Outcome.FAILED: "failed: could not check or restore it",
    Outcome.UNDECLARED: "nothing (not declared)",
    Outcome.IGNORED: "nothing (driftguard's own change)",
    Outcome.DEFERRED: "deferred to another invocation",
}


def collect(store: StateStore, *, table_name: str, generated_at: datetime, days: int) -> Report:
    """Read everything the report shows from the state table."""
    records = list(store.iter_statuses())
    paths = PathStore(store)
    arns = [r.arn for r in records]
    histories = {arn: store.history(arn) for arn in arns}
    declarations = [d for d, _ in store.load_many(arns).values() if d is not None]
    owners = {
        uid: store.principal_for_unique_id(uid)
        for uid in sorted({uid for r in records for uid in r.orphaned_ids})
    }
    return build_report(
        records,
        histories,
        owners,
        generated_at=generated_at,
        table_name=table_name,
        since=generated_at - timedelta(days=days),
        declarations=declarations,
        inventory=store.inventory(),
        paths=path_rows(paths.declarations(), paths.statuses()),
    )


# --------------------------------------------------------------------------- HTML


def csp_hash(content: str) -> str:
    """The CSP source allowing one inline <style> or <script> whose text is `content`."""
    digest = hashlib.sha256(content.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def duration(delta: timedelta) -> str:
    """A duration in words a person reads at a glance: 0 s, 45 s, 3 min 05 s, 2 h 10 min."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600:02d} h"


def short_digest(digest: str | None) -> str:
    return digest[:12] if digest else "-"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("driftguard_cli", "templates"),
        autoescape=True,  # every template here is HTML
        undefined=jinja2.StrictUndefined,  # a misspelt name fails instead of vanishing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = when
    env.filters["csp_hash"] = csp_hash
    env.filters["duration"] = duration
    env.filters["digest"] = short_digest
    return env


def render_html(report: Report) -> str:
    """The whole page (templates/report.html.j2)."""
    counts = Counter(p.category for p in report.timeline)
    chart = timeline_chart(report.resources, report.timeline)
    band_statuses = {m.status for lane in chart.lanes for m in lane.marks}
    template = environment().get_template("report.html.j2")
    return template.render(
        report=report,
        chart=chart,
        legend=[(c, counts[c]) for c in TimelineCategory if counts[c]],
        band_legend=[s for s in Status if s.value in band_statuses],
        status_colours=STATUS_COLOURS,
        severity_colours=SEVERITY_COLOURS,
        category_colours=CATEGORY_COLOURS,
        outcome_words=OUTCOME_WORDS,
    )
