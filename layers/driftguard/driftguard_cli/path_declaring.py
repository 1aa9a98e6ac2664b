"""Declaring an access path (`declare-path`, `adopt-path`), in the two steps `declare`
takes: `plan_path` (pure) says what would be declared and what it changes against the
current declaration; `apply_plan` signs it, dated now, exactly as policy declarations
are signed (only the declarer role can), and stores it with its audit entry in one
transaction (driftguard.path_store: the version must be the stored one + 1)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from driftguard.model import AuditEntry, sha256
from driftguard.path_model import AccessPath, PathDeclaration, via
from driftguard.path_store import PathStore, audit_arn
from driftguard.retry import Clock
from driftguard.vocabulary import AuditAction, Mode, TriggerKind

__all__ = [
    "PathPlan",
    "Signer",
    "apply_plan",
    "changes",
    "declared_audit",
    "plan_path",
    "remove_path",
]


class Signer(Protocol):
    def sign(self, declared: PathDeclaration, /) -> PathDeclaration: ...


@dataclass(frozen=True)
class PathPlan:
    declaration: PathDeclaration  # unsigned: `apply_plan` dates and signs it
    previous: PathDeclaration | None  # None: a first declaration

    @property
    def changes(self) -> tuple[str, ...]:
        return changes(self.previous, self.declaration)


def plan_path(
    previous: PathDeclaration | None,
    *,
    name: str,
    path: AccessPath,
    mode: Mode,
    boundary_arn: str | None,
    declared_by: str,
    clock: Clock,
) -> PathPlan:
    declaration = PathDeclaration(
        name=name,
        path=path,
        mode=mode,
        version=(previous.version if previous else 0) + 1,
        declared_by=declared_by,
        declared_at=clock.now(),
        boundary_arn=boundary_arn,
    )
    return PathPlan(declaration, previous)


# What the person declares; who and when change on every declaration.
_COMPARED = ("role_arn", "secret_arn", "key_arn", "access", "mode", "boundary_arn")


def _flat(declaration: PathDeclaration) -> dict[str, Any]:
    fields = declaration.fields()
    return {key: fields[key] for key in _COMPARED}


def changes(previous: PathDeclaration | None, new: PathDeclaration) -> tuple[str, ...]:
    """ "field: old -> new" for each declared field that changes (none for a first
    declaration)."""
    if previous is None:
        return ()
    old, now = _flat(previous), _flat(new)
    found = []
    for key in _COMPARED:
        if old[key] == now[key]:
            continue
        if key == "access":
            for part in sorted(set(old[key]) | set(now[key])):
                was, becomes = old[key].get(part), now[key].get(part)
                if was != becomes:
                    found.append(f"{part}: {was or 'none'} -> {becomes or 'none'}")
        else:
            found.append(f"{key}: {old[key] or 'none'} -> {now[key] or 'none'}")
    return tuple(found)


def digest(declaration: PathDeclaration) -> str:
    """What the history compares versions by: the declared fields' canonical JSON."""
    return sha256(json.dumps(_flat(declaration), sort_keys=True, separators=(",", ":")))


def declared_audit(
    declaration: PathDeclaration, previous: PathDeclaration | None, notes: Sequence[str] = ()
) -> AuditEntry:
    """`notes` (a declaration file's owner and ticket) end the message: the history
    keeps them, the signature does not cover them."""
    access = declaration.path.access
    message = (
        f"access path version {declaration.version}, {declaration.mode.value} mode: "
        f"{via(access)} {access.namespace}/{access.service_account} -> "
        f"{declaration.path.role_arn} -> {declaration.path.secret_arn} -> "
        f"{declaration.path.key_arn}"
    )
    if previous is not None:
        message += "; " + ("; ".join(changes(previous, declaration)) or "no change")
    if notes:
        message += "; " + ", ".join(notes)
    return AuditEntry(
        arn=audit_arn(declaration.name),
        at=declaration.declared_at,
        action=AuditAction.DECLARED,
        status=AuditAction.DECLARED.value,
        actor=declaration.declared_by,
        trigger=TriggerKind.CLI.value,
        message=message,
        before_digest=digest(previous) if previous else None,
        after_digest=digest(declaration),
    )


def apply_plan(
    plan: PathPlan,
    *,
    signatures: Signer,
    paths: PathStore,
    clock: Clock,
    notes: Sequence[str] = (),
) -> PathDeclaration:
    """SigningError when this caller may not sign; DeclarationError, nothing written,
    when someone declared the path since the plan was read."""
    declaration = replace(plan.declaration, declared_at=clock.now())
    signed = signatures.sign(declaration)
    paths.put(signed, declared_audit(signed, plan.previous, notes))
    return signed


def remove_path(
    declaration: PathDeclaration, *, removed_by: str, paths: PathStore, clock: Clock
) -> None:
    """`apply --prune`: delete the declaration (and its verdict), only if it is still
    that version (DeclarationError otherwise, nothing removed); its history keeps the
    removal."""
    audit = AuditEntry(
        arn=audit_arn(declaration.name),
        at=clock.now(),
        action=AuditAction.UNDECLARED,
        status=AuditAction.UNDECLARED.value,
        actor=removed_by,
        trigger=TriggerKind.CLI.value,
        message=(
            f"access path version {declaration.version} removed: driftguard no longer verifies it"
        ),
        before_digest=digest(declaration),
    )
    paths.delete(declaration, audit)
