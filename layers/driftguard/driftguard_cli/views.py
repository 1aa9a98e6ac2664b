"""Terminal views of the CLI's answers: pure functions from data to rich renderables.

Every value that comes from AWS or the state table goes into a `Text` object,
never into console markup, so a `[` in an actor name or a reason is shown as is.
Colour is decided by the console the caller prints to (no colour when the output
is not a terminal, or with NO_COLOR / `--color never`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from rich.console import Group, RenderableType
from rich.text import Text

from driftguard.alerts import readable_changes
from driftguard.vocabulary import Finding, Mode, Severity, Status
from driftguard_cli.answers import DriftAnswer, PrincipalAnswer, ReplayRow, WhoisAnswer

# The lists of resources and the timeline, at any width (re-exported: one module of views).
from driftguard_cli.list_views import history_view as history_view
from driftguard_cli.list_views import scan_view as scan_view
from driftguard_cli.list_views import status_summary as status_summary
from driftguard_cli.list_views import status_view as status_view
from driftguard_cli.list_views import sweep_view as sweep_view

# The palette (re-exported: tests/unit/test_vocabulary.py checks every style map here).
from driftguard_cli.styles import ACTION_STYLES as ACTION_STYLES
from driftguard_cli.styles import (
    ADDED_STYLE,
    REMOVED_STYLE,
    SEVERITY_STYLES,
    STATUS_STYLES,
    change_lines,
    plain_table,
    severity_style,
    status_text,
    when,
)
from driftguard_cli.styles import RESULT_STYLES as RESULT_STYLES

if TYPE_CHECKING:  # the views stay free of the AWS side
    from driftguard.classify import Classification
    from driftguard_cli.declarations import Plan

# --------------------------------------------------------------------------- drift


def _statement_lines(sign: str, statement: Mapping[str, Any], style: str) -> list[Text]:
    body = json.dumps(statement, indent=2, sort_keys=True).splitlines()
    return [Text(f"  {sign} {line}", style=style) for line in body]


def drift_view(answer: DriftAnswer) -> RenderableType:
    """`driftguard drift`: verdict, orphaned unique IDs, semantic changes, statements."""
    parts: list[RenderableType] = []
    head = Text()
    head.append(answer.arn, style="bold")
    head.append(f"\n{answer.kind} in {answer.account}, {answer.mode} mode, declared version ")
    head.append(f"{answer.version} by {answer.declared_by} at {when(answer.declared_at)} UTC")
    if answer.recorded_status:
        head.append("\nrecorded status: ")
        head.append_text(status_text(answer.recorded_status))
    parts.append(head)
    if answer.in_sync:
        parts.append(Text("in sync: the live policy grants what was declared", style="green"))
        return Group(*parts)
    verdict = Text("DRIFTED", style="bold red")
    verdict.append(f": {', '.join(answer.findings)} (severity ", style="")
    verdict.append(answer.severity, style=severity_style(answer.severity))
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


# --------------------------------------------------------------------------- principals


def _resources_table(answer_resources: Sequence[Any]) -> RenderableType:
    if not answer_resources:
        return Text("  no declared policy names it", style="dim")
    table = plain_table("STATUS", "RESOURCE")
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


# --------------------------------------------------------------------------- replay


def replay_view(rows: Sequence[ReplayRow], *, dry_run: bool) -> RenderableType:
    if not rows:
        return Text("the dead-letter queue is empty", style="green")
    table = plain_table("RESULT", "EVENT", "ACTOR", "WHY IT WAS PARKED", "DETAIL")
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
