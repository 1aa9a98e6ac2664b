"""`driftguard report --html FILE`: one self-contained HTML page about the state table.

`build_report` turns status records and audit histories into a `Report` (pure);
`render_html` turns a `Report` into the page (pure, stdlib only: string.Template and
html.escape). Every value from AWS or the table is escaped, the page loads nothing
(inline CSS, JS and SVG; its Content-Security-Policy forbids any fetch), and it
reads fine without JavaScript (the script only adds the filter and its count).
`collect` is the one function that reads the table.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from string import Template
from typing import Any, Final

from driftguard import kinds
from driftguard.arns import Arn
from driftguard.errors import DriftguardError
from driftguard.model import AuditEntry, Status, StatusRecord
from driftguard.state import StateStore

# Audit actions by what they mean on the timeline (AuditEntry.action values).
CATEGORIES: Final = ("declared", "drift", "remediation", "failure", "observed", "other")
_CATEGORY_OF: Final[Mapping[str, str]] = {
    "declared": "declared",
    Status.DRIFTED.value: "drift",
    Status.ORPHANED_PRINCIPAL.value: "drift",
    Status.PENDING_PRINCIPAL.value: "drift",
    Status.QUARANTINED.value: "drift",
    "restored": "remediation",
    "resolved": "remediation",
    "restore-failed": "failure",
    "error": "failure",
    "observed-undeclared": "observed",
}
# Entries that mean the live policy was seen different from, or put back to, the declaration.
CHANGE_CATEGORIES: Final = frozenset({"drift", "remediation", "failure"})


def category(action: str) -> str:
    return _CATEGORY_OF.get(action, "other")


@dataclass(frozen=True)
class ResourceRow:
    arn: str
    name: str  # the resource part of the ARN, for labels
    kind: str
    account: str
    region: str
    status: str
    mode: str
    updated_at: datetime
    reason: str
    findings: tuple[str, ...]
    orphaned_ids: tuple[str, ...]
    console_url: str


@dataclass(frozen=True)
class TimelinePoint:
    at: datetime
    arn: str
    action: str
    status: str
    category: str
    actor: str | None
    message: str


@dataclass(frozen=True)
class OrphanedPrincipal:
    """A unique ID of a deleted role found in live policies that are still orphaned."""

    unique_id: str
    role_arn: str | None  # None: driftguard never saw the role
    resources: tuple[str, ...]
    since: datetime


@dataclass(frozen=True)
class ChangedResource:
    arn: str
    kind: str
    account: str
    changes: int  # drift, restore and failure entries in the window
    restores: int
    last_at: datetime
    last_actor: str | None


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    table_name: str
    since: datetime  # start of the window the timeline and change counts cover
    resources: tuple[ResourceRow, ...]  # by account, kind, ARN
    status_counts: tuple[tuple[str, int], ...]  # every status, in Status order
    timeline: tuple[TimelinePoint, ...]  # oldest first
    orphans: tuple[OrphanedPrincipal, ...]
    most_changed: tuple[ChangedResource, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status_counts"] = dict(self.status_counts)
        return data


def short_name(arn: str) -> str:
    try:
        return Arn.parse(arn).resource
    except DriftguardError:
        return arn


def console_url(kind: str, arn: str) -> str:
    try:
        return kinds.get(kind).console_url(Arn.parse(arn))
    except DriftguardError:
        return ""


def build_report(
    records: Iterable[StatusRecord],
    histories: Mapping[str, Sequence[AuditEntry]],
    owners: Mapping[str, str | None],
    *,
    generated_at: datetime,
    table_name: str,
    since: datetime,
    top: int = 10,
) -> Report:
    """`histories` maps an ARN to its audit entries (any order; those before `since`
    are left out); `owners` maps orphaned unique IDs to the role each was."""
    records = sorted(records, key=lambda r: (r.account, r.kind, r.arn))
    rows = tuple(
        ResourceRow(
            arn=r.arn,
            name=short_name(r.arn),
            kind=r.kind,
            account=r.account,
            region=r.region,
            status=r.status.value,
            mode=r.mode.value,
            updated_at=r.updated_at,
            reason=r.reason,
            findings=r.findings,
            orphaned_ids=r.orphaned_ids,
            console_url=console_url(r.kind, r.arn),
        )
        for r in records
    )
    counts = Counter(r.status.value for r in records)
    points = sorted(
        (
            TimelinePoint(
                at=e.at,
                arn=arn,
                action=e.action,
                status=e.status,
                category=category(e.action),
                actor=e.actor,
                message=e.message,
            )
            for arn, entries in histories.items()
            for e in entries
            if e.at >= since
        ),
        key=lambda p: (p.at, p.arn),
    )
    return Report(
        generated_at=generated_at,
        table_name=table_name,
        since=since,
        resources=rows,
        status_counts=tuple((s.value, counts[s.value]) for s in Status),
        timeline=tuple(points),
        orphans=_orphans(records, owners),
        most_changed=_most_changed(records, points, top),
    )


def _orphans(
    records: Sequence[StatusRecord], owners: Mapping[str, str | None]
) -> tuple[OrphanedPrincipal, ...]:
    by_id: dict[str, list[StatusRecord]] = defaultdict(list)
    for r in records:
        if r.status.is_problem:
            for uid in r.orphaned_ids:
                by_id[uid].append(r)
    return tuple(
        sorted(
            (
                OrphanedPrincipal(
                    unique_id=uid,
                    role_arn=owners.get(uid),
                    resources=tuple(sorted(r.arn for r in rs)),
                    since=min(r.updated_at for r in rs),
                )
                for uid, rs in by_id.items()
            ),
            key=lambda o: (o.role_arn or "~", o.unique_id),
        )
    )


def _most_changed(
    records: Sequence[StatusRecord], points: Sequence[TimelinePoint], top: int
) -> tuple[ChangedResource, ...]:
    kind_of = {r.arn: (r.kind, r.account) for r in records}
    changes: dict[str, list[TimelinePoint]] = defaultdict(list)
    for p in points:
        if p.category in CHANGE_CATEGORIES and p.arn in kind_of:
            changes[p.arn].append(p)
    ranked = sorted(
        (
            ChangedResource(
                arn=arn,
                kind=kind_of[arn][0],
                account=kind_of[arn][1],
                changes=len(ps),
                restores=sum(1 for p in ps if p.action == "restored"),
                last_at=ps[-1].at,
                last_actor=ps[-1].actor,
            )
            for arn, ps in changes.items()
        ),
        key=lambda c: (-c.changes, -c.restores, c.arn),
    )
    return tuple(ranked[:top])


def collect(store: StateStore, *, table_name: str, generated_at: datetime, days: int) -> Report:
    """Read everything the report shows from the state table."""
    records = list(store.iter_statuses())
    histories = {r.arn: store.history(r.arn) for r in records}
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
    )


# --------------------------------------------------------------------------- HTML


def e(value: object) -> str:
    """Escape for HTML text and double- or single-quoted attributes."""
    return html.escape(str(value), quote=True)


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _status_badge(status: str) -> str:
    return f'<span class="badge st-{e(status)}">{e(status)}</span>'


# SVG geometry of the timeline chart.
_SVG_WIDTH: Final = 1180
_LABEL_WIDTH: Final = 250
_RIGHT: Final = 20
_TOP: Final = 34
_LANE: Final = 30


def timeline_svg(resources: Sequence[ResourceRow], points: Sequence[TimelinePoint]) -> str:
    """Inline SVG: one lane per resource, a band per status period, a dot per audit
    entry (coloured by category, its details in a <title> tooltip)."""
    lanes = sorted({p.arn for p in points} | {r.arn for r in resources})
    height = _TOP + _LANE * max(len(lanes), 1) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="timeline-chart" role="img" '
        f'width="{_SVG_WIDTH}" height="{height}" viewBox="0 0 {_SVG_WIDTH} {height}" '
        f'aria-label="timeline of drift and remediations">'
    ]
    if not points:
        parts.append(
            f'<text x="{_LABEL_WIDTH}" y="{_TOP + 18}" class="empty">no audit entries in '
            "this window</text></svg>"
        )
        return "".join(parts)
    start, end = points[0].at, points[-1].at
    span = (end - start).total_seconds()
    pad = max(span * 0.03, 1.0)
    t0, total = start - timedelta(seconds=pad), span + 2 * pad
    plot = _SVG_WIDTH - _LABEL_WIDTH - _RIGHT

    def x(moment: datetime) -> float:
        return _LABEL_WIDTH + plot * (moment - t0).total_seconds() / total

    fmt = "%H:%M:%S" if total < 86400 else "%m-%d %H:%M" if total < 7 * 86400 else "%Y-%m-%d"
    for i in range(5):
        tick = t0 + timedelta(seconds=total * i / 4)
        tx = x(tick)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(
            f'<line class="tick" x1="{tx:.1f}" y1="{_TOP - 6}" x2="{tx:.1f}" y2="{height - 10}"/>'
            f'<text class="tick-label" x="{tx:.1f}" y="{_TOP - 12}" text-anchor="{anchor}">'
            f"{e(f'{tick:{fmt}}')}</text>"
        )
    by_lane: dict[str, list[TimelinePoint]] = defaultdict(list)
    for p in points:
        by_lane[p.arn].append(p)
    for index, arn in enumerate(lanes):
        y = _TOP + _LANE * index + _LANE / 2
        label = short_name(arn)
        label = label if len(label) <= 34 else label[:33] + "…"
        parts.append(
            f'<g class="lane" data-arn="{e(arn)}">'
            f'<text class="lane-label" x="{_LABEL_WIDTH - 8}" y="{y + 4:.1f}" '
            f'text-anchor="end"><title>{e(arn)}</title>{e(label)}</text>'
            f'<line class="lane-line" x1="{_LABEL_WIDTH}" y1="{y:.1f}" '
            f'x2="{_SVG_WIDTH - _RIGHT}" y2="{y:.1f}"/>'
        )
        lane_points = by_lane.get(arn, [])
        for p, following in zip(lane_points, [*lane_points[1:], None], strict=True):
            x1 = x(p.at)
            x2 = x(following.at) if following else _SVG_WIDTH - _RIGHT
            parts.append(
                f'<rect class="band st-{e(p.status)}" x="{x1:.1f}" y="{y - 5:.1f}" '
                f'width="{max(x2 - x1, 0.5):.1f}" height="10"/>'
            )
        for p in lane_points:
            tip = f"{_when(p.at)}: {p.action} ({p.status})"
            if p.actor:
                tip += f" by {p.actor}"
            if p.message:
                tip += f" - {p.message}"
            parts.append(
                f'<circle class="pt cat-{e(p.category)}" cx="{x(p.at):.1f}" cy="{y:.1f}" r="6" '
                f'data-category="{e(p.category)}" data-action="{e(p.action)}">'
                f"<title>{e(tip)}</title></circle>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _legend(points: Sequence[TimelinePoint]) -> str:
    counts = Counter(p.category for p in points)
    items = "".join(
        f'<li><svg width="14" height="14" aria-hidden="true"><circle class="pt cat-{c}" '
        f'cx="7" cy="7" r="6"/></svg> {c} <span class="legend-count" data-category="{c}">'
        f"{counts[c]}</span></li>"
        for c in CATEGORIES
        if counts[c]
    )
    return f'<ul class="legend">{items}</ul>'


def _cards(report: Report) -> str:
    total = len(report.resources)
    cards = [
        f'<div class="card" data-status="all"><span class="n" id="total-resources">{total}'
        "</span> resources</div>"
    ]
    for status, count in report.status_counts:
        if count:
            cards.append(
                f'<div class="card st-{e(status)}" data-status="{e(status)}">'
                f'<span class="n">{count}</span> {e(status)}</div>'
            )
    return "".join(cards)


def _resources(report: Report) -> str:
    if not report.resources:
        return '<p class="empty">No declared resources.</p>'
    out: list[str] = []
    by_account: dict[str, list[ResourceRow]] = defaultdict(list)
    for row in report.resources:
        by_account[row.account].append(row)
    for account, rows in by_account.items():
        out.append(f'<section class="account" data-account="{e(account)}">')
        out.append(f"<h3>Account {e(account)}</h3>")
        by_kind: dict[str, list[ResourceRow]] = defaultdict(list)
        for row in rows:
            by_kind[row.kind].append(row)
        for kind, kind_rows in by_kind.items():
            out.append(f'<h4>{e(kind)} <span class="muted">({len(kind_rows)})</span></h4>')
            out.append(
                '<table class="resources"><thead><tr><th>Status</th><th>Resource</th>'
                "<th>Mode</th><th>Updated</th><th>Why</th></tr></thead><tbody>"
            )
            for row in kind_rows:
                name = (
                    f'<a href="{e(row.console_url)}" rel="noreferrer">{e(row.arn)}</a>'
                    if row.console_url
                    else e(row.arn)
                )
                why = row.reason
                if row.orphaned_ids and row.status in _PROBLEMS:
                    why = f"{why} (unique ids: {', '.join(row.orphaned_ids)})".strip()
                out.append(
                    f'<tr class="res" data-status="{e(row.status)}" data-arn="{e(row.arn)}" '
                    f'data-kind="{e(row.kind)}" data-account="{e(row.account)}">'
                    f'<td>{_status_badge(row.status)}</td><td class="arn">{name}</td>'
                    f"<td>{e(row.mode)}</td><td>{e(_when(row.updated_at))}</td>"
                    f"<td>{e(why)}</td></tr>"
                )
            out.append("</tbody></table>")
        out.append("</section>")
    return "".join(out)


def _orphans_html(report: Report) -> str:
    if not report.orphans:
        return '<p class="empty" id="no-orphans">No open orphaned principals.</p>'
    rows = "".join(
        f'<tr class="orphan" data-unique-id="{e(o.unique_id)}"><td><code>{e(o.unique_id)}'
        f"</code></td><td>{e(o.role_arn or 'unknown role (never seen by driftguard)')}</td>"
        f"<td>{'<br>'.join(e(arn) for arn in o.resources)}</td><td>{e(_when(o.since))}</td></tr>"
        for o in report.orphans
    )
    return (
        '<table id="orphans-table"><thead><tr><th>Unique ID in policies</th><th>Was role</th>'
        f"<th>Resources</th><th>Since</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _most_changed_html(report: Report) -> str:
    if not report.most_changed:
        return '<p class="empty">Nothing changed in this window.</p>'
    rows = "".join(
        f'<tr class="changed" data-arn="{e(c.arn)}"><td class="num">{c.changes}</td>'
        f'<td class="num">{c.restores}</td><td>{e(c.arn)}</td><td>{e(c.kind)}</td>'
        f"<td>{e(_when(c.last_at))}</td><td>{e(c.last_actor or '-')}</td></tr>"
        for c in report.most_changed
    )
    return (
        '<table id="most-changed-table"><thead><tr><th>Changes</th><th>Restores</th>'
        "<th>Resource</th><th>Kind</th><th>Last</th><th>Last by</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


_PROBLEMS: Final = frozenset(s.value for s in Status if s.is_problem)
_STATUS_COLOURS: Final[Mapping[str, str]] = {
    "in-sync": "#1a7f37",
    "remediated": "#0969da",
    "drifted": "#bf8700",
    "orphaned-principal": "#cf222e",
    "pending-principal": "#8250df",
    "quarantined": "#82071e",
    "error": "#d1242f",
}
_CATEGORY_COLOURS: Final[Mapping[str, str]] = {
    "declared": "#57606a",
    "drift": "#cf222e",
    "remediation": "#1a7f37",
    "failure": "#82071e",
    "observed": "#afb8c1",
    "other": "#0969da",
}


def _css() -> str:
    status_rules = "".join(
        f".badge.st-{s},.card.st-{s}{{border-color:{c};color:{c}}}"
        f".band.st-{s}{{fill:{c};opacity:.25}}"
        for s, c in _STATUS_COLOURS.items()
    )
    category_rules = "".join(f".pt.cat-{k}{{fill:{c}}}" for k, c in _CATEGORY_COLOURS.items())
    return (
        "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;"
        "color:#1f2328;background:#fff}"
        "h1{margin:0 0 4px}h2{margin-top:28px;border-bottom:1px solid #d0d7de}"
        ".muted,.empty{color:#57606a}"
        ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}"
        ".card{border:2px solid #d0d7de;border-radius:8px;padding:8px 14px;min-width:110px}"
        ".card .n{display:block;font-size:26px;font-weight:600}"
        "table{border-collapse:collapse;margin:6px 0 14px;width:100%}"
        "th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;"
        "vertical-align:top}"
        "td.arn,td code{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}"
        "td.num{text-align:right;font-variant-numeric:tabular-nums}"
        ".badge{border:1px solid;border-radius:10px;padding:0 8px;font-size:12px;"
        "white-space:nowrap}"
        ".lane-line{stroke:#d0d7de}.tick{stroke:#eaeef2}"
        ".tick-label,.lane-label{font-size:11px;fill:#57606a;font-family:ui-monospace,monospace}"
        ".pt{stroke:#fff;stroke-width:1.5}.band{fill:#afb8c1;opacity:.25}"
        ".legend{list-style:none;padding:0;display:flex;gap:18px}"
        ".legend li{display:flex;align-items:center;gap:6px}"
        "#filter{padding:4px 8px;width:360px;margin-right:10px}" + status_rules + category_rules
    )


_SCRIPT: Final = """
(function () {
  var input = document.getElementById('filter');
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.res'));
  var count = document.getElementById('shown-count');
  var sections = Array.prototype.slice.call(document.querySelectorAll('section.account'));
  function update() {
    var q = input.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var hit = !q || row.textContent.toLowerCase().indexOf(q) >= 0;
      row.hidden = !hit;
      if (hit) { shown += 1; }
    });
    sections.forEach(function (section) {
      section.hidden = !section.querySelector('tr.res:not([hidden])');
    });
    count.textContent = shown + ' of ' + rows.length + ' resources shown';
  }
  input.addEventListener('input', update);
  // A link to report.html#filter=WORDS opens the page filtered.
  if (location.hash.indexOf('#filter=') === 0) {
    input.value = decodeURIComponent(location.hash.slice(8));
  }
  update();
  document.documentElement.setAttribute('data-js', 'ready');
})();
"""

_PAGE: Final = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>driftguard report: $table</title>
<style>$css</style>
</head>
<body>
<header>
<h1>driftguard report</h1>
<p class="muted">State table <code>$table</code>, generated $generated. Timeline and change \
counts cover $since to $generated.</p>
</header>
<section id="summary"><div class="cards">$cards</div></section>
<section id="timeline">
<h2>Timeline of drift and remediations</h2>
$legend
$svg
</section>
<section id="orphans">
<h2>Open orphaned principals</h2>
$orphans
</section>
<section id="most-changed">
<h2>Most-changed resources</h2>
$most_changed
</section>
<section id="resources">
<h2>Resources by account and kind</h2>
<p><input id="filter" type="search" placeholder="filter: ARN, status, kind, reason..." \
aria-label="filter resources"><span id="shown-count" class="muted"></span></p>
$resources
</section>
<script>$script</script>
</body>
</html>
"""
)


def render_html(report: Report) -> str:
    """The whole page. Every interpolated value is escaped by the fragment builders."""
    return _PAGE.substitute(
        table=e(report.table_name),
        generated=e(_when(report.generated_at)),
        since=e(_when(report.since)),
        css=_css(),
        cards=_cards(report),
        legend=_legend(report.timeline),
        svg=timeline_svg(report.resources, report.timeline),
        orphans=_orphans_html(report),
        most_changed=_most_changed_html(report),
        resources=_resources(report),
        script=_SCRIPT,
    )
