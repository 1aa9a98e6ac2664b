"""Access paths: the calls driftguard.path_events watches, the hub's rules, the spoke's
forwarding and the handlers agree, built as tables from both sides.

- Every call in `PATH_EVENTS`, made by a person, reaches exactly one function, and
  that function runs the path watch (PathEventsFunction, or IamEventsFunction and
  PolicyEventsFunction after their own handling); made by driftguard, none.
- PathEventsFunction's rules take nothing the watch does not know.
- From a member account, every such call is forwarded by exactly one spoke rule (IAM
  from the partition's IAM event region, the rest from the call's own region) and
  taken on the hub bus; in the hub's own account and region, by its default bus.
- The sample events in events/PathEventsFunction/ are calls the watch looks at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from moto.events.models import EventPattern

from driftguard.events import parse_cloudtrail
from driftguard.path_events import PATH_EVENTS, not_watched
from driftguard_sandbox.template import FunctionSpec, Template
from tests.contract.test_event_routing import (
    REMEDIATION_ROLE,
    person_identities,
    remediation_identity,
)
from tests.contract.test_templates import MEMBER, spoke_rules_matching

ROOT = Path(__file__).resolve().parents[2]
PATH_FUNCTION = "PathEventsFunction"
# The functions whose handlers run the path watch (driftguard.runtime: handle_event and
# handle_path_event), and what each handler calls.
WATCHING = {
    "IamEventsFunction": "handle_event",
    "PolicyEventsFunction": "handle_event",
    PATH_FUNCTION: "handle_path_event",
}
CALLS = sorted((source, name) for source, names in PATH_EVENTS.items() for name in names)
HUB, HUB_REGION = "333333333333", "us-east-1"


def call(source: str, name: str, *, account: str, region: str, who: str) -> dict[str, Any]:
    """A successful `name` call, as EventBridge delivers it."""
    service = source.split(".", 1)[0]
    identities = person_identities(account, REMEDIATION_ROLE) | {
        "driftguard": remediation_identity(account, REMEDIATION_ROLE)
    }
    request = {"roleName": "pod-role"} if service == "iam" else {}
    return {
        "version": "0",
        "id": "0d1e2f3a-0000-4000-8000-000000000001",
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{service}",
        "account": account,
        "time": "2026-11-28T13:16:09Z",
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": identities[who],
            "eventTime": "2026-11-28T13:16:09Z",
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "requestParameters": request,
            "responseElements": None,
            "eventID": "9b8a7c6d-0000-4e1f-8a2b-000000000001",
            "recipientAccountId": account,
        },
    }


def reached(specs: dict[str, FunctionSpec], bus: str, event: dict[str, Any]) -> list[str]:
    return sorted(
        spec.logical_id
        for spec in specs.values()
        for rule in spec.event_rules
        if rule.bus == bus
        and EventPattern.load(json.dumps(rule.pattern)).matches_event(cast(Any, event))
    )


def region_of(source: str) -> str:
    """Where CloudTrail delivers the call: IAM's in us-east-1 (aws partition)."""
    return "us-east-1" if source == "iam.amazonaws.com" else "eu-west-1"


@pytest.fixture(scope="module")
def spoke() -> Template:
    from driftguard_sandbox.template import load_template

    return load_template(ROOT / "spoke-template.yaml")


@pytest.mark.parametrize(("source", "name"), CALLS, ids=lambda v: str(v).split(".")[0])
@pytest.mark.parametrize("who", ["assumed-role", "iam-user", "root"])
def test_every_path_call_reaches_one_function_that_watches_paths(
    specs: dict[str, FunctionSpec], source: str, name: str, who: str
) -> None:
    member = call(source, name, account=MEMBER, region=region_of(source), who=who)
    home = call(source, name, account=HUB, region=HUB_REGION, who=who)
    functions = reached(specs, "hub", member)
    assert len(functions) == 1, f"{name} by {who} reaches {functions}"
    assert functions[0] in WATCHING
    assert reached(specs, "default", home) == functions
    assert not_watched(parse_cloudtrail(member), REMEDIATION_ROLE) is None


@pytest.mark.parametrize(("source", "name"), CALLS, ids=lambda v: str(v).split(".")[0])
def test_driftguards_own_path_calls_reach_no_function(
    specs: dict[str, FunctionSpec], source: str, name: str
) -> None:
    """Its fixes are verified as it makes them; its restores in the invocation that
    made them: an event of its own would only loop."""
    own = call(source, name, account=MEMBER, region=region_of(source), who="driftguard")
    assert reached(specs, "hub", own) == []
    assert not_watched(parse_cloudtrail(own), REMEDIATION_ROLE) == "driftguard's own change"


def test_the_watching_handlers_run_the_path_watch(specs: dict[str, FunctionSpec]) -> None:
    for function, method in WATCHING.items():
        source = specs[function].handler_file.read_text(encoding="utf-8")
        assert f"runtime().{method}" in source, function


def test_the_path_function_takes_only_calls_the_watch_knows(
    specs: dict[str, FunctionSpec],
) -> None:
    known = {name for names in PATH_EVENTS.values() for name in names}
    rules = specs[PATH_FUNCTION].event_rules
    assert {rule.bus for rule in rules} == {"hub", "default"}
    for rule in rules:
        detail = rule.pattern["detail"]
        assert set(detail["eventSource"]) <= set(PATH_EVENTS), rule.name
        assert set(detail["eventName"]) <= known, rule.name


@pytest.mark.parametrize(("source", "name"), CALLS, ids=lambda v: str(v).split(".")[0])
def test_every_path_call_is_forwarded_once_and_taken_on_the_hub_bus(
    spoke: Template, specs: dict[str, FunctionSpec], source: str, name: str
) -> None:
    event = call(source, name, account=MEMBER, region=region_of(source), who="assumed-role")
    forwarded = spoke_rules_matching(spoke, HUB, HUB_REGION, event)
    assert len(forwarded) == 1, f"{name} is forwarded by {forwarded}"
    assert len(reached(specs, "hub", event)) == 1
    if source != "iam.amazonaws.com":  # every region forwards its own
        elsewhere = call(source, name, account=MEMBER, region="ap-southeast-2", who="root")
        assert spoke_rules_matching(spoke, HUB, HUB_REGION, elsewhere) == forwarded
    else:  # IAM's events exist in the IAM event region only
        elsewhere = call(source, name, account=MEMBER, region="eu-west-1", who="root")
        assert spoke_rules_matching(spoke, HUB, HUB_REGION, elsewhere) == []


SAMPLES = sorted((ROOT / "events" / PATH_FUNCTION).glob("*.json"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_each_sample_is_a_call_the_watch_looks_at(path: Path) -> None:
    detail = parse_cloudtrail(json.loads(path.read_text(encoding="utf-8")))
    assert not_watched(detail, REMEDIATION_ROLE) is None


def test_the_samples_cover_every_service_the_watch_hears_from() -> None:
    sources = {json.loads(path.read_text())["detail"]["eventSource"] for path in SAMPLES}
    assert sources == set(PATH_EVENTS)
