"""Declared access paths and their verification, link by link (pure, no I/O).

A path is how a pod reaches its secret: the workload role (assumed through IRSA or EKS
Pod Identity), the secret, and the key that encrypts it, often in three accounts. An
I/O layer gathers `PathFacts`; `verify` checks every link against them, in chain
order, and each broken link carries the concrete fix. The model is in
``driftguard.path_model``, the rules in ``driftguard.path_links``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from driftguard import path_links
from driftguard.path_model import AccessPath, Irsa, PathFacts, PodIdentity
from driftguard.vocabulary import Link

__all__ = [
    "KEY_ENABLED",
    "AccessPath",
    "Irsa",
    "LinkResult",
    "PathFacts",
    "PodIdentity",
    "first_broken",
    "verify",
]

KEY_ENABLED = path_links.KEY_ENABLED


@dataclass(frozen=True)
class LinkResult:
    link: Link
    ok: bool
    reason: str  # what holds, or what is wrong
    fix: str = ""  # the statement to add or the setting to correct ("" when ok)


def verify(path: AccessPath, facts: PathFacts) -> tuple[LinkResult, ...]:
    """Every link's state, in chain order."""
    return tuple(
        LinkResult(link, check.ok, check.reason, "" if check.ok else check.fix)
        for link, check in path_links.check_all(path, facts)
    )


def first_broken(results: Iterable[LinkResult]) -> LinkResult | None:
    """The broken link nearest the pod: the one to fix first (None: the path works)."""
    return next((result for result in results if not result.ok), None)
