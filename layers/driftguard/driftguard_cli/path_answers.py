"""What `verify-path` and `paths` answer, as plain data (pure): built from the one
check's verdict (driftguard.path_check) or from the stored statuses, shown by
`driftguard_cli.path_views` or dumped as JSON.

The JSON of `verify-path` is a stable shape for pipelines (docs/access-paths.md):
name, ok, refused, first_broken {link, reason, fix}, links [...], grants [...],
hygiene [...], then what was declared."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from driftguard.path_check import PathVerdict
from driftguard.path_hygiene import Hygiene
from driftguard.path_model import Grant, PathDeclaration, via
from driftguard.vocabulary import LINK_SUBJECT, Link
from driftguard_cli.report_paths import LinkState, PathRow

__all__ = [
    "LinkRow",
    "PathAnswer",
    "link_state",
    "listed_json",
    "path_answer",
    "refused_answer",
]


def link_state(ok: bool) -> str:
    return "ok" if ok else "broken"


@dataclass(frozen=True)
class LinkRow:
    link: Link
    ok: bool
    reason: str
    fix: str  # "" when the link holds

    @property
    def subject(self) -> str:
        return LINK_SUBJECT[self.link]

    def to_json(self) -> dict[str, Any]:
        return {
            "link": self.link.value,
            "subject": self.subject,
            "state": link_state(self.ok),
            "ok": self.ok,
            "reason": self.reason,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class PathAnswer:
    """One path, verified now (or refused: its signature does not verify, so nothing
    was checked)."""

    declaration: PathDeclaration
    links: tuple[LinkRow, ...]  # chain order; empty when refused
    grants: tuple[Grant, ...] = ()
    hygiene: tuple[Hygiene, ...] = ()
    checked_at: datetime | None = None
    refused: str | None = None  # why the declaration was refused

    @property
    def name(self) -> str:
        return self.declaration.name

    @property
    def first_broken(self) -> LinkRow | None:
        return next((row for row in self.links if not row.ok), None)

    @property
    def ok(self) -> bool:
        return self.refused is None and self.first_broken is None

    def to_json(self) -> dict[str, Any]:
        d, broken = self.declaration, self.first_broken
        access = d.path.access
        return {
            "name": d.name,
            "ok": self.ok,
            "refused": self.refused,
            "first_broken": (
                None
                if broken is None
                else {"link": broken.link.value, "reason": broken.reason, "fix": broken.fix}
            ),
            "links": [row.to_json() for row in self.links],
            "grants": [
                {"grant_id": g.grant_id, "grantee": g.grantee, "operations": list(g.operations)}
                for g in self.grants
            ],
            "hygiene": [
                {"finding": h.finding.value, "detail": h.detail, "fix": h.fix} for h in self.hygiene
            ],
            "role_arn": d.path.role_arn,
            "secret_arn": d.path.secret_arn,
            "key_arn": d.path.key_arn,
            "access": {"via": via(access)} | vars(access),
            "boundary_arn": d.boundary_arn,
            "mode": d.mode.value,
            "version": d.version,
            "declared_by": d.declared_by,
            "declared_at": d.declared_at.isoformat(),
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
        }


def path_answer(verdict: PathVerdict) -> PathAnswer:
    return PathAnswer(
        declaration=verdict.declaration,
        links=tuple(LinkRow(r.link, r.ok, r.reason, r.fix) for r in verdict.links),
        grants=verdict.grants,
        hygiene=verdict.hygiene,
        checked_at=verdict.checked_at,
    )


def refused_answer(declaration: PathDeclaration, why: str) -> PathAnswer:
    return PathAnswer(declaration=declaration, links=(), refused=why)


def listed_json(rows: Iterable[PathRow]) -> list[dict[str, Any]]:
    """`paths --json`: each declared path and its last stored verdict (`ok` null: never
    verified)."""
    return [
        {
            "name": row.name,
            "ok": row.works,
            "first_broken": row.first_broken.value if row.first_broken else None,
            "reason": row.reason,
            "fix": row.fix,
            "since": row.since.isoformat() if row.since else None,
            "checked_at": row.checked_at.isoformat() if row.checked_at else None,
            "failing": [link.link.value for link in row.links if link.state is LinkState.BROKEN],
            "via": row.via,
            "mode": row.mode,
            "role_arn": row.role,
            "secret_arn": row.secret,
            "key_arn": row.key,
        }
        for row in rows
    ]
