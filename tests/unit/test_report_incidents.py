"""The report's incidents, time to restore and "open since", as tables (pure)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from driftguard.model import AuditEntry
from driftguard.vocabulary import AuditAction, Outcome, Severity, Status
from driftguard_cli.report_incidents import (
    Incident,
    incidents_of,
    newest_incidents,
    open_since,
    restore_times,
)
from tests.unit.test_render_report import KEY, NOW, SECRET, record

A = AuditAction
H = timedelta(hours=1)


def at(hours_ago: float, action: AuditAction, status: str = "", **kw: Any) -> AuditEntry:
    """An entry of KEY's history; its status is the one its action means by default."""
    default = "in-sync" if action in (A.DECLARED, A.RESTORED, A.RESOLVED) else action.value
    status = status or {A.RESTORE_FAILED: "error", A.OBSERVED_UNDECLARED: "undeclared"}.get(
        action, default
    )
    return AuditEntry(KEY, NOW - hours_ago * H, action, status, **kw)


# (history, [(began hours ago, ended hours ago or None, outcome, took hours)])
INCIDENTS = [
    pytest.param([at(9, A.DECLARED)], [], id="declared, nothing happened"),
    pytest.param(
        [at(9, A.DECLARED), at(5, A.RESTORED)],
        [(5, 5, Outcome.REMEDIATED, 0)],
        id="seen and restored in one check",
    ),
    pytest.param(
        [at(5, A.ORPHANED_PRINCIPAL), at(3, A.RESTORED)],
        [(5, 3, Outcome.REMEDIATED, 2)],
        id="orphaned until the role came back",
    ),
    pytest.param([at(4, A.DRIFTED)], [(4, None, Outcome.DETECTED, 4)], id="detect mode, open"),
    pytest.param(
        [at(4, A.DRIFTED), at(1, A.RESOLVED)],
        [(4, 1, Outcome.DETECTED, 3)],
        id="detect mode, fixed by someone",
    ),
    pytest.param(
        [at(6, A.RESTORE_FAILED), at(2, A.RESTORED)],
        [(6, 2, Outcome.REMEDIATED, 4)],
        id="a failed restore, then a restore",
    ),
    pytest.param([at(2, A.ERROR)], [(2, None, Outcome.FAILED, 2)], id="failed, open"),
    pytest.param(
        [at(8, A.ORPHANED_PRINCIPAL), at(7, A.PENDING_PRINCIPAL), at(6, A.RESTORED)],
        [(8, 6, Outcome.REMEDIATED, 2)],
        id="one run of problem states is one incident",
    ),
    pytest.param(
        [at(2, A.ORPHANED_PRINCIPAL), at(8, A.ORPHANED_PRINCIPAL), at(6, A.RESTORED)],
        [(8, 6, Outcome.REMEDIATED, 2), (2, None, Outcome.ORPHANED, 2)],
        id="two incidents (any order in), the last open",
    ),
    pytest.param(
        [at(3, A.DRIFTED), at(1, A.RESOLVED, "remediated")],
        [(3, 1, Outcome.DETECTED, 2)],
        id="a legacy in-sync status ends it",
    ),
    pytest.param(
        [at(3, A.DRIFTED), at(2, A.OBSERVED_UNDECLARED)],
        [(3, None, Outcome.DETECTED, 3)],
        id="an undeclared observation ends nothing",
    ),
    pytest.param(
        [at(5, A.QUARANTINED), at(1, A.DECLARED)],
        [(5, 1, Outcome.QUARANTINED, 4)],
        id="a new declaration in sync ends it",
    ),
]


def hours_ago(incident: Incident) -> tuple[float, float | None, Outcome, float]:
    ended = (NOW - incident.ended_at) / H if incident.ended_at else None
    return ((NOW - incident.started_at) / H, ended, incident.outcome, incident.duration / H)


@pytest.mark.parametrize(("history", "expected"), INCIDENTS)
def test_incidents_pair_drift_with_its_restore(
    history: list[AuditEntry], expected: list[tuple[float, float | None, Outcome, float]]
) -> None:
    found = incidents_of(history, now=NOW)
    assert [hours_ago(i) for i in found] == expected
    assert [i.is_open for i in found] == [e[1] is None for e in expected]


def test_an_incident_says_who_changed_what_and_what_it_found() -> None:
    diff = {"summary": ["+ principal arn:aws:iam::444455556666:root", "+ grant x", "- action y"]}
    (incident,) = incidents_of(
        [
            at(
                5,
                A.RESTORE_FAILED,
                actor="mallory",
                trigger="PutKeyPolicy by mallory",
                before_digest="aaa",
                after_digest="aaa",
                diff=diff,
                findings=("narrowed",),
            ),
            at(
                4,
                A.ORPHANED_PRINCIPAL,
                actor="platform",
                findings=("orphaned-principal", "widened"),
                after_digest="bbb",
            ),
            at(3, A.RESTORED, trigger="CreateRole by platform", after_digest="ccc"),
        ],
        now=NOW,
    )
    assert incident.actor == "mallory" and incident.trigger == "PutKeyPolicy by mallory"
    assert incident.ended_by == "CreateRole by platform"
    assert incident.findings == ("narrowed", "orphaned-principal", "widened")
    assert incident.severity is Severity.CRITICAL  # widened later, not only narrowed
    # The grant line only when nothing else says what changed (alerts.readable_changes).
    assert incident.changes == ("+ principal arn:aws:iam::444455556666:root", "- action y")
    assert (incident.before_digest, incident.after_digest) == ("aaa", "ccc")
    assert (incident.failed_restores, incident.entries) == (1, 3)


def restored(began: float, took: float) -> Incident:
    (incident,) = incidents_of(
        [at(began, A.ORPHANED_PRINCIPAL), at(began - took, A.RESTORED)], now=NOW
    )
    return incident


def still_open(began: float, action: AuditAction = A.DRIFTED) -> Incident:
    (incident,) = incidents_of([at(began, action)], now=NOW)
    return incident


def resolved(began: float, took: float) -> Incident:
    (incident,) = incidents_of([at(began, A.DRIFTED), at(began - took, A.RESOLVED)], now=NOW)
    return incident


# (incidents, restored, median hours, worst hours, still open, longest open hours)
RESTORE_TIMES = [
    pytest.param([], 0, None, None, 0, None, id="nothing happened"),
    pytest.param([restored(5, 2)], 1, 2, 2, 0, None, id="one restore"),
    pytest.param(
        [restored(9, 1), restored(8, 5), restored(3, 2)], 3, 2, 5, 0, None, id="odd: the middle"
    ),
    pytest.param(
        [restored(9, 1), restored(8, 4), restored(3, 2), restored(2, 0)],
        4,
        1.5,
        4,
        0,
        None,
        id="even: between the two middle ones",
    ),
    pytest.param(
        [restored(30 * 24, 2), restored(4, 1)],
        1,
        1,
        1,
        0,
        None,
        id="a restore before the window is left out",
    ),
    pytest.param(
        [restored(5, 1), still_open(7), still_open(2, A.ERROR), resolved(6, 5)],
        1,
        1,
        1,
        2,
        7,
        id="open ones are counted apart, no restore is not a restore",
    ),
]


@pytest.mark.parametrize(
    ("incidents", "count", "median", "worst", "open_", "longest"), RESTORE_TIMES
)
def test_time_to_restore_median_and_worst(
    incidents: list[Incident],
    count: int,
    median: float | None,
    worst: float | None,
    open_: int,
    longest: float | None,
) -> None:
    times = restore_times(incidents, since=NOW - timedelta(days=29))

    def hours(delta: timedelta | None) -> float | None:
        return None if delta is None else delta / H

    assert (times.restored, hours(times.median), hours(times.worst)) == (count, median, worst)
    assert (times.still_open, hours(times.longest_open)) == (open_, longest)


# (status now, history, updated hours ago, open since hours ago or None)
OPEN_SINCE = [
    pytest.param(Status.IN_SYNC, [at(3, A.DRIFTED), at(1, A.RESTORED)], 1, None, id="in sync"),
    pytest.param(
        Status.ORPHANED_PRINCIPAL,
        [
            at(9, A.RESTORED),
            at(6, A.ORPHANED_PRINCIPAL),
            at(2, A.PENDING_PRINCIPAL),
            at(1, A.ORPHANED_PRINCIPAL),
        ],
        1,
        6,
        id="the first entry of the current run of problems",
    ),
    pytest.param(
        Status.DRIFTED, [at(9, A.DRIFTED), at(8, A.RESOLVED)], 3, 3, id="history says otherwise"
    ),
    pytest.param(Status.ERROR, [], 4, 4, id="no history: updated_at"),
]


@pytest.mark.parametrize(("status", "history", "updated", "expected"), OPEN_SINCE)
def test_open_since(
    status: Status, history: list[AuditEntry], updated: float, expected: float | None
) -> None:
    rec = record(KEY, status, updated_at=NOW - updated * H)
    since = open_since(rec, incidents_of(history, now=NOW), now=NOW)
    assert (None if since is None else (NOW - since) / H) == expected


def test_the_incident_list_is_newest_first_bounded_and_says_how_many_are_left_out() -> None:
    old = restored(40 * 24, 1)  # ended before the window
    lingering = still_open(50 * 24)  # began before it, still open: shown
    recent = [restored(h, 0.5) for h in (9, 7, 5, 3)]
    shown, omitted = newest_incidents(
        [old, *recent, lingering], since=NOW - timedelta(days=30), limit=3
    )
    assert [(NOW - i.started_at) / H for i in shown] == [3, 5, 7]
    assert omitted == 2  # the one at 9 hours and the lingering one
    everything, none_left = newest_incidents([old, *recent, lingering], since=NOW, limit=50)
    assert everything == (lingering,) and none_left == 0
    assert newest_incidents([], since=NOW, limit=5) == ((), 0)


def test_incidents_of_another_resource_keep_their_arn() -> None:
    entry = AuditEntry(SECRET, NOW - H, A.ORPHANED_PRINCIPAL, "orphaned-principal")
    (incident,) = incidents_of([entry], now=NOW)
    assert incident.arn == SECRET
