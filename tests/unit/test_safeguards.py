"""driftguard's safeguards and its declared principals' trust: which record changes what,
the alerts (pure, as tables), and what the service reads, publishes and returns (fakes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from driftguard.config import Config
from driftguard.errors import InvalidEventError
from driftguard.events import CloudTrailDetail
from driftguard.kinds import registry
from driftguard.principals import compare_trust
from driftguard.safeguards import (
    ROLE_KIND,
    RULE_KIND,
    TRAIL_KIND,
    changed_safeguard,
    safeguard_alert,
)
from driftguard.service import Remediator
from driftguard.vocabulary import AlertType, Outcome, Severity
from tests.support.config import VALID_ENV
from tests.support.fakes import (
    SIGNATURES,
    START,
    TRUST,
    FakeClients,
    FakeClock,
    FakeIam,
    FakePolicies,
    FakePublisher,
    FakeRechecks,
    FakeStore,
    approved,
    declaration,
    in_sync_status,
)

ACCOUNT = "111111111111"
ROLE_NAME = "driftguard-remediation"
REMEDIATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
POD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/pod-role"
POD_ROLE_ID = "AROABBBBBBBBBBBBBBBBB"
KEY = f"arn:aws:fake:us-east-1:{ACCOUNT}:thing/key"
SECRET = f"arn:aws:fake:us-east-1:{ACCOUNT}:thing/secret"
MALLORY = f"arn:aws:sts::{ACCOUNT}:assumed-role/Developer/mallory"
VENDOR = {"AWS": "arn:aws:iam::444455556666:root"}


def detail(source: str, name: str, parameters: dict[str, Any], **extra: Any) -> CloudTrailDetail:
    return CloudTrailDetail.model_validate(
        {
            "eventVersion": "1.09",
            "eventSource": source,
            "eventName": name,
            "eventTime": "2026-12-01T09:00:00Z",
            "awsRegion": "eu-west-1",
            "recipientAccountId": ACCOUNT,
            "eventID": "e-1",
            "userIdentity": {"type": "AssumedRole", "arn": MALLORY},
            "requestParameters": parameters,
            **extra,
        }
    )


# --------------------------------------------------------------------------- which safeguard

CONSOLE = "https://eu-west-1.console.aws.amazon.com"


@pytest.mark.parametrize(
    ("source", "name", "parameters", "kind", "arn", "url"),
    [
        (
            "iam.amazonaws.com",
            "PutRolePolicy",
            {"roleName": ROLE_NAME, "policyName": "x"},
            ROLE_KIND,
            REMEDIATION_ROLE,
            "https://us-east-1.console.aws.amazon.com/iam/home#/roles/details/" + ROLE_NAME,
        ),
        (
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            {"roleName": "DRIFTGUARD-Remediation"},  # the same role: IAM ignores case
            ROLE_KIND,
            REMEDIATION_ROLE,
            "https://us-east-1.console.aws.amazon.com/iam/home#/roles/details/" + ROLE_NAME,
        ),
        (
            "events.amazonaws.com",
            "DisableRule",
            {"name": "driftguard-policy-events"},
            RULE_KIND,
            f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/driftguard-policy-events",
            f"{CONSOLE}/events/home?region=eu-west-1#/eventbus/default/rules/"
            "driftguard-policy-events",
        ),
        (
            "events.amazonaws.com",
            "RemoveTargets",
            {"rule": "driftguard-x", "eventBusName": "driftguard-hub", "ids": ["a"]},
            RULE_KIND,
            f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/driftguard-hub/driftguard-x",
            f"{CONSOLE}/events/home?region=eu-west-1#/eventbus/driftguard-hub/rules/driftguard-x",
        ),
        (
            "cloudtrail.amazonaws.com",
            "StopLogging",
            {"name": "arn:aws:cloudtrail:us-east-2:555566667777:trail/org-trail"},
            TRAIL_KIND,
            "arn:aws:cloudtrail:us-east-2:555566667777:trail/org-trail",
            "https://us-east-2.console.aws.amazon.com/cloudtrail/home?region=us-east-2#/trails/"
            "arn%3Aaws%3Acloudtrail%3Aus-east-2%3A555566667777%3Atrail%2Forg-trail",
        ),
        (
            "cloudtrail.amazonaws.com",
            "PutEventSelectors",
            {"trailName": "workload-trail", "eventSelectors": []},
            TRAIL_KIND,
            f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/workload-trail",
            f"{CONSOLE}/cloudtrail/home?region=eu-west-1#/trails/"
            f"arn%3Aaws%3Acloudtrail%3Aeu-west-1%3A{ACCOUNT}%3Atrail%2Fworkload-trail",
        ),
    ],
    ids=["role-policy", "role-trust-other-case", "rule", "rule-on-a-bus", "trail-arn", "trail"],
)
def test_each_safeguard_change_names_what_changed(
    source: str, name: str, parameters: dict[str, Any], kind: str, arn: str, url: str
) -> None:
    safeguard = changed_safeguard(detail(source, name, parameters), ROLE_NAME)
    assert safeguard is not None
    assert (safeguard.kind, safeguard.arn, safeguard.console_url) == (kind, arn, url)
    assert safeguard.meaning


@pytest.mark.parametrize(
    ("source", "name", "parameters"),
    [
        ("iam.amazonaws.com", "PutRolePolicy", {"roleName": "pod-role"}),
        ("iam.amazonaws.com", "PutRolePolicy", {}),
        ("iam.amazonaws.com", "TagRole", {"roleName": ROLE_NAME}),
        ("events.amazonaws.com", "DisableRule", {"name": "nightly-report"}),
        ("events.amazonaws.com", "EnableRule", {"name": "driftguard-policy-events"}),
        ("cloudtrail.amazonaws.com", "StartLogging", {"name": "org-trail"}),
        ("kms.amazonaws.com", "PutKeyPolicy", {"keyId": "k"}),
    ],
)
def test_other_calls_change_no_safeguard(
    source: str, name: str, parameters: dict[str, Any]
) -> None:
    assert changed_safeguard(detail(source, name, parameters), ROLE_NAME) is None


def test_a_safeguard_alert_is_critical_and_says_who_what_and_what_was_asked() -> None:
    event = detail(
        "iam.amazonaws.com",
        "AttachRolePolicy",
        {"roleName": ROLE_NAME, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
    )
    safeguard = changed_safeguard(event, ROLE_NAME)
    assert safeguard is not None
    alert = safeguard_alert(safeguard, event, START)
    assert (alert.type, alert.severity) == (AlertType.SAFEGUARD_CHANGED, Severity.CRITICAL)
    assert (alert.actor, alert.event_name, alert.role_arn) == (
        MALLORY,
        "AttachRolePolicy",
        REMEDIATION_ROLE,
    )
    assert REMEDIATION_ROLE in alert.title and "AttachRolePolicy by" in alert.summary
    (resource,) = alert.resources
    assert resource.reason == safeguard.meaning
    assert "policyArn: arn:aws:iam::aws:policy/AdministratorAccess" in resource.diff["summary"]


# --------------------------------------------------------------------------- trust


def trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


OIDC = TRUST["Statement"][0]
VENDOR_ASSUMES = {"Effect": "Allow", "Principal": VENDOR, "Action": "sts:AssumeRole"}


def service_account(sub: str) -> dict[str, Any]:
    return {**OIDC, "Condition": {"StringEquals": {"oidc.eks:sub": sub}}}


@pytest.mark.parametrize(
    ("approved_trust", "now", "severity", "line"),
    [
        (trust(OIDC), trust(OIDC), None, None),
        (trust(OIDC), json.dumps(TRUST, indent=4), None, None),  # the same, written otherwise
        (trust(OIDC), trust(OIDC, VENDOR_ASSUMES), Severity.CRITICAL, "+ principal"),
        (trust(OIDC, VENDOR_ASSUMES), trust(OIDC), Severity.HIGH, "- principal"),
        (trust(OIDC), "{not json", Severity.CRITICAL, None),
        (
            trust(service_account("system:serviceaccount:app:app")),
            trust(service_account("system:serviceaccount:other:other")),
            Severity.CRITICAL,
            "+ condition StringEquals oidc.eks:sub system:serviceaccount:other:other",
        ),
    ],
    ids=["equal", "reformatted", "widened", "narrowed", "unreadable", "another-subject"],
)
def test_a_trust_policy_is_compared_with_the_approved_one(
    approved_trust: str, now: str, severity: Severity | None, line: str | None
) -> None:
    change = compare_trust(approved_trust, now)
    if severity is None:
        assert change is None
        return
    assert change is not None and change.severity is severity
    if line is not None:
        assert any(changed.startswith(line) for changed in change.changes), change.changes


class World:
    """The service wired to fakes: pod-role named by a key and a secret, approved as is."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.store = FakeStore(self.clock)
        self.iam = FakeIam(roles={POD_ROLE: POD_ROLE_ID})
        self.publisher = FakePublisher()
        self.remediator = Remediator(
            Config.model_validate(VALID_ENV),
            FakeClients(self.iam),  # type: ignore[arg-type]
            self.store,  # type: ignore[arg-type]
            self.publisher,  # type: ignore[arg-type]
            FakeRechecks(),  # type: ignore[arg-type]
            signatures=SIGNATURES,
            clock=self.clock,
        )

    def declare(self) -> None:
        for arn in (KEY, SECRET):
            declared = declaration(arn, "{}", principals=(POD_ROLE,))
            self.store.declare(declared, in_sync_status(declared))
        self.store.put_trust(approved(POD_ROLE, POD_ROLE_ID))

    def new_trust(self, trust_policy: dict[str, Any]) -> list[Any]:
        self.iam.trusts[POD_ROLE] = trust_policy
        event = detail(
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            # The event's copy says nothing changed: only GetRole's answer counts.
            {"roleName": "pod-role", "policyDocument": json.dumps(TRUST)},
        )
        return self.remediator.on_trust_changed(event)


@pytest.fixture
def world() -> Iterator[World]:
    world = World()
    registry._KINDS[FakePolicies.name] = FakePolicies()
    try:
        yield world
    finally:
        del registry._KINDS[FakePolicies.name]


WIDENED = {**TRUST, "Statement": [*TRUST["Statement"], VENDOR_ASSUMES]}


def test_a_widened_trust_of_a_declared_principal_is_one_critical_alert_listing_what_names_it(
    world: World,
) -> None:
    world.declare()
    (result,) = world.new_trust(WIDENED)
    assert (result.outcome, result.arn) == (Outcome.DETECTED, POD_ROLE)
    (alert,) = world.publisher.alerts
    assert (alert.type, alert.severity) == (AlertType.PRINCIPAL_TRUST_CHANGED, Severity.CRITICAL)
    assert [r.arn for r in alert.resources] == [POD_ROLE, KEY, SECRET]
    assert [r.status for r in alert.resources[1:]] == ["in-sync", "in-sync"]
    assert "+ principal arn:aws:iam::444455556666:root" in alert.resources[0].diff["summary"]
    assert f"driftguard approve-principal {POD_ROLE}" in alert.next_steps
    assert alert.actor == MALLORY
    assert world.store.writes == []  # alerted, nothing written


def test_the_approved_trust_again_is_no_alert(world: World) -> None:
    world.declare()
    (result,) = world.new_trust(TRUST)
    assert result.outcome is Outcome.IGNORED and "approved" in result.reason
    assert world.publisher.alerts == []


def test_a_role_no_declared_policy_names_is_not_even_looked_up(world: World) -> None:
    (result,) = world.new_trust(WIDENED)
    assert result.outcome is Outcome.IGNORED and "no declared policy" in result.reason
    assert world.publisher.alerts == [] and world.iam.calls == []


def test_a_role_without_an_approved_identity_is_alerted(world: World) -> None:
    world.declare()
    del world.store.trusts[POD_ROLE]
    world.new_trust(TRUST)
    (alert,) = world.publisher.alerts
    assert alert.severity is Severity.HIGH
    assert "has no approved identity on record" in alert.resources[0].reason


def test_an_approved_identity_forged_to_match_the_new_trust_does_not_hide_it(
    world: World,
) -> None:
    """Whoever may write the table cannot approve their own trust policy: the record
    counts only when the declarer's signature verifies."""
    world.declare()
    forged = replace(
        approved(POD_ROLE, POD_ROLE_ID, WIDENED), signature=approved(POD_ROLE, "AROAX").signature
    )
    world.store.put_trust(forged)
    world.new_trust(WIDENED)
    (alert,) = world.publisher.alerts
    assert "cannot be trusted" in alert.resources[0].reason


def test_a_role_deleted_since_is_left_to_its_delete_role(world: World) -> None:
    world.declare()
    world.iam.roles.clear()
    (result,) = world.new_trust(WIDENED)
    assert result.outcome is Outcome.IGNORED and "no longer exists" in result.reason
    assert world.publisher.alerts == []


def test_a_trust_event_without_a_role_name_is_invalid(world: World) -> None:
    with pytest.raises(InvalidEventError, match="roleName"):
        world.remediator.on_trust_changed(detail("iam.amazonaws.com", "UpdateAssumeRolePolicy", {}))


def test_a_safeguard_change_is_published_once_and_touches_nothing(world: World) -> None:
    event = detail("events.amazonaws.com", "DeleteRule", {"name": "driftguard-iam-events"})
    (result,) = world.remediator.on_safeguard_changed(event)
    assert (result.outcome, result.kind) == (Outcome.DETECTED, RULE_KIND)
    (alert,) = world.publisher.alerts
    assert alert.type is AlertType.SAFEGUARD_CHANGED and alert.severity is Severity.CRITICAL
    assert world.iam.calls == [] and world.store.writes == []
    with pytest.raises(InvalidEventError, match="none of driftguard's safeguards"):
        world.remediator.on_safeguard_changed(
            detail("events.amazonaws.com", "DeleteRule", {"name": "nightly"})
        )
