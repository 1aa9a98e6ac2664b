"""Access path declarations and verdicts in the sandbox's state table: a declaration
reads back as written, two declarers at once cannot both win, and `record` answers
True exactly once per change of the first broken link, even when checks race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from driftguard.errors import DeclarationError
from driftguard.model import AuditEntry
from driftguard.path_model import AccessPath, Irsa, PathDeclaration, PodIdentity
from driftguard.path_store import PathStatus, PathStore, audit_arn
from driftguard.state import StateStore
from driftguard.vocabulary import AuditAction, Link, Mode

MOMENT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
PROVIDER = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"
CLUSTER = "arn:aws:eks:us-east-1:111111111111:cluster/prod"
PATH = AccessPath(
    "arn:aws:iam::111111111111:role/pod-role",
    "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf",
    "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    Irsa(PROVIDER, "payments", "app"),
)


def declaration(version: int = 1, **changes: object) -> PathDeclaration:
    base = PathDeclaration(
        name="payments/testsecret",
        path=PATH,
        mode=Mode.ENFORCE,
        version=version,
        declared_by="arn:aws:sts::333333333333:assumed-role/SecurityTeam/you",
        declared_at=MOMENT,
        signature="c2lnbmVk",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def audit(name: str, at: datetime = MOMENT) -> AuditEntry:
    return AuditEntry(arn=audit_arn(name), at=at, action=AuditAction.DECLARED, status="declared")


def verdict(broken: Link | None, at: datetime = MOMENT) -> PathStatus:
    return PathStatus(
        name="payments/testsecret",
        broken=broken,
        reason="why",
        fix="" if broken is None else "how",
        version=1,
        since=at,
        checked_at=at,
        failing=() if broken is None else (broken,),
    )


def test_a_declaration_reads_back_as_written_with_its_history(store: StateStore) -> None:
    paths = PathStore(store)
    irsa = declaration(boundary_arn="arn:aws:iam::111111111111:policy/workload-boundary")
    pod = declaration(
        name="orders/db",
        path=replace(
            PATH,
            access=PodIdentity("arn:aws:eks:us-east-1:111111111111:cluster/prod", "orders", "api"),
        ),
    )
    paths.put(irsa, audit(irsa.name))
    paths.put(pod, audit(pod.name))

    assert paths.get(irsa.name) == irsa
    assert paths.get("nope") is None
    assert sorted(paths.declarations(), key=lambda d: d.name) == [pod, irsa]
    assert [e.action for e in store.history(audit_arn(irsa.name))] == [AuditAction.DECLARED]


def test_two_declarers_at_once_cannot_both_win(store: StateStore) -> None:
    paths = PathStore(store)
    paths.put(declaration(), audit("payments/testsecret"))
    with pytest.raises(DeclarationError, match="concurrently"):
        paths.put(declaration(), audit("payments/testsecret"))  # version 1 again
    paths.put(declaration(2, mode=Mode.DETECT), audit("payments/testsecret"))
    with pytest.raises(DeclarationError, match="concurrently"):
        paths.put(declaration(2, mode=Mode.ENFORCE), audit("payments/testsecret"))
    assert paths.get("payments/testsecret") == declaration(2, mode=Mode.DETECT)


def test_removal_holds_only_for_the_version_that_was_read(store: StateStore) -> None:
    paths = PathStore(store)
    paths.put(declaration(), audit("payments/testsecret"))
    paths.put(declaration(2), audit("payments/testsecret"))
    with pytest.raises(DeclarationError, match="changed since"):
        paths.delete(declaration(1), audit("payments/testsecret"))
    paths.record(verdict(Link.KEY_STATE))
    paths.delete(declaration(2), audit("payments/testsecret"))
    assert paths.get("payments/testsecret") is None
    assert paths.status("payments/testsecret") is None


def test_record_says_true_once_per_change_of_the_first_broken_link(store: StateStore) -> None:
    paths = PathStore(store)
    hour = timedelta(hours=1)
    steps = [
        (None, False),  # works from its first check: nothing to say
        (None, False),
        (Link.KEY_STATE, True),  # breaks
        (Link.KEY_STATE, False),  # still broken there
        (Link.TRUST, True),  # broken somewhere else now
        (None, True),  # heals
        (None, False),
    ]
    answers = [paths.record(verdict(link, MOMENT + i * hour)) for i, (link, _) in enumerate(steps)]
    assert answers == [changed for _, changed in steps]
    last = paths.status("payments/testsecret")
    assert last is not None and last.ok and last.checked_at == MOMENT + 6 * hour
    assert paths.statuses() == {"payments/testsecret": last}


def test_racing_checks_of_the_same_break_alert_once(store: StateStore) -> None:
    paths = PathStore(store)
    paths.record(verdict(None))
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: paths.record(verdict(Link.KEY_POLICY)), range(8)))
    assert answers.count(True) == 1
    stored = paths.status("payments/testsecret")
    assert stored is not None and stored.broken is Link.KEY_POLICY
    assert stored.failing == (Link.KEY_POLICY,)
