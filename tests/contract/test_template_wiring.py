"""template.yaml and the code it deploys agree: handlers, layer, environment,
resource kinds and the state table's indexes."""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import tomllib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import ConditionBase, Key

from driftguard import kinds
from driftguard.config import Config
from driftguard.model import AuditEntry, StatusRecord
from driftguard.safeguards import IAM_SOURCE as IAM_EVENT_SOURCE
from driftguard.safeguards import ROLE_CALLS, RULE_CALLS, TRAIL_CALLS
from driftguard.state import ACCOUNT_INDEX, STATUS_INDEX, StateStore
from driftguard.vocabulary import AuditAction, Mode, Status
from driftguard_sandbox.template import (
    FunctionSpec,
    ResolveContext,
    Template,
    globals_environment,
    load_template,
    resolve,
)

ROOT = Path(__file__).resolve().parents[2]
POLICY_FUNCTION = "PolicyEventsFunction"
TTL_ATTRIBUTE = "expires_at"

FUNCTION_IDS = sorted(
    logical_id
    for logical_id, resource in (load_template(ROOT / "template.yaml")["Resources"]).items()
    if resource.get("Type") == "AWS::Serverless::Function"
)


def resources_of(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == kind
    }


# --------------------------------------------------------------------------- handlers


def import_handler(spec: FunctionSpec, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Import CodeUri/app.py as Lambda would, under a module name of its own."""
    name = f"contract_{spec.logical_id}_{uuid.uuid4().hex}"
    module_spec = importlib.util.spec_from_file_location(name, spec.handler_file)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    monkeypatch.setitem(sys.modules, name, module)  # removed again after the test
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
    module_spec.loader.exec_module(module)
    return getattr(module, spec.handler_name, None)


def test_template_has_functions() -> None:
    assert FUNCTION_IDS


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_handler_file_exists_and_defines_the_handler(
    logical_id: str, specs: dict[str, FunctionSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = specs[logical_id]
    assert spec.code_uri.is_dir(), f"{logical_id}: CodeUri {spec.code_uri} does not exist"
    assert spec.handler.count(".") >= 1, f"{logical_id}: Handler {spec.handler!r}"
    assert spec.handler_file.is_file(), f"{logical_id}: no {spec.handler_file}"
    handler = import_handler(spec, monkeypatch)
    assert callable(handler), f"{logical_id}: {spec.handler_file} defines no {spec.handler_name}"
    # Lambda calls handler(event, context).
    inspect.signature(handler).bind({}, object())


# --------------------------------------------------------------------------- layer


def test_layer_content_is_the_driftguard_package(template: Template) -> None:
    layers = resources_of(template, "AWS::Serverless::LayerVersion")
    assert layers, "no AWS::Serverless::LayerVersion in template.yaml"
    for logical_id, layer in layers.items():
        content = ROOT / str(layer["Properties"]["ContentUri"])
        assert content.is_dir(), f"{logical_id}: ContentUri {content} does not exist"
        assert (content / "driftguard" / "__init__.py").is_file(), f"{logical_id}: no package"
        assert (content / "requirements.txt").is_file(), f"{logical_id}: no requirements.txt"


def test_every_function_uses_the_layer(template: Template) -> None:
    (layer_id,) = resources_of(template, "AWS::Serverless::LayerVersion")
    global_layers = ((template.get("Globals") or {}).get("Function") or {}).get("Layers") or []
    for logical_id, function in resources_of(template, "AWS::Serverless::Function").items():
        used = (function.get("Properties") or {}).get("Layers", global_layers)
        assert {"Ref": layer_id} in used, f"{logical_id} does not use the {layer_id} layer"


# Package dependencies the Lambda layer does not ship: only the `driftguard` CLI uses them.
CLI_ONLY = frozenset({"rich", "jinja2", "pyyaml"})


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\[=<>!~;\s]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_layer_requirements_are_the_package_pins(template: Template) -> None:
    """An editable install (tests, CLI) must run what the layer ships: every layer pin
    is a package dependency, same version; anything extra is a CLI-only dependency."""
    (layer,) = resources_of(template, "AWS::Serverless::LayerVersion").values()
    requirements = ROOT / str(layer["Properties"]["ContentUri"]) / "requirements.txt"
    shipped = {
        line.split("#", 1)[0].strip()
        for line in requirements.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = set(pyproject["project"]["dependencies"])
    assert shipped <= declared, f"layer pins not in pyproject: {sorted(shipped - declared)}"
    extra = {_requirement_name(r) for r in declared - shipped}
    assert extra <= CLI_ONLY, f"package dependencies neither in the layer nor CLI-only: {extra}"
    assert not {_requirement_name(r) for r in shipped} & CLI_ONLY, "CLI-only but shipped"


# --------------------------------------------------------------------------- environment


def config_variables() -> set[str]:
    aliases = {field.alias for field in Config.model_fields.values()}
    assert None not in aliases, "every Config field must be read from an environment variable"
    return {alias for alias in aliases if alias is not None}


def test_globals_set_every_variable_config_reads(template: Template) -> None:
    variables = (template["Globals"]["Function"].get("Environment") or {}).get("Variables") or {}
    missing = sorted(config_variables() - set(variables))
    assert not missing, f"Config reads variables template.yaml Globals does not set: {missing}"


def test_globals_set_nothing_config_does_not_read(template: Template) -> None:
    variables = (template["Globals"]["Function"].get("Environment") or {}).get("Variables") or {}
    unused = sorted(
        name
        for name in variables
        if name not in config_variables() and not name.startswith("POWERTOOLS_")
    )
    assert not unused, f"Globals variables nothing reads: {unused}"


def test_template_defaults_are_a_valid_config(
    template: Template, context: ResolveContext, specs: dict[str, FunctionSpec]
) -> None:
    config = Config.from_env(globals_environment(template, context))
    assert config.default_mode in set(Mode)
    for spec in specs.values():  # what each function really gets, Globals merged
        Config.from_env(spec.environment)


# --------------------------------------------------------------------------- kinds


def policy_patterns(specs: dict[str, FunctionSpec]) -> list[dict[str, Any]]:
    patterns = [rule.pattern for rule in specs[POLICY_FUNCTION].event_rules]
    assert patterns, f"{POLICY_FUNCTION} has no EventBridge rules"
    return patterns


def policy_kinds() -> list[kinds.ResourceKind]:
    """The kinds whose calls the policy events function hears: IAM's (role-trust) come
    with the role calls to the IAM events function (below)."""
    return [k for k in kinds.all_kinds() if k.event_source != IAM_EVENT_SOURCE]


def test_a_global_kind_s_calls_reach_the_iam_events_function() -> None:
    iam_kinds = [k for k in kinds.all_kinds() if k.event_source == IAM_EVENT_SOURCE]
    assert [k.name for k in iam_kinds] == ["role-trust"]
    for kind in iam_kinds:
        assert kind.policy_event_names <= set(ROLE_CALLS), kind.name


def test_policy_rules_listen_to_exactly_the_kinds_event_sources(
    specs: dict[str, FunctionSpec],
) -> None:
    registered = policy_kinds()
    event_sources = {k.event_source for k in registered}
    sources = {f"aws.{k.service}" for k in registered}
    for pattern in policy_patterns(specs):
        listened = set(pattern["detail"]["eventSource"])
        assert listened == event_sources, f"template {sorted(listened)}, kinds {event_sources}"
        assert set(pattern["source"]) == sources, f"template {pattern['source']}, kinds {sources}"


def test_policy_rules_listen_to_exactly_the_kinds_policy_calls(
    specs: dict[str, FunctionSpec],
) -> None:
    wanted = set().union(*(k.policy_event_names for k in policy_kinds()))
    for pattern in policy_patterns(specs):
        listened = set(pattern["detail"]["eventName"])
        assert listened == wanted, (
            f"only in template.yaml: {sorted(listened - wanted)}; "
            f"only in the kinds: {sorted(wanted - listened)}"
        )


def test_iam_rules_listen_to_exactly_what_the_dispatcher_handles(
    specs: dict[str, FunctionSpec],
) -> None:
    """Role events, and the calls that change driftguard's safeguards
    (driftguard.safeguards): none the template forgets, none it adds."""
    rules = specs["IamEventsFunction"].event_rules
    listened: dict[str, set[str]] = {}
    for rule in rules:
        for source in rule.pattern["detail"]["eventSource"]:
            listened.setdefault(source, set()).update(rule.pattern["detail"]["eventName"])
    assert listened == {
        "iam.amazonaws.com": set(ROLE_CALLS),
        "events.amazonaws.com": set(RULE_CALLS),
        "cloudtrail.amazonaws.com": set(TRAIL_CALLS),
    }


# --------------------------------------------------------------------------- state table


class RecordingTable:
    """Stands in for the boto3 Table resource: records what StateStore writes and asks."""

    name = "recording"

    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []
        self.queries: list[dict[str, Any]] = []

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.puts.append(kwargs["Item"])
        return {}

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries.append(kwargs)
        return {"Items": []}


def key_names(condition: ConditionBase) -> set[str]:
    names: set[str] = set()
    for value in condition.get_expression()["values"]:
        if isinstance(value, ConditionBase):
            names |= key_names(value)
        elif isinstance(value, Key):
            names.add(value.name)
    return names


@pytest.fixture
def table_properties(template: Template, context: ResolveContext) -> dict[str, Any]:
    (table,) = resources_of(template, "AWS::DynamoDB::Table").values()
    properties = resolve(table["Properties"], context)
    assert isinstance(properties, dict)
    return properties


def schema(key_schema: list[dict[str, str]]) -> dict[str, str]:
    return {key["KeyType"]: key["AttributeName"] for key in key_schema}


def written_items() -> tuple[RecordingTable, Callable[[], None]]:
    table = RecordingTable()
    store = StateStore(table)
    at = datetime(2026, 11, 27, 9, 12, 31, tzinfo=UTC)
    arn = "arn:aws:kms:us-east-1:333333333333:key/0f6a3c2e-8a57-4d7e-9b0c-2d1e5f4a7b91"

    def write() -> None:
        store.put_status(
            StatusRecord(
                arn=arn,
                kind="kms-key",
                account="333333333333",
                region="us-east-1",
                mode=Mode.ENFORCE,
                status=Status.DRIFTED,
                updated_at=at,
            )
        )
        store.append_audit(
            AuditEntry(arn=arn, at=at, action=AuditAction.DECLARED, status="in-sync")
        )
        list(store.iter_statuses(status=Status.DRIFTED))
        list(store.iter_statuses(account="333333333333", kind="kms-key"))

    return table, write


def test_state_table_indexes_are_the_ones_state_queries(
    table_properties: dict[str, Any],
) -> None:
    indexes = {
        index["IndexName"]: schema(index["KeySchema"])
        for index in table_properties.get("GlobalSecondaryIndexes", [])
    }
    assert set(indexes) == {STATUS_INDEX, ACCOUNT_INDEX}
    table, write = written_items()
    write()
    queried = {query["IndexName"] for query in table.queries if "IndexName" in query}
    assert queried == {STATUS_INDEX, ACCOUNT_INDEX}
    for query in table.queries:
        keys = indexes[query["IndexName"]]
        used = key_names(query["KeyConditionExpression"])
        assert keys["HASH"] in used, f"{query['IndexName']} queried without its hash key"
        assert used <= set(keys.values()), f"{query['IndexName']} has no key {used}"


def test_status_items_carry_every_index_key(table_properties: dict[str, Any]) -> None:
    attribute_types = {
        a["AttributeName"]: a["AttributeType"] for a in table_properties["AttributeDefinitions"]
    }
    table, write = written_items()
    write()
    status_item = next(item for item in table.puts if item["sk"] == "STATUS")
    key_schemas = [table_properties["KeySchema"]] + [
        index["KeySchema"] for index in table_properties["GlobalSecondaryIndexes"]
    ]
    for key_schema in key_schemas:
        for name in schema(key_schema).values():
            assert name in status_item, f"STATUS items lack {name}: invisible in that index"
            assert attribute_types[name] == "S" and isinstance(status_item[name], str)


def test_state_table_ttl_is_the_attribute_state_writes(table_properties: dict[str, Any]) -> None:
    assert table_properties["TimeToLiveSpecification"] == {
        "AttributeName": TTL_ATTRIBUTE,
        "Enabled": True,
    }
    table, write = written_items()
    write()
    audit = next(item for item in table.puts if item["sk"].startswith("AUDIT#"))
    assert isinstance(audit[TTL_ATTRIBUTE], int), "TTL must be epoch seconds"
    assert audit[TTL_ATTRIBUTE] > datetime(2026, 11, 27, tzinfo=UTC).timestamp()
