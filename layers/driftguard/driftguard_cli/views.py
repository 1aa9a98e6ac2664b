"""Terminal views of the CLI's answers: pure functions from data to rich renderables.

Every value that comes from AWS or the state table goes into a `Text` object,
never into console markup, so a `[` in an actor name or a reason is shown as is.
Colour is decided by the console the caller prints to (no colour when the output
is not a terminal, or with NO_COLOR / `--color never`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from driftguard.alerts import readable_changes
from driftguard.model import AuditEntry, StatusRecord
from driftguard.vocabulary import AuditAction, Finding, Mode, Severity, Status
from driftguard_cli.answers import DriftAnswer, PrincipalAnswer, ReplayRow, ScanRow, WhoisAnswer

if TYPE_CHECKING:  # the views stay free of the AWS side
    from driftguard.classify import Classification
    from driftguard_cli.declarations import Plan

# Every member of each enum has a style (tests/unit/test_vocabulary.py).
STATUS_STYLES: Final[Mapping[Status, str]] = {
    Status.IN_SYNC: "green",
    Status.DRIFTED: "yellow",
    Status.PENDING_PRINCIPAL: "magenta",
    Status.ORPHANED_PRINCIPAL: "bold red",
    Status.ERROR: "red",
    Status.QUARANTINED: "bold white on red",
}

SEVERITY_STYLES: Final[Mapping[Severity, str]] = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.INFO: "cyan",
    Severity.NONE: "green",
}

# Audit actions by what they mean on a timeline.
ACTION_STYLES: Final[Mapping[AuditAction, str]] = {
    AuditAction.DECLARED: "blue",
    AuditAction.OBSERVED_UNDECLARED: "dim",
    AuditAction.DRIFTED: STATUS_STYLES[Status.DRIFTED],
    AuditAction.PENDING_PRINCIPAL: STATUS_STYLES[Status.PENDING_PRINCIPAL],
    AuditAction.ORPHANED_PRINCIPAL: STATUS_STYLES[Status.ORPHANED_PRINCIPAL],
    AuditAction.QUARANTINED: STATUS_STYLES[Status.QUARANTINED],
    AuditAction.RESTORED: "green",
    AuditAction.RESOLVED: "green",
    AuditAction.RESTORE_FAILED: "bold red",
    AuditAction.ERROR: "red",
}

RESULT_STYLES: Final[Mapping[str, str]] = {
    "replayed": "green",
    "listed": "cyan",
    "invalid": "yellow",
    "failed": "bold red",
}

ADDED_STYLE: Final = "red"  # only in live: access nobody declared
REMOVED_STYLE: Final = "yellow"  # only in declared: access that is gone


def status_text(status: str) -> Text:
    """A status value coloured (anything else, e.g. "unknown", plain)."""
    known = status in Status.__members__.values()
    return Text(status, style=STATUS_STYLES[Status(status)] if known else "")


def _severity_style(severity: str) -> str:
    return SEVERITY_STYLES[Severity(severity)]


def _table(*headers: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header in headers:
        table.add_column(header, no_wrap=True)
    return table


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


# --------------------------------------------------------------------------- status


def status_view(records: Sequence[StatusRecord]) -> RenderableType:
    """`driftguard status`: one row per resource coloured by status, then why for
    the problems."""
    if not records:
        return Text("no declared resources match")
    table = _table("STATUS", "KIND", "ACCOUNT", "MODE", "UPDATED (UTC)", "RESOURCE")
    for r in records:
        table.add_row(
            status_text(r.status.value),
            Text(r.kind),
            Text(r.account),
            Text(r.mode.value),
            Text(_when(r.updated_at)),
            Text(r.arn),
        )
    parts: list[RenderableType] = [table, status_summary(records)]
    for r in records:
        if r.status.is_problem and (r.reason or r.orphaned_ids):
            line = Text("  ")
            line.append(r.arn)
            line.append(": ")
            line.append(r.reason or "unique ids in policy", style=STATUS_STYLES[r.status])
            if r.orphaned_ids:
                line.append(f" ({', '.join(r.orphaned_ids)})")
            parts.append(line)
    return Group(*parts)


def status_summary(records: Iterable[StatusRecord]) -> Text:
    counts = Counter(r.status.value for r in records)
    total = sum(counts.values())
    text = Text(f"{total} resource{'s' if total != 1 else ''}")
    for status in Status:
        if counts[status.value]:
            text.append(" · ")
            text.append(f"{counts[status.value]} {status.value}", style=STATUS_STYLES[status])
    return text


# --------------------------------------------------------------------------- drift


def change_lines(lines: Iterable[str], indent: str = "  ") -> list[Text]:
    """PolicyDiff summary lines, "+" (only live) and "-" (only declared) coloured."""
    out = []
    for line in lines:
        style = ADDED_STYLE if line.startswith("+") else REMOVED_STYLE if line[:1] == "-" else ""
        out.append(Text(indent + line, style=style))
    return out


def _statement_lines(sign: str, statement: Mapping[str, Any], style: str) -> list[Text]:
    body = json.dumps(statement, indent=2, sort_keys=True).splitlines()
    return [Text(f"  {sign} {line}", style=style) for line in body]


def drift_view(answer: DriftAnswer) -> RenderableType:
    """`driftguard drift`: verdict, orphaned unique IDs, semantic changes, statements."""
    parts: list[RenderableType] = []
    head = Text()
    head.append(answer.arn, style="bold")
    head.append(f"\n{answer.kind} in {answer.account}, {answer.mode} mode, declared version ")
    head.append(f"{answer.version} by {answer.declared_by} at {_when(answer.declared_at)} UTC")
    if answer.recorded_status:
        head.append("\nrecorded status: ")
        head.append_text(status_text(answer.recorded_status))
    parts.append(head)
    if answer.in_sync:
        parts.append(Text("in sync: the live policy grants what was declared", style="green"))
        return Group(*parts)
    verdict = Text("DRIFTED", style="bold red")
    verdict.append(f": {', '.join(answer.findings)} (severity ", style="")
    verdict.append(answer.severity, style=_severity_style(answer.severity))
    verdict.append(")")
    parts.append(verdict)
    if answer.live_missing:
        parts.append(Text("  the resource has no policy at all", style=ADDED_STYLE))
    for uid, role in answer.orphaned:
        line = Text("  unique id ")
        line.append(uid, style="bold red")
        line.append(f" was {role}" if role else " belonged to a role driftguard never saw")
        parts.append(line)
    if answer.changes:
        parts.append(Text("changes (+ only in live, - only declared):", style="bold"))
        parts.extend(change_lines(readable_changes({"summary": list(answer.changes)})))
    if answer.added_statements or answer.removed_statements:
        parts.append(Text("statements:", style="bold"))
        for statement in answer.added_statements:
            parts.extend(_statement_lines("+", statement, ADDED_STYLE))
        for statement in answer.removed_statements:
            parts.extend(_statement_lines("-", statement, REMOVED_STYLE))
    return Group(*parts)


# --------------------------------------------------------------------------- declare

WIDENS_STYLE: Final = SEVERITY_STYLES[Severity.CRITICAL]  # the declaration watcher's alert
NARROWS_STYLE: Final = SEVERITY_STYLES[Severity.MEDIUM]

# What the next check finds on the resource, worded for the one declaring.
LIVE_FINDINGS: Final[Mapping[Finding, str]] = {
    Finding.WIDENED: "live grants what the new declaration does not",
    Finding.NARROWED: "live lacks what the new declaration grants",
    Finding.ORPHANED_PRINCIPAL: "live names deleted principals by unique id",
    Finding.MISSING: "the resource has no policy",
}


def _diff_lines(found: Classification, legend: str) -> list[RenderableType]:
    if found.diff is None or not (lines := readable_changes(found.diff.to_dict())):
        return []
    return [Text(f"  changes ({legend}):"), *change_lines(lines, indent="    ")]


def declaration_plan_view(plan: Plan) -> RenderableType:
    """`declare` / `adopt` before anything is written: the new declaration against the
    current one (does it widen access?) and against the live policy (what the next
    check changes). "+" lines are red: access the new declaration adds, or live access
    it takes away."""
    declared, previous = plan.declared, plan.previous
    head = Text("declaring ")
    head.append(declared.arn, style="bold")
    head.append(f" as version {declared.version}, {declared.mode.value} mode")
    if previous is not None and previous.mode is not declared.mode:
        head.append(f" (was {previous.mode.value})", style="bold")
    parts: list[RenderableType] = [head]

    verdict = Text()
    if previous is None or plan.against_declared is None:
        verdict.append("first declaration", style="bold")
        verdict.append(" (nothing declared yet)")
        if plan.widens:
            verdict.append(": ")
            verdict.append("!! widens access", style=WIDENS_STYLE)
            verdict.append(f", grants everyone: {', '.join(plan.public)}")
        parts.append(verdict)
    else:
        verdict.append(f"against the current declaration (version {previous.version}, ")
        verdict.append(f"by {previous.declared_by}): ")
        if plan.widens:
            verdict.append("!! widens access", style=WIDENS_STYLE)
            verdict.append(": it grants what the current declaration does not")
            if plan.narrows:
                verdict.append(", and removes some access")
        elif plan.narrows:
            verdict.append("narrows access", style=NARROWS_STYLE)
            verdict.append(": it grants less than the current declaration")
        else:
            verdict.append("no change", style="green")
            verdict.append(" in access")
        parts.append(verdict)
        parts.extend(
            _diff_lines(
                plan.against_declared,
                f"+ only in the new declaration, - only in version {previous.version}",
            )
        )

    found = plan.against_live
    live = Text("against the live policy: ")
    if found.in_sync:
        live.append("in sync", style="green")
        live.append(", the next check changes nothing")
        parts.append(live)
        return Group(*parts)
    live.append("differs", style=STATUS_STYLES[Status.DRIFTED])
    live.append(f" ({'; '.join(LIVE_FINDINGS[f] for f in sorted(found.findings))}); ")
    if declared.mode is Mode.ENFORCE:
        live.append("the next check puts the new declaration on it")
    else:
        live.append("the next check alerts and changes nothing (detect mode)")
    parts.append(live)
    parts.extend(_diff_lines(found, "+ only in live, - only in the new declaration"))
    return Group(*parts)


# --------------------------------------------------------------------------- history


def _action_style(entry: AuditEntry) -> str:
    return ACTION_STYLES[entry.action]


def _gap(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"+{delta.total_seconds():.1f}s"
    if seconds < 3600:
        return f"+{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"+{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"+{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def _who(entry: AuditEntry) -> str:
    """ "by <actor> (<event>)", without repeating the actor the trigger names too."""
    trigger = entry.trigger or ""
    if entry.actor and trigger.endswith(f" by {entry.actor}"):
        trigger = trigger.removesuffix(f" by {entry.actor}")
    words = [f"by {entry.actor}"] if entry.actor else []
    if trigger and trigger not in (entry.actor, "cli"):
        words.append(f"({trigger})")
    return " ".join(words)


def history_view(arn: str, entries: Sequence[AuditEntry]) -> RenderableType:
    """`driftguard history`: one block per day; per entry the time, the gap since the
    one before, what happened (coloured), who and why, and what changed."""
    parts: list[RenderableType] = [Text(arn, style="bold")]
    day = None
    previous: AuditEntry | None = None
    for entry in entries:
        if entry.at.date() != day:
            day = entry.at.date()
            parts.append(Text(f"{day:%Y-%m-%d} (UTC)", style="bold underline"))
        line = Text(f"  {entry.at:%H:%M:%S} ")
        gap = _gap(entry.at - previous.at) if previous else ""
        line.append(f"{gap:>9} ", style="dim")
        line.append(f"● {entry.action:<20}", style=_action_style(entry))
        line.append(" ")
        line.append_text(status_text(entry.status))
        parts.append(line)
        if who := _who(entry):
            parts.append(Text(" " * 14 + who, style="dim"))
        if entry.message:
            parts.append(Text(" " * 14 + entry.message))
        parts.extend(change_lines(readable_changes(entry.diff), indent=" " * 16))
        previous = entry
    return Group(*parts)


# --------------------------------------------------------------------------- principals


def _resources_table(answer_resources: Sequence[Any]) -> RenderableType:
    if not answer_resources:
        return Text("  no declared policy names it", style="dim")
    table = _table("STATUS", "RESOURCE")
    for resource in answer_resources:
        table.add_row(status_text(resource.status or "unknown"), Text(resource.arn))
    return table


def principals_view(answer: PrincipalAnswer) -> RenderableType:
    head = Text(answer.role_arn, style="bold")
    head.append("\nexists now: ")
    if answer.exists is True:
        head.append("yes", style="green")
        if answer.current_id:
            head.append(f" (unique id {answer.current_id})")
    elif answer.exists is False:
        head.append("no", style="bold red")
        head.append(" (deleted, or never created)")
    else:
        head.append("unknown", style="yellow")
        head.append(f" ({answer.lookup_error or 'could not look'})")
    ids = Text("unique ids known: ")
    if not answer.unique_ids:
        ids.append("none", style="dim")
    for i, uid in enumerate(answer.unique_ids):
        ids.append(", " if i else "")
        current = uid == answer.current_id
        ids.append(uid, style="green" if current else "red")
        ids.append(" (current)" if current else " (earlier: orphans policies)")
    heading = Text(f"declared policies naming it ({len(answer.resources)}):", style="bold")
    return Group(head, ids, heading, _resources_table(answer.resources))


def whois_view(answer: WhoisAnswer) -> RenderableType:
    head = Text()
    head.append(answer.unique_id, style="bold")
    head.append(" belonged to ")
    head.append(answer.role_arn, style="bold")
    parts: list[RenderableType] = [head]
    if answer.other_ids:
        parts.append(Text(f"the role's other unique ids: {', '.join(answer.other_ids)}"))
    parts.append(Text(f"declared policies naming it ({len(answer.resources)}):", style="bold"))
    parts.append(_resources_table(answer.resources))
    return Group(*parts)


# --------------------------------------------------------------------------- scan, replay


def scan_view(rows: Sequence[ScanRow]) -> RenderableType:
    if not rows:
        return Text("no declared resources")
    table = _table("RESULT", "SEVERITY", "FINDINGS", "ACCOUNT", "KIND", "RESOURCE")
    for row in rows:
        table.add_row(
            status_text(row.status),
            Text(row.severity, style=_severity_style(row.severity)),
            Text(", ".join(row.findings) or "-"),
            Text(row.account),
            Text(row.kind),
            Text(row.arn),
        )
    drifted = sum(1 for r in rows if r.drifted)
    summary = Text(f"{len(rows)} resources scanned, ")
    summary.append(f"{drifted} not in sync", style="bold red" if drifted else "green")
    parts: list[RenderableType] = [table, summary]
    for row in rows:
        if row.error:
            line = Text(f"  {row.arn}: ")
            line.append(row.error, style="red")
            parts.append(line)
    return Group(*parts)


def sweep_view(results: Sequence[tuple[str, str, str]]) -> RenderableType:
    """`scan --remediate`: (outcome, status, arn) per resource."""
    if not results:
        return Text("no declared resources")
    table = _table("OUTCOME", "STATUS", "RESOURCE")
    for outcome, status, arn in results:
        table.add_row(Text(outcome), status_text(status), Text(arn))
    return table


def replay_view(rows: Sequence[ReplayRow], *, dry_run: bool) -> RenderableType:
    if not rows:
        return Text("the dead-letter queue is empty", style="green")
    table = _table("RESULT", "EVENT", "ACTOR", "WHY IT WAS PARKED", "DETAIL")
    for row in rows:
        table.add_row(
            Text(row.result, style=RESULT_STYLES.get(row.result, "")),
            Text(row.event_name or "(not a CloudTrail event)"),
            Text(row.actor or "-"),
            Text(row.why_parked),
            Text("\n".join([row.detail, *row.outcomes]).strip() or "-"),
        )
    counts = Counter(row.result for row in rows)
    summary = Text(f"{len(rows)} message{'s' if len(rows) != 1 else ''}: ")
    summary.append(", ".join(f"{n} {result}" for result, n in sorted(counts.items())))
    kept = sum(1 for row in rows if row.kept)
    if dry_run:
        summary.append(" (dry run: nothing replayed or deleted)")
    else:
        summary.append(f"; {len(rows) - kept} deleted, {kept} left on the queue")
    return Group(table, summary)
