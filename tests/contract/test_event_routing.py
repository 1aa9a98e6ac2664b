"""template.yaml's EventBridge rules and the sample events in events/ agree.

The table is built from both sides, so neither can drift from the other:
- events/<FunctionLogicalId>/*.json reach exactly that function (scheduled
  functions have no pattern: they must have a schedule instead);
- events/ignored/*.json reach no function; events/invalid/*.json reach exactly
  one (which must then reject them cleanly: tests/functional/test_events_files.py).

Matching uses moto's real EventBridge matcher, the one the sandbox routes with.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from moto.events.models import EventPattern

from driftguard.aws import SESSION_NAME
from driftguard.events import parse_cloudtrail
from driftguard.safeguards import changed_safeguard
from driftguard_sandbox.template import FunctionSpec, ResolveContext, RuleSpec

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
IGNORED, INVALID = "ignored", "invalid"
POLICY_FUNCTION = "PolicyEventsFunction"
IAM_FUNCTION = "IamEventsFunction"

Event = dict[str, Any]


def json_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def file_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def load(path: Path) -> Event:
    event = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(event, dict), f"{file_id(path)} is not a JSON object"
    return event


FUNCTION_FOLDERS = sorted(
    p for p in EVENTS.iterdir() if p.is_dir() and p.name not in (IGNORED, INVALID)
)
ROUTED_FILES = [f for folder in FUNCTION_FOLDERS for f in json_files(folder)]
IGNORED_FILES = json_files(EVENTS / IGNORED)
INVALID_FILES = json_files(EVENTS / INVALID)
POLICY_FILES = json_files(EVENTS / POLICY_FUNCTION)
IAM_FILES = json_files(EVENTS / IAM_FUNCTION)
# The role the template's defaults name (the `context` fixture resolves the same).
REMEDIATION_ROLE = "driftguard-remediation"


def is_safeguard(path: Path) -> bool:
    """A change to driftguard's remediation role, a forwarding rule or a trail."""
    return changed_safeguard(parse_cloudtrail(load(path)), REMEDIATION_ROLE) is not None


SAFEGUARD_FILES = [path for path in IAM_FILES if is_safeguard(path)]
ROLE_FILES = [path for path in IAM_FILES if not is_safeguard(path)]


@dataclass(frozen=True)
class Route:
    function: str
    rule: RuleSpec
    pattern: EventPattern


@pytest.fixture(scope="module")
def routes(specs: dict[str, FunctionSpec]) -> list[Route]:
    return [
        Route(spec.logical_id, rule, EventPattern.load(json.dumps(rule.pattern)))
        for spec in specs.values()
        for rule in spec.event_rules
    ]


def matching(routes: list[Route], event: Event) -> list[Route]:
    return [route for route in routes if route.pattern.matches_event(cast(Any, event))]


def functions_reached(routes: list[Route], event: Event) -> set[str]:
    return {route.function for route in matching(routes, event)}


def remediation_role_name(context: ResolveContext) -> str:
    return str(context.parameters["RemediationRoleName"])


# --------------------------------------------------------------------------- layout


def test_events_folder_has_the_expected_layout() -> None:
    assert not json_files(EVENTS), "event files directly under events/ are never tested"
    assert IGNORED_FILES, "events/ignored/ has no event"
    assert INVALID_FILES, "events/invalid/ has no event"
    empty = [folder.name for folder in FUNCTION_FOLDERS if not json_files(folder)]
    assert not empty, f"event folders without events: {empty}"


def test_every_event_folder_names_a_function(specs: dict[str, FunctionSpec]) -> None:
    unknown = sorted(folder.name for folder in FUNCTION_FOLDERS if folder.name not in specs)
    assert not unknown, f"events/ folders that are not function logical ids: {unknown}"


def test_every_function_with_rules_or_a_schedule_has_an_event_file(
    specs: dict[str, FunctionSpec],
) -> None:
    folders = {folder.name for folder in FUNCTION_FOLDERS if json_files(folder)}
    without = sorted(
        logical_id
        for logical_id, spec in specs.items()
        if (spec.event_rules or spec.schedules) and logical_id not in folders
    )
    assert not without, f"functions with no events/<FunctionLogicalId>/*.json: {without}"


# --------------------------------------------------------------------------- routing


@pytest.mark.parametrize("path", ROUTED_FILES, ids=file_id)
def test_function_event_reaches_exactly_its_function(
    path: Path, specs: dict[str, FunctionSpec], routes: list[Route]
) -> None:
    function = path.parent.name
    event = load(path)
    spec = specs.get(function)
    assert spec is not None, f"{function} is not a function in template.yaml"
    reached = functions_reached(routes, event)
    if not spec.event_rules:
        # A scheduled function is invoked by its schedule, not by a pattern.
        assert spec.schedules, f"{function} has neither EventBridge rules nor a schedule"
        assert reached == set(), f"{file_id(path)} would also reach {sorted(reached)}"
        return
    own = [r.rule.name for r in matching(routes, event) if r.function == function]
    assert own, f"{file_id(path)} matches no rule of {function}"
    assert reached == {function}, f"{file_id(path)} reaches {sorted(reached)}"


@pytest.mark.parametrize("path", IGNORED_FILES, ids=file_id)
def test_ignored_event_reaches_no_function(path: Path, routes: list[Route]) -> None:
    matched = [(r.function, r.rule.name) for r in matching(routes, load(path))]
    assert matched == [], f"{file_id(path)} matches {matched}"


@pytest.mark.parametrize("path", INVALID_FILES, ids=file_id)
def test_invalid_event_reaches_exactly_one_function(path: Path, routes: list[Route]) -> None:
    reached = functions_reached(routes, load(path))
    assert len(reached) == 1, f"{file_id(path)} reaches {sorted(reached)}"


# --------------------------------------------------------------------------- patterns


def test_every_rule_excludes_failed_calls(specs: dict[str, FunctionSpec]) -> None:
    missing = [
        f"{spec.logical_id}.{rule.name}"
        for spec in specs.values()
        for rule in spec.event_rules
        if (rule.pattern.get("detail") or {}).get("errorCode") != [{"exists": False}]
    ]
    assert not missing, f"rules without detail.errorCode [{{exists: false}}]: {missing}"


@pytest.mark.parametrize("path", ROUTED_FILES, ids=file_id)
def test_the_same_call_failed_reaches_nothing(path: Path, routes: list[Route]) -> None:
    failed = copy.deepcopy(load(path))
    failed.setdefault("detail", {})["errorCode"] = "AccessDenied"
    failed["detail"]["errorMessage"] = "User is not authorized to perform this action"
    matched = [(r.function, r.rule.name) for r in matching(routes, failed)]
    assert matched == [], f"{file_id(path)} with an errorCode matches {matched}"


def test_hub_bus_and_default_bus_rules_are_twins(specs: dict[str, FunctionSpec]) -> None:
    """Member accounts reach the hub bus, the hub account its default bus: same rules."""

    def on(bus: str) -> Counter[tuple[str, str]]:
        return Counter(
            (spec.logical_id, json.dumps(rule.pattern, sort_keys=True))
            for spec in specs.values()
            for rule in spec.event_rules
            if rule.bus == bus
        )

    hub, default = on("hub"), on("default")
    assert hub, "no rule on the hub bus"
    only_hub = sorted(fn for fn, _ in (hub - default).elements())
    only_default = sorted(fn for fn, _ in (default - hub).elements())
    assert not only_hub, f"hub-bus rules without a default-bus twin: {only_hub}"
    assert not only_default, f"default-bus rules without a hub-bus twin: {only_default}"


# --------------------------------------------------------------------------- identities


def with_identity(event: Event, identity: dict[str, Any]) -> Event:
    copied = copy.deepcopy(event)
    copied["detail"]["userIdentity"] = identity
    return copied


def remediation_identity(account: str, role: str, session: str = SESSION_NAME) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"AROAREMEDIATION00001:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLEKEY123456",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAREMEDIATION00001",
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-11-27T08:55:02Z", "mfaAuthenticated": "false"},
        },
    }


def person_identities(account: str, remediation_role: str) -> dict[str, dict[str, Any]]:
    lookalike = f"{remediation_role}-breakglass"
    return {
        "assumed-role": remediation_identity(account, "SecurityAdmin")
        | {"principalId": "AROASECURITYADMIN001:alice"},
        # A role whose name only starts like the remediation role is a person, not driftguard.
        "lookalike-role": remediation_identity(account, lookalike),
        # Someone else who gets to assume the remediation role is not driftguard either.
        "remediation-role-other-session": remediation_identity(
            account, remediation_role, "mallory"
        ),
        "iam-user": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEUSER00001",
            "arn": f"arn:aws:iam::{account}:user/bob",
            "accountId": account,
            "accessKeyId": "AKIAEXAMPLEKEY123456",
            "userName": "bob",
            "sessionContext": {
                "sessionIssuer": {},
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-11-27T08:55:02Z", "mfaAuthenticated": "true"},
            },
        },
        "root": {
            "type": "Root",
            "principalId": account,
            "arn": f"arn:aws:iam::{account}:root",
            "accountId": account,
            "accessKeyId": "ASIAEXAMPLEKEY123456",
        },
    }


def test_policy_event_files_exist() -> None:
    assert POLICY_FILES, f"events/{POLICY_FUNCTION}/ has no event"


@pytest.mark.parametrize("path", POLICY_FILES, ids=file_id)
@pytest.mark.parametrize("issuer_account", ["same", "444455556666"])
def test_policy_rules_ignore_driftguards_own_changes(
    path: Path, issuer_account: str, routes: list[Route], context: ResolveContext
) -> None:
    event = load(path)
    account = event["detail"]["recipientAccountId"] if issuer_account == "same" else issuer_account
    role = remediation_role_name(context)
    own = with_identity(event, remediation_identity(account, role))
    assert own["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == (
        f"arn:aws:iam::{account}:role/{role}"
    )
    matched = [(r.function, r.rule.name) for r in matching(routes, own)]
    assert matched == [], f"driftguard's own {event['detail']['eventName']} matches {matched}"


@pytest.mark.parametrize("path", POLICY_FILES, ids=file_id)
@pytest.mark.parametrize(
    "who",
    ["assumed-role", "lookalike-role", "remediation-role-other-session", "iam-user", "root"],
)
def test_policy_rules_still_see_people(
    path: Path, who: str, routes: list[Route], context: ResolveContext
) -> None:
    event = load(path)
    account = event["detail"]["recipientAccountId"]
    identity = person_identities(account, remediation_role_name(context))[who]
    changed = with_identity(event, identity)
    rules = {(r.function, r.rule.bus) for r in matching(routes, changed)}
    assert rules == {(POLICY_FUNCTION, "hub"), (POLICY_FUNCTION, "default")}, (
        f"{file_id(path)} made by {who} reaches {sorted(rules)}"
    )


# --------------------------------------------------------------------------- safeguards


def test_safeguard_and_role_event_files_exist(context: ResolveContext) -> None:
    assert remediation_role_name(context) == REMEDIATION_ROLE
    assert ROLE_FILES, f"events/{IAM_FUNCTION}/ has no role event"
    calls = {load(path)["detail"]["eventSource"] for path in SAFEGUARD_FILES}
    assert calls == {"iam.amazonaws.com", "events.amazonaws.com", "cloudtrail.amazonaws.com"}


@pytest.mark.parametrize("path", ROLE_FILES, ids=file_id)
@pytest.mark.parametrize("issuer_account", ["same", "444455556666"])
def test_role_rules_ignore_driftguards_own_changes(
    path: Path, issuer_account: str, routes: list[Route], context: ResolveContext
) -> None:
    event = load(path)
    account = event["detail"]["recipientAccountId"] if issuer_account == "same" else issuer_account
    own = with_identity(event, remediation_identity(account, remediation_role_name(context)))
    matched = [(r.function, r.rule.name) for r in matching(routes, own)]
    assert matched == [], f"driftguard's own {event['detail']['eventName']} matches {matched}"


@pytest.mark.parametrize("path", SAFEGUARD_FILES, ids=file_id)
@pytest.mark.parametrize(
    "who",
    ["driftguard", "remediation-role-other-session", "assumed-role", "iam-user", "root"],
)
def test_a_safeguard_change_reaches_driftguard_whoever_made_it(
    path: Path, who: str, routes: list[Route], context: ResolveContext
) -> None:
    """driftguard never changes its own role, rules or trail: a record saying it did is
    alerted like anyone's, on both buses."""
    event = load(path)
    account = event["detail"]["recipientAccountId"]
    role = remediation_role_name(context)
    identities = person_identities(account, role) | {
        "driftguard": remediation_identity(account, role)
    }
    changed = with_identity(event, identities[who])
    rules = sorted((r.function, r.rule.bus) for r in matching(routes, changed))
    assert rules == [(IAM_FUNCTION, "default"), (IAM_FUNCTION, "hub")], (
        f"{file_id(path)} made by {who} reaches {rules}"
    )


def test_the_remediation_role_is_matched_whatever_the_case(routes: list[Route]) -> None:
    """IAM role names are unique whatever their case: a call naming the role otherwise
    spelt is a change to it all the same."""
    (path,) = [p for p in SAFEGUARD_FILES if load(p)["detail"]["eventName"] == "AttachRolePolicy"]
    event = load(path)
    event["detail"]["requestParameters"]["roleName"] = REMEDIATION_ROLE.upper()
    assert functions_reached(routes, event) == {IAM_FUNCTION}
    assert changed_safeguard(parse_cloudtrail(event), REMEDIATION_ROLE) is not None
