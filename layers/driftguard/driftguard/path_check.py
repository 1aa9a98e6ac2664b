"""Verify one declared access path against AWS now: the one check the CLI
(`driftguard verify-path`), the path events and the sweep all use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from driftguard import path_facts
from driftguard.aws import AwsClients
from driftguard.path_model import Grant, PathDeclaration
from driftguard.path_store import PathStatus
from driftguard.paths import LinkResult, first_broken, verify
from driftguard.retry import Clock
from driftguard.signing import Verifier

__all__ = ["PathVerdict", "check", "status_of"]


@dataclass(frozen=True)
class PathVerdict:
    declaration: PathDeclaration
    links: tuple[LinkResult, ...]  # every link, in chain order
    grants: tuple[Grant, ...]  # who else the key's grants let in
    checked_at: datetime

    @property
    def broken(self) -> LinkResult | None:
        return first_broken(self.links)


def check(
    declaration: PathDeclaration, *, clients: AwsClients, verifier: Verifier, clock: Clock
) -> PathVerdict:
    """SigningError when the declaration's signature does not verify: a path nobody
    declared is never checked, let alone fixed."""
    verifier.verify(declaration)
    facts = path_facts.gather(declaration.path, clients)
    links = verify(declaration.path, facts)
    return PathVerdict(declaration, links, facts.key_grants, clock.now())


def status_of(verdict: PathVerdict, previous: PathStatus | None) -> PathStatus:
    """The verdict as it is stored; `since` moves only when the broken link changes."""
    broken = verdict.broken
    link = broken.link if broken else None
    unchanged = previous is not None and previous.broken == link
    return PathStatus(
        name=verdict.declaration.name,
        broken=link,
        reason=broken.reason if broken else "every link holds",
        fix=broken.fix if broken else "",
        version=verdict.declaration.version,
        since=previous.since if unchanged and previous else verdict.checked_at,
        checked_at=verdict.checked_at,
        failing=tuple(result.link for result in verdict.links if not result.ok),
    )
