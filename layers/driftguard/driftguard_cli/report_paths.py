"""The report's access paths: each declared path and the state of each of its links at
its last verification (pure). From the state table only: the verdict the last path
event or sweep stored, with when that was (`verify-path` asks AWS and stores nothing:
the watch that stores a change is the one that alerts it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from driftguard.path_model import PathDeclaration, via
from driftguard.path_store import PathStatus
from driftguard.vocabulary import LINK_SUBJECT, Link

__all__ = ["LinkState", "PathLink", "PathRow", "path_rows"]


class LinkState(StrEnum):
    HOLDS = "holds"
    BROKEN = "broken"
    UNCHECKED = "not checked yet"


@dataclass(frozen=True)
class PathLink:
    link: Link
    subject: str  # what the link checks, in words
    state: LinkState


@dataclass(frozen=True)
class PathRow:
    name: str
    role: str
    secret: str
    key: str
    via: str  # irsa or pod-identity
    mode: str
    links: tuple[PathLink, ...]  # in chain order
    first_broken: Link | None
    reason: str  # why the first broken link is broken ("" when it holds or unchecked)
    fix: str
    since: datetime | None  # in this state since (None: never verified)
    checked_at: datetime | None

    @property
    def works(self) -> bool | None:
        """None: never verified."""
        return None if self.checked_at is None else self.first_broken is None


def _links(status: PathStatus | None) -> tuple[PathLink, ...]:
    def state(link: Link) -> LinkState:
        if status is None:
            return LinkState.UNCHECKED
        return LinkState.BROKEN if link in status.failing else LinkState.HOLDS

    return tuple(PathLink(link, LINK_SUBJECT[link], state(link)) for link in Link)


def path_rows(
    declarations: Iterable[PathDeclaration], statuses: Mapping[str, PathStatus]
) -> tuple[PathRow, ...]:
    """Broken paths first, then never verified, then working; by name within each."""
    rows = []
    for d in declarations:
        status = statuses.get(d.name)
        rows.append(
            PathRow(
                name=d.name,
                role=d.path.role_arn,
                secret=d.path.secret_arn,
                key=d.path.key_arn,
                via=via(d.path.access),
                mode=d.mode.value,
                links=_links(status),
                first_broken=status.broken if status else None,
                reason=status.reason if status and status.broken else "",
                fix=status.fix if status and status.broken else "",
                since=status.since if status else None,
                checked_at=status.checked_at if status else None,
            )
        )
    order = {False: 0, None: 1, True: 2}
    return tuple(sorted(rows, key=lambda r: (order[r.works], r.name)))
