"""One vocabulary: every mapping keyed by one of its enums names every member.

A new status, finding, outcome, alert type... that lacks a mapping anywhere (the
decision's, the metrics', the Slack layouts, the terminal and HTML styles) fails here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import ModuleType

import pytest

from driftguard import alerts, vocabulary
from driftguard.notify import blocks
from driftguard.vocabulary import (
    ALERT_SEVERITY,
    AUDIT_CATEGORY,
    FAILURE_ALERT,
    FAILURE_AUDIT,
    FINDING_SEVERITY,
    LEGACY_AUDIT_ACTIONS,
    LEGACY_STATUSES,
    OUTCOME_METRIC,
    STATUS_ALERT,
    STATUS_AUDIT,
    STATUS_OUTCOME,
    AlertType,
    AuditAction,
    Failure,
    Finding,
    Outcome,
    Severity,
    Status,
)
from driftguard_cli import report, views

# Every module that keeps a mapping keyed by a vocabulary enum.
MODULES: tuple[ModuleType, ...] = (vocabulary, alerts, blocks, views, report)
ENUMS: tuple[type[StrEnum], ...] = tuple(
    value
    for value in vars(vocabulary).values()
    if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
)


def enum_keyed_mappings() -> list[tuple[str, Mapping[object, object], type[StrEnum]]]:
    found = []
    for module in MODULES:
        for name, value in vars(module).items():
            if not isinstance(value, Mapping) or not value or name.startswith("LEGACY"):
                continue
            for enum in ENUMS:
                if all(isinstance(key, enum) for key in value):
                    found.append((f"{module.__name__}.{name}", value, enum))
    return found


def test_the_mappings_are_found() -> None:
    """The check below would pass vacuously if it found nothing."""
    names = {name for name, _, _ in enum_keyed_mappings()}
    assert {
        "driftguard.vocabulary.STATUS_OUTCOME",
        "driftguard.alerts.WORDING",
        "driftguard.notify.blocks.LAYOUTS",
        "driftguard_cli.views.STATUS_STYLES",
        "driftguard_cli.report.STATUS_COLOURS",
        "driftguard.vocabulary.LINK_SUBJECT",
    } <= names


@pytest.mark.parametrize(
    ("name", "mapping", "enum"),
    enum_keyed_mappings(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_member_has_a_mapping(
    name: str, mapping: Mapping[object, object], enum: type[StrEnum]
) -> None:
    missing = sorted(member.value for member in enum if member not in mapping)
    assert not missing, f"{name} has nothing for {enum.__name__} {missing}"


def test_mappings_point_at_members() -> None:
    assert set(STATUS_OUTCOME.values()) <= set(Outcome)
    assert set(STATUS_AUDIT.values()) | set(FAILURE_AUDIT.values()) <= set(AuditAction)
    targets = {v for v in STATUS_ALERT.values() if v} | set(FAILURE_ALERT.values())
    # RESTORED: a restore; DECLARATION_CHANGED: the declarations watcher;
    # PRINCIPAL_TRUST_CHANGED and SAFEGUARD_CHANGED: driftguard.safeguards, from a
    # CloudTrail call, never from a resource's status; PATH_*: driftguard.path_watch.
    raised_elsewhere = {
        AlertType.PATH_BROKEN,
        AlertType.PATH_HEALED,
        AlertType.KEY_REPLICATED,
        AlertType.KEY_GRANT_CREATED,
        AlertType.RESTORED,
        AlertType.DECLARATION_CHANGED,
        AlertType.PRINCIPAL_TRUST_CHANGED,
        AlertType.SAFEGUARD_CHANGED,
    }
    assert targets | raised_elsewhere == set(AlertType), "an alert type nothing raises"
    assert {v for v in ALERT_SEVERITY.values() if v} <= set(Severity)
    assert set(FINDING_SEVERITY.values()) <= set(Severity) - {Severity.NONE, Severity.INFO}
    assert set(AUDIT_CATEGORY) == set(AuditAction)
    assert {m for m in OUTCOME_METRIC.values() if m} == {
        "PolicyRestored",
        "DriftDetected",
        "PendingPrincipal",
        "OrphanedPrincipal",
        "Quarantined",
        "RestoreFailed",
        "Deferred",
    }


def test_every_failure_and_finding_has_its_place() -> None:
    assert set(FAILURE_AUDIT) == set(FAILURE_ALERT) == set(Failure)
    assert set(FINDING_SEVERITY) == set(Finding)


def test_legacy_values_are_not_current_ones() -> None:
    assert not set(LEGACY_STATUSES) & {s.value for s in Status}
    assert not set(LEGACY_AUDIT_ACTIONS) & {a.value for a in AuditAction}


def test_rankings_are_the_declaration_order() -> None:
    assert [s.rank for s in Severity] == list(range(len(Severity)))
    assert max(AlertType, key=lambda a: a.rank) is AlertType.DECLARATION_REFUSED
    assert Severity.CRITICAL.rank > Severity.HIGH.rank > Severity.MEDIUM.rank
