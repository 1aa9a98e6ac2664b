"""Approved role identities: what `declare`/`adopt` record for the roles a policy names,
and what `approve-principal` records for a role recreated with another trust policy.

A record is the role's unique ID and trust policy as GetRole shows them, signed like a
declaration (only the declarer role can): the functions give a recreated role the
declared access only when it is that identity, or has that trust policy.
"""

from __future__ import annotations

from collections.abc import Iterable

from driftguard.arns import role_key
from driftguard.model import TrustRecord
from driftguard.principals import PrincipalLookup
from driftguard.retry import Clock
from driftguard.signing import KmsSignatures
from driftguard.state import StateStore


def record_identities(
    lookup: PrincipalLookup,
    store: StateStore,
    signatures: KmsSignatures,
    principals: Iterable[str],
    *,
    by: str,
    clock: Clock,
) -> list[TrustRecord]:
    """Record each role that exists now as approved (roles GetRole does not show are
    left: a role declared before it exists is approved with `approve-principal`)."""
    recorded = []
    for principal in sorted(p for p in principals if ":role/" in p):
        role = lookup.role(principal)
        if role is None:
            continue
        record = TrustRecord(
            principal_arn=role_key(principal),
            unique_id=role.unique_id,
            policy=role.trust,
            recorded_by=by,
            recorded_at=clock.now(),
        )
        signed = signatures.sign(record)
        store.put_trust(signed)
        recorded.append(signed)
    return recorded
