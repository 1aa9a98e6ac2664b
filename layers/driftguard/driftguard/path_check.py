"""Verify one declared access path against AWS now: the one check the CLI
(`driftguard verify-path`), the path events and the sweep all use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from driftguard import path_facts
from driftguard.arns import Arn
from driftguard.aws import AwsClients
from driftguard.kinds.base import error_code
from driftguard.path_hygiene import Hygiene, hygiene, is_node_role_trust, named_roles
from driftguard.path_model import Grant, PathDeclaration, PathFacts
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
    hygiene: tuple[Hygiene, ...] = ()  # risks that do not break the path

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
    found = hygiene(declaration, facts, node_roles(facts, clients))
    return PathVerdict(declaration, links, facts.key_grants, clock.now(), found)


def node_roles(facts: PathFacts, clients: AwsClients) -> frozenset[str]:
    """The roles the key's or secret's policy lets in that EC2 may assume (node roles),
    each read with GetRole in its account; roles outside the guarded accounts, and
    roles that no longer exist, are not looked at."""
    found = set()
    for role in named_roles(facts):
        arn = Arn.parse(role)
        if not clients.allows(arn.account):
            continue
        iam: Any = clients.in_account(arn.account, "iam")
        try:
            trust = iam.get_role(RoleName=arn.resource.rsplit("/", 1)[-1])["Role"]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                continue
            raise
        document = trust["AssumeRolePolicyDocument"]  # boto3 decodes it; a raw answer does not
        if isinstance(document, str):
            document = json.loads(unquote(document))
        if is_node_role_trust(document):
            found.add(role)
    return frozenset(found)


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
