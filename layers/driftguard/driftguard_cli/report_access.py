"""Per-account coverage and the access chains of declared roles (pure).

Coverage compares what is declared (the status records) with what exists (the
sweep's inventory, per account, region and kind); where nothing was counted it says
so rather than guess. An access chain follows a workload role through the declared
policies only: the secrets whose declared policy grants it, and the keys whose
declared policy grants it, each with its resource's status. Nothing here calls AWS:
a chain says what the declarations intend, not what IAM allows today.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from driftguard.arns import role_account, role_key
from driftguard.errors import DriftguardError
from driftguard.kinds.kms_key import KmsKey
from driftguard.kinds.secret import Secret
from driftguard.model import Declared, Inventory, StatusRecord
from driftguard.policy import Policy
from driftguard.vocabulary import Status

# --------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class KindCoverage:
    region: str
    kind: str
    declared: int
    existing: int | None  # None: the sweep has not counted this kind here yet
    counted_at: datetime | None

    @property
    def percent(self) -> int | None:
        """Declared out of existing; None when that is no fraction (nothing counted,
        nothing exists, or more declared than the last count found)."""
        if not self.existing or self.declared > self.existing:
            return None
        return int(100 * self.declared / self.existing)


@dataclass(frozen=True)
class AccountCoverage:
    account: str
    declared: int
    by_kind: tuple[tuple[str, int], ...]  # declared resources per kind, by kind
    by_status: tuple[tuple[Status, int], ...]  # per status, in Status order, none zero
    rows: tuple[KindCoverage, ...]  # by region, kind

    @property
    def counted(self) -> bool:
        return any(row.existing is not None for row in self.rows)


def _rows(
    declared: Counter[tuple[str, str]], counts: Sequence[Inventory]
) -> tuple[KindCoverage, ...]:
    existing: Counter[tuple[str, str]] = Counter()
    counted_at: dict[tuple[str, str], datetime] = {}
    for c in counts:
        place = (c.region, c.kind)
        existing[place] += c.existing
        counted_at[place] = min(c.counted_at, counted_at.get(place, c.counted_at))
    return tuple(
        KindCoverage(
            region=region,
            kind=kind,
            declared=declared[(region, kind)],
            existing=existing[(region, kind)] if (region, kind) in counted_at else None,
            counted_at=counted_at.get((region, kind)),
        )
        for region, kind in sorted(set(declared) | set(counted_at))
    )


def coverage(
    records: Iterable[StatusRecord], inventory: Iterable[Inventory]
) -> tuple[AccountCoverage, ...]:
    """Every account with a declared resource or a count, by account."""
    by_account: dict[str, list[StatusRecord]] = defaultdict(list)
    for r in records:
        by_account[r.account].append(r)
    counts: dict[str, list[Inventory]] = defaultdict(list)
    for c in inventory:
        counts[c.account].append(c)
    accounts = []
    for account in sorted(set(by_account) | set(counts)):
        mine = by_account.get(account, [])
        kinds = Counter(r.kind for r in mine)
        statuses = Counter(r.status for r in mine)
        accounts.append(
            AccountCoverage(
                account=account,
                declared=len(mine),
                by_kind=tuple(sorted(kinds.items())),
                by_status=tuple((s, statuses[s]) for s in Status if statuses[s]),
                rows=_rows(Counter((r.region, r.kind) for r in mine), counts.get(account, [])),
            )
        )
    return tuple(accounts)


# --------------------------------------------------------------------------- access chains


@dataclass(frozen=True)
class ChainLink:
    arn: str
    account: str
    status: Status | None  # None: declared, no status recorded yet


@dataclass(frozen=True)
class AccessChain:
    """A workload role -> the secrets (data account) -> the keys (security account)
    whose declared policies grant it."""

    role: str  # its ARN without a path (driftguard.arns.role_key)
    secrets: tuple[ChainLink, ...]
    keys: tuple[ChainLink, ...]

    @property
    def account(self) -> str:
        return role_account(self.role) or ""

    @property
    def complete(self) -> bool:
        return bool(self.secrets and self.keys)


def granted_roles(policy: Policy) -> frozenset[str]:
    """Roles an Allow statement names (a Deny naming a role grants it nothing), by
    role_key; unique IDs, accounts and services are not roles."""
    return frozenset(
        role_key(p.value)
        for s in policy.normalized_statements()
        if s.effect == "Allow"
        for p in s.principals or ()
        if p.kind == "AWS" and role_account(p.value) is not None
    )


def access_chains(
    declarations: Iterable[Declared], statuses: Mapping[str, Status]
) -> tuple[AccessChain, ...]:
    """One chain per role a declared secret or key policy grants, by role. A role with
    no secret or no key is a chain with that side empty (not complete): a review
    wants to see it too. `statuses` maps a resource ARN to its status now."""
    links: dict[str, dict[str, list[ChainLink]]] = defaultdict(lambda: defaultdict(list))
    for d in declarations:
        if d.kind not in (Secret.name, KmsKey.name):
            continue
        try:
            roles = granted_roles(Policy.parse(d.policy))
        except DriftguardError:  # an unusable declaration is an error on its resource
            continue
        for role in roles:
            links[role][d.kind].append(ChainLink(d.arn, d.account, statuses.get(d.arn)))
    return tuple(
        AccessChain(
            role=role,
            secrets=tuple(sorted(sides[Secret.name], key=lambda link: link.arn)),
            keys=tuple(sorted(sides[KmsKey.name], key=lambda link: link.arn)),
        )
        for role, sides in sorted(links.items())
    )
