"""Terminal views of `driftguard plan DIR` and `apply DIR`: pure functions from the
directory plan (driftguard_cli.directory_plan) to rich renderables.

A resource to declare is shown as `declare` shows it (views.declaration_plan_view:
against the current declaration, against the live policy; what widens access in red);
an unchanged one is one line; a declared resource with no file says what --prune does.
An access path is shown by its name, as `declare-path` shows one (path_views).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from rich.console import Group, RenderableType
from rich.text import Text

from driftguard_cli import views
from driftguard_cli.declaration_files import FileError
from driftguard_cli.directory_plan import (
    AccessPathPlan,
    DirectoryPlan,
    PlanAction,
    ResourcePlan,
    summary,
)
from driftguard_cli.path_views import declare_plan_view

# Every PlanAction has a mark and a style (tests/unit/test_directory_plan.py).
ACTION_MARKS: Final[Mapping[PlanAction, tuple[str, str]]] = {
    PlanAction.NEW: ("+ new", "bold green"),
    PlanAction.CHANGE: ("~ change", "bold yellow"),
    PlanAction.UNCHANGED: ("= no changes", "dim"),
    PlanAction.KEEP: ("!", "yellow"),
    PlanAction.REMOVE: ("- remove", "bold red"),
}
ERROR_STYLE: Final = "red"


def directory_plan_view(answer: DirectoryPlan, width: int | None = None) -> RenderableType:
    """`width`: the terminal's, for an access path's lines (None: each line whole)."""
    parts: list[RenderableType] = []
    for resource in answer.resources:
        parts.extend(_resource(resource, answer.directory))
    for path in answer.paths:
        parts.extend(_path(path, answer.directory, width))
    if answer.errors:
        parts.append(Text("errors (nothing is applied until every file is fixed):", style="bold"))
        parts.extend(_error(error) for error in answer.errors)
    if not answer.resources and not answer.errors:
        parts.append(Text(f"no declaration files in {answer.directory} and nothing declared"))
    parts.append(Text(summary(answer), style="bold"))
    return Group(*parts)


def _mark(action: PlanAction) -> Text:
    mark, style = ACTION_MARKS[action]
    return Text(mark, style=style)


def _resource(resource: ResourcePlan, directory: str) -> list[RenderableType]:
    if resource.action in (PlanAction.KEEP, PlanAction.REMOVE):
        return [_absent(resource, directory)]
    plan = resource.plan
    assert plan is not None  # a file's resource is always planned
    head = _mark(resource.action)
    head.append(f" {resource.path}")
    if plan.owner or plan.ticket:
        head.append(f"  ({_owner(plan.owner, plan.ticket)})", style="dim")
    if resource.action is PlanAction.UNCHANGED:
        head.append(f": {resource.arn}", style="dim")
        if not plan.against_live.in_sync:
            head.append("; the live policy differs (see `driftguard drift`)", style="yellow")
        return [head]
    return [head, views.declaration_plan_view(plan), Text("")]


def _path(path: AccessPathPlan, directory: str, width: int | None) -> list[RenderableType]:
    if path.action in (PlanAction.KEEP, PlanAction.REMOVE):
        return [_absent(path, directory)]
    assert path.plan is not None  # a file's path is always planned
    head = _mark(path.action)
    head.append(f" {path.file}")
    if path.owner or path.ticket:
        head.append(f"  ({_owner(path.owner, path.ticket)})", style="dim")
    if path.action is PlanAction.UNCHANGED:
        head.append(f": access path {path.name}", style="dim")
        return [head]
    return [head, declare_plan_view(path.plan, width), Text("")]


def _absent(planned: ResourcePlan | AccessPathPlan, directory: str) -> Text:
    current = planned.current
    line = _mark(planned.action)
    is_path = isinstance(planned, AccessPathPlan)
    line.append((" access path " if is_path else " ") + planned.label)
    version = f" (version {current.version}, {current.mode.value} mode)" if current else ""
    line.append(version, style="dim")
    if planned.action is PlanAction.KEEP:
        line.append(
            f": not in {directory} (kept; apply --prune would remove the declaration)",
            style="yellow",
        )
    else:
        stops = "verifying" if is_path else "guarding"
        line.append(f": its declaration is removed, driftguard stops {stops} it", style="red")
    return line


def _owner(owner: str | None, ticket: str | None) -> str:
    parts = ([f"owner {owner}"] if owner else []) + ([f"ticket {ticket}"] if ticket else [])
    return ", ".join(parts)


def _error(error: FileError) -> Text:
    line = Text(f"  {error.path or '(the declarations)'}: ")
    line.append("; ".join(error.problems), style=ERROR_STYLE)
    return line
