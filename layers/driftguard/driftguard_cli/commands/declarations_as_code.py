"""`driftguard plan DIR`, `apply DIR` and `export DIR`: declarations as code.

A directory holds one file per resource (driftguard_cli.declaration_files), reviewed as
a pull request. `plan` shows what applying it changes, resource by resource, as
`declare` shows one (against the current declaration, against the live policy), and
exits as `terraform plan -detailed-exitcode` does: 0 nothing to do, 1 changes, 2
errors. `apply` shows the same plan, asks at a terminal (--yes does not; a pipeline
must pass it), then signs and writes exactly the planned declarations. A declared
resource with no file is kept unless `--prune`. Any bad file: nothing is applied.
Access paths are files of the same directory (driftguard_cli.path_files), planned,
signed and stored as `declare-path` does (driftguard_cli.path_declaring).
`export` writes today's declarations and access paths as such a directory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from botocore.exceptions import ClientError
from rich.text import Text

from driftguard.errors import ConfigError, DriftguardError
from driftguard.path_store import PathStore
from driftguard.retry import SYSTEM_CLOCK
from driftguard_cli import path_files
from driftguard_cli.commands._common import Subparsers, command, describe_error, json_flag
from driftguard_cli.context import Context
from driftguard_cli.declaration_files import SUFFIXES, FileError, Source, export_files, load
from driftguard_cli.declarations import Plan
from driftguard_cli.directory_plan import (
    AccessPathPlan,
    DirectoryPlan,
    PlanAction,
    Planned,
    ResourcePlan,
    access_path_plans,
    directory_plan,
    exit_code,
    prune_refusal,
    summary,
    to_json,
)
from driftguard_cli.exit_codes import EXIT_OK, EXIT_USAGE
from driftguard_cli.path_declaring import apply_plan, remove_path
from driftguard_cli.plan_views import directory_plan_view
from driftguard_cli.styles import status_text

NAMES = ("plan", "apply", "export")

_FORMAT = (
    "One file per resource, YAML or JSON: arn, mode (enforce|detect), policy (a mapping),\n"
    "optional owner, ticket and allow_public; or one file per access path, under\n"
    "access_path: name, mode, role, secret, key, irsa or pod_identity, optional boundary,\n"
    "owner and ticket (docs/declarations-as-code.md). Every *.yaml, *.yml and *.json\n"
    "file under DIR is read (hidden ones not).\n\n"
)


def register(subparsers: Subparsers) -> None:
    _register_plan(subparsers)
    _register_apply(subparsers)
    _register_export(subparsers)


def _register_plan(subparsers: Subparsers) -> None:
    plan = command(
        subparsers,
        "plan",
        "show what applying a directory of declaration files would change",
        _FORMAT + "Reads only. Per resource: new, changed (against the current declaration\n"
        "and the live policy; what widens access in red) or unchanged; per access path:\n"
        "new, changed (each field that changes) or unchanged; declared ones with no file\n"
        "are kept (--prune: shown as removed). Exit 0: nothing to apply, 1: changes to\n"
        "apply, 2: a file is wrong or a resource cannot be declared.",
        "  driftguard plan declarations/\n  driftguard plan declarations/ --prune --json",
    )
    _common(plan, "show the declarations of resources with no file as removed")
    json_flag(plan)


def _register_apply(subparsers: Subparsers) -> None:
    apply = command(
        subparsers,
        "apply",
        "declare what a directory of declaration files says",
        _FORMAT + "Shows the plan, asks at a terminal (--yes skips the question; a pipeline\n"
        "must pass --yes), then signs and writes the new and changed declarations only.\n"
        "Any bad file, or answering no: nothing is written, exit 2.",
        "  driftguard apply declarations/\n  driftguard apply declarations/ --yes --prune",
    )
    _common(apply, "remove the declarations of declared resources that have no file")
    apply.add_argument("-y", "--yes", action="store_true", help="apply without asking")


def _register_export(subparsers: Subparsers) -> None:
    export = command(
        subparsers,
        "export",
        "write today's declarations as a directory of declaration files",
        "One YAML file per declared resource, <account>/<kind>-<name>.yaml, and per\n"
        "access path, paths/<name>.yaml, in a stable form (fixed key order, the policy\n"
        "in block style). Refuses a directory that is not empty unless --force (which\n"
        "writes over files of the same name only).",
        "  driftguard export declarations/",
    )
    export.add_argument("directory", metavar="DIR", type=Path)
    export.add_argument("--force", action="store_true", help="write into a non-empty DIR")


def _common(parser: argparse.ArgumentParser, prune_help: str) -> None:
    parser.add_argument("directory", metavar="DIR", type=Path)
    parser.add_argument("--prune", action="store_true", help=prune_help)


def run(ctx: Context) -> int:
    args = ctx.args
    if args.command == "export":
        return _export(ctx, args.directory)
    answer = plan_directory(ctx, args.directory, prune=args.prune)
    if args.command == "apply":
        return _apply(ctx, answer)
    if ctx.wants_json:
        ctx.dump(to_json(answer))
    else:
        ctx.show(directory_plan_view(answer, ctx.console.width))
    return exit_code(answer)


# --------------------------------------------------------------------------- plan


def read_directory(root: Path) -> list[Source]:
    """Every declaration file under `root` (hidden files and directories left out)."""
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory")
    return [
        Source(path.relative_to(root).as_posix(), path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.suffix.lower() in SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]


def plan_directory(ctx: Context, root: Path, *, prune: bool) -> DirectoryPlan:
    """Every file planned as `declare` plans one (read only); every problem collected."""
    sources = read_directory(root)
    loaded = load(sources)
    who = ctx.caller() if loaded.files or loaded.paths else ""
    plans: dict[str, Plan] = {}
    errors = list(loaded.errors)
    with ctx.progress() as progress:
        task = progress.add_task("planning", total=len(loaded.files)) if progress else None
        for file in loaded.files:
            try:
                plans[file.arn] = ctx.declarations.plan(
                    file.arn,
                    file.policy_text,
                    file.mode,
                    who,
                    allow_public=file.allow_public,
                    owner=file.owner,
                    ticket=file.ticket,
                )
            except (DriftguardError, ClientError) as exc:
                errors.append(FileError(file.path, (describe_error(exc),)))
            if progress is not None and task is not None:
                progress.advance(task)
    declared = ctx.declarations.current()
    paths = access_path_plans(
        loaded.paths,
        PathStore(ctx.store).declarations(),
        prune=prune,
        declared_by=who,
        clock=SYSTEM_CLOCK,
    )
    return directory_plan(
        str(root),
        loaded.files,
        plans,
        errors,
        declared,
        prune=prune,
        file_count=len(sources),
        paths=paths,
    )


# --------------------------------------------------------------------------- apply


def _apply(ctx: Context, answer: DirectoryPlan) -> int:
    ctx.show(directory_plan_view(answer, ctx.console.width))
    if answer.errors:
        return ctx.fail("nothing applied: fix the files named above first", EXIT_USAGE)
    if refusal := prune_refusal(answer):
        return ctx.fail(f"{refusal}; nothing applied", EXIT_USAGE)
    if not answer.writes:
        ctx.say("nothing to apply")
        return EXIT_OK
    if not ctx.args.yes:
        # apply signs declarations: a pipeline must say so, it is never asked.
        if not ctx.interactive:
            return ctx.fail("apply needs --yes when not at a terminal; nothing applied", EXIT_USAGE)
        if not ctx.confirm(f"Apply these changes ({summary(answer)})?"):
            return ctx.fail("declined: nothing applied", EXIT_USAGE)
    remover = ctx.caller() if answer.count(PlanAction.REMOVE) else ""
    failed = [r.label for r in answer.writes if not _write(ctx, r, remover)]
    if failed:
        done = len(answer.writes) - len(failed)
        return ctx.fail(
            f"{len(failed)} not applied ({done} applied): {', '.join(failed)}; plan again",
            EXIT_USAGE,
        )
    return EXIT_OK


def _write(ctx: Context, planned: Planned, remover: str) -> bool:
    if isinstance(planned, AccessPathPlan):
        return _write_path(ctx, planned, remover)
    return _write_resource(ctx, planned, remover)


def _write_resource(ctx: Context, resource: ResourcePlan, remover: str) -> bool:
    """Declare (or remove) one resource as planned; False, said on stderr, if refused."""
    try:
        if resource.action is PlanAction.REMOVE:
            assert resource.current is not None
            ctx.declarations.remove(resource.current, remover)
            ctx.show(Text(f"removed the declaration of {resource.arn}"))
            return True
        assert resource.plan is not None
        declared = ctx.declarations.apply(resource.plan)
    except (DriftguardError, ClientError) as exc:
        ctx.fail(f"{resource.arn}: {describe_error(exc)}", EXIT_USAGE)
        return False
    record = ctx.store.get_status(declared.arn)
    line = Text(f"declared {declared.arn} (version {declared.version}, {declared.mode.value}): ")
    line.append_text(status_text(record.status.value if record else "unknown"))
    ctx.show(line)
    return True


def _write_path(ctx: Context, path: AccessPathPlan, remover: str) -> bool:
    """Declare (or remove) one access path as planned, signed and stored as
    `declare-path` does; False, said on stderr, if refused (declared since the plan, a
    caller that may not sign)."""
    paths = PathStore(ctx.store)
    try:
        if path.action is PlanAction.REMOVE:
            assert path.current is not None
            remove_path(path.current, removed_by=remover, paths=paths, clock=SYSTEM_CLOCK)
            ctx.show(Text(f"removed the declaration of access path {path.name}"))
            return True
        assert path.plan is not None
        declared = apply_plan(
            path.plan, signatures=ctx.signatures, paths=paths, clock=SYSTEM_CLOCK, notes=path.notes
        )
    except (DriftguardError, ClientError) as exc:
        ctx.fail(f"access path {path.name}: {describe_error(exc)}", EXIT_USAGE)
        return False
    ctx.show(
        Text(
            f"declared access path {declared.name} (version {declared.version}, "
            f"{declared.mode.value}): driftguard verify-path {declared.name} checks it now"
        )
    )
    return True


# --------------------------------------------------------------------------- export


def _export(ctx: Context, root: Path) -> int:
    if root.exists() and (not root.is_dir() or any(root.iterdir())) and not ctx.args.force:
        return ctx.fail(f"{root} is not empty: pass --force to write into it", EXIT_USAGE)
    files, errors = export_files(ctx.declarations.current())
    paths = path_files.export_files(PathStore(ctx.store).declarations())
    if errors:
        for error in errors:
            ctx.fail(str(error), EXIT_USAGE)
        return ctx.fail("nothing exported", EXIT_USAGE)
    before = {source.path for source in read_directory(root)} if root.is_dir() else set()
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (files | paths).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    ctx.say(f"exported {_count(len(files), 'declaration')}{_and_paths(len(paths))} to {root}")
    if left := sorted(before - set(files) - set(paths)):
        # They still declare what they say: `apply` would act on them.
        ctx.say(f"left as they were (not written by this export): {', '.join(left)}")
    return EXIT_OK


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'s' if number != 1 else ''}"


def _and_paths(number: int) -> str:
    return f" and {_count(number, 'access path')}" if number else ""
