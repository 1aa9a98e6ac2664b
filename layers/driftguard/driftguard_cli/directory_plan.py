"""The answer of `driftguard plan DIR` (and what `apply DIR` does): per resource, what
applying the directory changes. Pure: built from the files, their per-resource plans
(driftguard_cli.declarations.Plan) and today's declarations.

A file whose resource is declared with the same mode and the same policy document is
unchanged; nothing is signed or written for it. A declared resource with no file is
kept, unless the apply prunes (then its declaration is removed). Access path files
(driftguard_cli.path_files) are planned alike, by name: new, changed (the fields
driftguard_cli.path_declaring.changes names), unchanged, kept or removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from driftguard.model import Declared
from driftguard.path_model import PathDeclaration
from driftguard.retry import Clock
from driftguard_cli.declaration_files import DeclarationFile, FileError
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_OK, EXIT_USAGE
from driftguard_cli.path_declaring import PathPlan, plan_path
from driftguard_cli.path_files import KIND, PathFile

if TYPE_CHECKING:  # the answers stay free of the AWS side
    from driftguard.classify import Classification
    from driftguard_cli.declarations import Plan


class PlanAction(StrEnum):
    """What applying the directory does to one resource."""

    NEW = "new"  # a first declaration
    CHANGE = "change"  # a new version of the declaration
    UNCHANGED = "unchanged"  # the declaration already says what the file says
    KEEP = "kept"  # declared, no file: kept (apply --prune would remove it)
    REMOVE = "remove"  # declared, no file, --prune: the declaration is removed


# What `apply` writes, in the order it writes them.
WRITES = (PlanAction.NEW, PlanAction.CHANGE, PlanAction.REMOVE)


@dataclass(frozen=True)
class ResourcePlan:
    arn: str
    action: PlanAction
    path: str | None = None  # its file; None: declared, no file
    plan: Plan | None = None  # a file's resource: what declaring it changes
    current: Declared | None = None  # the declaration now; None: none

    @property
    def widens(self) -> bool:
        return self.action is not PlanAction.UNCHANGED and bool(self.plan and self.plan.widens)

    @property
    def label(self) -> str:
        return self.arn

    @property
    def kind(self) -> str:
        """The resource kind (kms-key, secret...)."""
        if self.plan is not None:
            return self.plan.declared.kind
        return self.current.kind if self.current else ""


@dataclass(frozen=True)
class AccessPathPlan:
    """What applying the directory does to one access path (by name)."""

    kind: ClassVar[str] = KIND
    name: str
    action: PlanAction
    file: str | None = None  # None: declared, no file
    plan: PathPlan | None = None  # a file's path: what declaring it changes
    current: PathDeclaration | None = None  # the declaration now; None: none
    owner: str | None = None
    ticket: str | None = None

    @property
    def label(self) -> str:
        return self.name

    @property
    def changes(self) -> tuple[str, ...]:
        """ "field: old -> new" for each declared field that changes."""
        return self.plan.changes if self.plan is not None else ()

    @property
    def notes(self) -> tuple[str, ...]:
        """What the path's history keeps of its file beside the declaration."""
        owner = (f"owner {self.owner}",) if self.owner else ()
        return owner + ((f"ticket {self.ticket}",) if self.ticket else ())


Planned = ResourcePlan | AccessPathPlan


@dataclass(frozen=True)
class DirectoryPlan:
    directory: str
    resources: tuple[ResourcePlan, ...]  # the files' resources by path, then the others
    errors: tuple[FileError, ...]  # any one: nothing may be applied
    prune: bool
    files: int  # declaration files read (with or without errors)
    paths: tuple[AccessPathPlan, ...] = ()  # the same for access paths, after them

    @property
    def planned(self) -> tuple[Planned, ...]:
        """Every resource, then every access path."""
        return (*self.resources, *self.paths)

    def count(self, action: PlanAction) -> int:
        return sum(1 for r in self.planned if r.action is action)

    @property
    def writes(self) -> tuple[Planned, ...]:
        """What `apply` writes: declarations first (resources, then paths), then
        removals."""
        return tuple(r for action in WRITES for r in self.planned if r.action is action)


def resource_plan(file: DeclarationFile, plan: Plan) -> ResourcePlan:
    current = plan.previous
    if current is None:
        action = PlanAction.NEW
    elif file.same_as(current):
        action = PlanAction.UNCHANGED
    else:
        action = PlanAction.CHANGE
    return ResourcePlan(file.arn, action, file.path, plan, current)


def directory_plan(
    directory: str,
    files: Sequence[DeclarationFile],
    plans: Mapping[str, Plan],
    errors: Sequence[FileError],
    declared: Sequence[Declared],
    *,
    prune: bool,
    file_count: int,
    paths: Sequence[AccessPathPlan] = (),
) -> DirectoryPlan:
    """`plans`: by ARN, for the files that could be planned (the others are in
    `errors`); `declared`: every declaration now; `paths`: `access_path_plans`."""
    planned = [resource_plan(f, plans[f.arn]) for f in files if f.arn in plans]
    named = {f.arn for f in files}
    absent = PlanAction.REMOVE if prune else PlanAction.KEEP
    others = [
        ResourcePlan(d.arn, absent, current=d)
        for d in sorted(declared, key=lambda d: d.arn)
        if d.arn not in named
    ]
    return DirectoryPlan(
        directory=directory,
        resources=(*planned, *others),
        errors=tuple(sorted(errors, key=lambda e: e.path or "")),
        prune=prune,
        files=file_count,
        paths=tuple(paths),
    )


def access_path_plans(
    files: Sequence[PathFile],
    declared: Sequence[PathDeclaration],
    *,
    prune: bool,
    declared_by: str,
    clock: Clock,
) -> tuple[AccessPathPlan, ...]:
    """Each file's path planned as `declare-path` plans one, then the declared paths
    with no file (kept, or removed when pruning). `declared`: every path declared now."""
    current = {d.name: d for d in declared}
    planned = []
    for file in files:
        previous = current.get(file.name)
        plan = plan_path(
            previous,
            name=file.name,
            path=file.path,
            mode=file.mode,
            boundary_arn=file.boundary_arn,
            declared_by=declared_by,
            clock=clock,
        )
        if previous is None:
            action = PlanAction.NEW
        else:
            action = PlanAction.CHANGE if plan.changes else PlanAction.UNCHANGED
        planned.append(
            AccessPathPlan(file.name, action, file.file, plan, previous, file.owner, file.ticket)
        )
    named = {f.name for f in files}
    absent = PlanAction.REMOVE if prune else PlanAction.KEEP
    others = [
        AccessPathPlan(name, absent, current=current[name])
        for name in sorted(current)
        if name not in named
    ]
    return (*planned, *others)


def exit_code(answer: DirectoryPlan) -> int:
    """As `terraform plan -detailed-exitcode`: 2 errors, 1 something to apply, 0 nothing."""
    if answer.errors:
        return EXIT_USAGE
    return EXIT_DRIFT if answer.writes else EXIT_OK


def prune_refusal(answer: DirectoryPlan) -> str | None:
    """Why pruning must not go ahead: a directory with no declaration file at all is a
    wrong path far more often than an intent to remove every declaration."""
    if answer.prune and answer.files == 0 and answer.count(PlanAction.REMOVE):
        return (
            f"{answer.directory} holds no declaration files: refusing to remove every "
            "declaration (--prune)"
        )
    return None


def summary(answer: DirectoryPlan) -> str:
    """ "2 to change, 1 new, 3 unchanged[, 1 to remove with --prune]"."""
    parts = [
        f"{answer.count(PlanAction.CHANGE)} to change",
        f"{answer.count(PlanAction.NEW)} new",
        f"{answer.count(PlanAction.UNCHANGED)} unchanged",
    ]
    if kept := answer.count(PlanAction.KEEP):
        parts.append(f"{kept} to remove with --prune")
    if removed := answer.count(PlanAction.REMOVE):
        parts.append(f"{removed} to remove")
    if answer.errors:
        files = len(answer.errors)
        parts.append(f"{files} file{'s' if files != 1 else ''} with errors")
    return ", ".join(parts)


# --------------------------------------------------------------------------- JSON


def to_json(answer: DirectoryPlan) -> dict[str, Any]:
    return {
        "directory": answer.directory,
        "prune": answer.prune,
        "summary": {action.value: answer.count(action) for action in PlanAction}
        | {"errors": len(answer.errors)},
        "resources": [_resource_json(r) for r in answer.resources]
        + [_path_json(p) for p in answer.paths],
        "errors": [{"file": e.path, "problems": list(e.problems)} for e in answer.errors],
    }


def _resource_json(resource: ResourcePlan) -> dict[str, Any]:
    plan, current = resource.plan, resource.current
    data: dict[str, Any] = {
        "kind": resource.kind,
        "arn": resource.arn,
        "action": resource.action.value,
        "file": resource.path,
        "current_version": current.version if current else None,
        "current_mode": current.mode.value if current else None,
    }
    if plan is None:
        return data
    return data | {
        "version": plan.declared.version if resource.action in WRITES else None,
        "mode": plan.declared.mode.value,
        "owner": plan.owner,
        "ticket": plan.ticket,
        "widens": resource.widens,
        "narrows": resource.action is not PlanAction.UNCHANGED and plan.narrows,
        "against_declared": _comparison(plan.against_declared),
        "against_live": _comparison(plan.against_live),
    }


def _path_json(path: AccessPathPlan) -> dict[str, Any]:
    plan, current = path.plan, path.current
    data: dict[str, Any] = {
        "kind": path.kind,
        "name": path.name,
        "action": path.action.value,
        "file": path.file,
        "current_version": current.version if current else None,
        "current_mode": current.mode.value if current else None,
    }
    if plan is None:
        return data
    return data | {
        "version": plan.declaration.version if path.action in WRITES else None,
        "mode": plan.declaration.mode.value,
        "owner": path.owner,
        "ticket": path.ticket,
        "changes": list(path.changes),
    }


def _comparison(found: Classification | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "findings": sorted(f.value for f in found.findings),
        "changes": list(found.diff.summary_lines()) if found.diff else [],
    }
