"""Both stacks are cfn-lint clean, and the spoke gives the hub exactly what it needs.

- template.yaml (hub) and spoke-template.yaml (member accounts) pass cfn-lint,
  run in process and offline (sockets: loopback only); any finding fails.
- The spoke's remediation role allows exactly the IAM actions the resource kinds
  declare (`kind.iam_actions`, and `kind.inventory_actions` to count what exists)
  plus the principal lookups and what an access path's check reads and its safe
  fixes call (driftguard.path_events), never secret material, on "*" only the list
  calls that name no resource, and trusts only the hub functions' roles.
- The spoke's forwarding rules send to the hub bus every event the hub's
  IamEventsFunction and PolicyEventsFunction rules accept, so a kind or an event
  name added to the hub without the spoke fails here.
- Both stacks work in every partition: IAM's events are forwarded from the
  partition's own IAM event region, and every ARN they build is in the partition.
- Every call that changes driftguard's safeguards (driftguard.safeguards: its
  remediation role, its forwarding rules, which the spoke names so the hub can tell
  them, a trail) is forwarded once, taken by one hub rule and recognised by the code,
  whoever made it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, cast

import pytest
from cfnlint.api import ManualArgs, lint_file
from moto.events.models import EventPattern
from pytest_socket import enable_socket, socket_allow_hosts

from driftguard import kinds
from driftguard.events import parse_cloudtrail
from driftguard.path_events import FIX_ACTIONS, GATHER_ACTIONS
from driftguard.safeguards import (
    FORWARDING_RULE_PREFIX,
    ROLE_CALLS,
    RULE_CALLS,
    TRAIL_CALLS,
    changed_safeguard,
)
from driftguard_sandbox.template import (
    FunctionSpec,
    ResolveContext,
    Template,
    globals_environment,
    load_template,
    operator_parameters,
    resolve,
)
from tests.support.guardrails import GUARDRAILS

# The list calls that count what exists: IAM grants them on Resource "*" only (Service
# Authorization Reference: no resource types for kms:ListKeys, kms:ListAliases,
# secretsmanager:ListSecrets), the one grant on "*" the role may hold.
INVENTORY_ACTIONS = frozenset(
    {"kms:ListKeys", "kms:ListAliases", "secretsmanager:ListSecrets", "iam:ListRoles"}
)
ROOT = Path(__file__).resolve().parents[2]
HUB_TEMPLATE = ROOT / "template.yaml"
SPOKE_TEMPLATE = ROOT / "spoke-template.yaml"
EVENTS = ROOT / "events"

MEMBER = "111111111111"
# What `HubFunctionRoleArns` looks like: SAM names each function's role itself.
FUNCTION_ROLES = [
    "arn:aws:iam::333333333333:role/driftguard-IamEventsFunctionRole-1A2B3C4D5E6F",
    "arn:aws:iam::333333333333:role/driftguard-PolicyEventsFunctionRole-2B3C4D5E6F7A",
    "arn:aws:iam::333333333333:role/driftguard-SweepWorkerFunctionRole-3C4D5E6F7A8B",
    "arn:aws:iam::333333333333:role/driftguard-RecheckFunctionRole-4D5E6F7A8B9C",
    "arn:aws:iam::333333333333:role/driftguard-PathEventsFunctionRole-5E6F7A8B9C0D",
]
# The hub goes to one region, the spoke to many; both to GovCloud and China too
# (the templates use ${AWS::Partition}, never "aws").
LINT_REGIONS = {
    HUB_TEMPLATE: [
        "us-east-1",
        "eu-west-1",
        "eu-central-1",
        "ap-southeast-2",
        "us-gov-west-1",
        "cn-north-1",
    ],
    SPOKE_TEMPLATE: [
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "us-gov-west-1",
        "cn-north-1",
    ],
}
PRINCIPAL_LOOKUPS = frozenset({"iam:GetRole", "iam:GetUser"})
SECRET_MATERIAL = frozenset({"secretsmanager:GetSecretValue", "kms:Decrypt"})
ALWAYS_DENIED = SECRET_MATERIAL | {"kms:ReEncrypt*", "kms:GenerateDataKey*"}
FORWARDING_RULES = (
    "IamEventsForwardRule",
    "RemediationRoleForwardRule",
    "PathRoleEventsForwardRule",
    "PolicyEventsForwardRule",
    "PathEventsForwardRule",
    "SafeguardEventsForwardRule",
)
IAM_FORWARDING_RULES = (
    "IamEventsForwardRule",
    "RemediationRoleForwardRule",
    "PathRoleEventsForwardRule",
)
REGIONAL_FORWARDING_RULES = (
    "PolicyEventsForwardRule",
    "PathEventsForwardRule",
    "SafeguardEventsForwardRule",
)
# Per partition: the one region CloudTrail delivers IAM's (global) events in.
IAM_EVENT_REGIONS = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """cfn-lint must not need the network (it would fetch schemas only if asked to)."""
    socket_allow_hosts(["127.0.0.1", "localhost"])
    yield
    enable_socket()


# --------------------------------------------------------------------------- cfn-lint


@pytest.mark.sandbox  # the slow tier: an external linter
@pytest.mark.parametrize("path", list(LINT_REGIONS), ids=lambda path: path.name)
def test_cfn_lint_finds_nothing(path: Path) -> None:
    matches = lint_file(path, config=ManualArgs(regions=LINT_REGIONS[path]))
    findings = [
        f"{match.rule.id} {Path(match.filename or path).name}:{match.linenumber}:"
        f"{match.columnnumber} {match.message}"
        for match in matches
    ]
    print("\n".join(findings))
    assert not findings, f"cfn-lint findings in {path.name}:\n" + "\n".join(findings)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def spoke() -> Template:
    return load_template(SPOKE_TEMPLATE)


@pytest.fixture(scope="module")
def hub_account(context: ResolveContext) -> str:
    return context.account_id


@pytest.fixture(scope="module")
def hub_region(context: ResolveContext) -> str:
    return context.region


def spoke_context(
    spoke: Template,
    *,
    hub_account: str,
    hub_region: str,
    account: str = MEMBER,
    region: str = "us-east-1",
    partition: str = "aws",
    **parameters: Any,
) -> ResolveContext:
    given = {
        "HubAccountId": hub_account,
        "HubRegion": hub_region,
        "HubFunctionRoleArns": [
            role.replace("arn:aws:", f"arn:{partition}:") for role in FUNCTION_ROLES
        ],
        **parameters,
    }
    return ResolveContext.for_template(
        spoke, account_id=account, region=region, parameters=given, partition=partition
    )


def deployed(template: Template, context: ResolveContext) -> dict[str, dict[str, Any]]:
    """The resources CloudFormation would create in this account and region, resolved."""
    resources: dict[str, dict[str, Any]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        condition = resource.get("Condition")
        if condition is None or context.condition(condition):
            resources[logical_id] = {
                "Type": resource["Type"],
                "Properties": resolve(resource.get("Properties") or {}, context),
            }
    return resources


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return as_list(document["Statement"])


def inline_statements(role: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in statements(policy["PolicyDocument"])
    ]


def actions(statement_list: list[dict[str, Any]], effect: str) -> set[str]:
    return {
        action
        for statement in statement_list
        if statement["Effect"] == effect
        for action in as_list(statement["Action"])
    }


def default(template: Template, parameter: str) -> Any:
    return template["Parameters"][parameter]["Default"]


@pytest.fixture(scope="module")
def member(spoke: Template, hub_account: str, hub_region: str) -> dict[str, dict[str, Any]]:
    """The spoke in a member account's us-east-1 (the default PrimaryRegion): everything."""
    return deployed(spoke, spoke_context(spoke, hub_account=hub_account, hub_region=hub_region))


@pytest.fixture(scope="module")
def remediation_role(member: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return member["RemediationRole"]


# --------------------------------------------------------------------------- remediation role


def test_remediation_role_allows_exactly_what_the_kinds_need(
    remediation_role: dict[str, Any],
) -> None:
    every_kind = kinds.all_kinds()
    needed = set().union(*(k.iam_actions | k.inventory_actions for k in every_kind))
    needed |= PRINCIPAL_LOOKUPS | GATHER_ACTIONS | FIX_ACTIONS
    granted = inline_statements(remediation_role)
    assert actions(granted, "Allow") == needed
    assert not any("NotAction" in s or "NotResource" in s for s in granted)
    # The inline policy is the role's only grant.
    properties = remediation_role["Properties"]
    assert not properties.get("ManagedPolicyArns")
    assert "PermissionsBoundary" not in properties


def test_remediation_role_never_reads_secret_material(remediation_role: dict[str, Any]) -> None:
    granted = inline_statements(remediation_role)
    for statement in (s for s in granted if s["Effect"] == "Allow"):
        for action in as_list(statement["Action"]):
            assert "*" not in action and "?" not in action, f"wildcard action {action}"
            assert action not in SECRET_MATERIAL
        if "*" in as_list(statement["Resource"]):  # only what IAM grants on "*" alone
            assert set(as_list(statement["Action"])) <= INVENTORY_ACTIONS, statement
    for kind in kinds.all_kinds():
        assert kind.inventory_actions <= INVENTORY_ACTIONS, kind.name
    denies = [s for s in granted if s["Effect"] == "Deny"]
    material = [s for s in denies if set(as_list(s["Action"])) & ALWAYS_DENIED]
    assert actions(material, "Deny") >= ALWAYS_DENIED
    for statement in material:
        assert as_list(statement["Resource"]) == ["*"]
        assert "Condition" not in statement


# What AWS assumes when a put omits the flag (API references: PutKeyPolicy,
# PutResourcePolicy).
OMITTED_MEANS = {"BypassPolicyLockoutSafetyCheck": False, "BlockPublicPolicy": False}


@pytest.mark.parametrize("kind", sorted(GUARDRAILS))
def test_remediation_role_denies_every_write_without_driftguards_guardrails(
    remediation_role: dict[str, Any], kind: str
) -> None:
    """Whatever the code sends, a write with the other value (or none, where AWS's
    default is the unsafe one) is denied: the table is the one the unit test pins."""
    _, operation, flags = GUARDRAILS[kind]
    service = kinds.get(kind).service
    action = f"{service}:{''.join(part.title() for part in operation.split('_'))}"
    denies = [
        s
        for s in inline_statements(remediation_role)
        if s["Effect"] == "Deny" and action in as_list(s["Action"])
    ]
    for flag, wanted in flags.items():
        key = f"{service}:{flag}"
        refused = [("Bool", str(not wanted).lower())]
        if OMITTED_MEANS[flag] != wanted:
            refused.append(("Null", "true"))
        for operator, value in refused:
            assert any(
                s.get("Condition", {}).get(operator, {}).get(key) == value
                and as_list(s["Resource"]) == ["*"]
                for s in denies
            ), f"nothing denies {action} with {operator} {key} = {value}"


# Read only, and AWS's own: an access path's role may have an AWS managed policy.
AWS_MANAGED_POLICIES = ("arn:aws:iam::aws:policy/*", {"iam:GetPolicy", "iam:GetPolicyVersion"})


def test_remediation_role_acts_only_in_its_own_account(remediation_role: dict[str, Any]) -> None:
    for statement in inline_statements(remediation_role):
        # The list calls list the caller's own account (KMS and Secrets Manager API
        # references, ListKeys, ListAliases: "Cross-account use: No"; ListSecrets).
        if statement["Effect"] != "Allow" or as_list(statement["Resource"]) == ["*"]:
            continue
        services = {action.split(":", 1)[0] for action in as_list(statement["Action"])}
        for resource in as_list(statement["Resource"]):
            _, partition, service, _, account, _ = resource.split(":", 5)
            assert services == {service}, (services, resource)
            if resource == AWS_MANAGED_POLICIES[0]:
                assert set(as_list(statement["Action"])) <= AWS_MANAGED_POLICIES[1], statement
                continue
            assert (partition, account) == ("aws", MEMBER), resource


def test_remediation_role_may_write_only_the_kinds_restores_and_the_path_fixes(
    remediation_role: dict[str, Any],
) -> None:
    """A path's two safe fixes enable a key; nothing lets the role disable one, delete
    one, or touch a role, a provider or an association."""
    granted = actions(inline_statements(remediation_role), "Allow")
    reads = ("Get", "List", "Describe")
    writes = {a for a in granted if not a.split(":", 1)[1].startswith(reads)}
    kind_writes = set().union(*(k.iam_actions for k in kinds.all_kinds()))
    assert writes - kind_writes == FIX_ACTIONS == {"kms:CancelKeyDeletion", "kms:EnableKey"}
    assert not {a for a in GATHER_ACTIONS if not a.split(":", 1)[1].startswith(reads)}


def test_remediation_role_trusts_only_the_hub_functions(
    spoke: Template, remediation_role: dict[str, Any], hub_account: str
) -> None:
    properties = remediation_role["Properties"]
    assert properties["RoleName"] == default(spoke, "RemediationRoleName")
    (trust,) = statements(properties["AssumeRolePolicyDocument"])
    assert trust["Effect"] == "Allow"
    assert trust["Principal"] == {"AWS": FUNCTION_ROLES}
    assert as_list(trust["Action"]) == ["sts:AssumeRole"]
    assert trust["Condition"] == {"StringEquals": {"aws:PrincipalAccount": hub_account}}


def test_remediation_role_is_the_one_the_hub_assumes(
    template: Template,
    context: ResolveContext,
    spoke: Template,
    remediation_role: dict[str, Any],
) -> None:
    assert default(spoke, "RemediationRoleName") == default(template, "RemediationRoleName")
    assert "Path" not in remediation_role["Properties"]  # the hub assumes role/<name>
    role_arn = f"arn:aws:iam::{MEMBER}:role/{remediation_role['Properties']['RoleName']}"
    functions = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert functions
    assumable = {
        logical_id: [
            pattern
            for policy in resolve(resource["Properties"].get("Policies", []), context)
            if isinstance(policy, dict) and "Statement" in policy
            for statement in statements(policy)
            if "sts:AssumeRole" in as_list(statement["Action"])
            for pattern in as_list(statement["Resource"])
        ]
        for logical_id, resource in functions.items()
    }
    # The functions that remediate assume the remediation role and nothing else;
    # the notifier assumes nothing.
    assert {lid for lid, patterns in assumable.items() if patterns} == {
        "IamEventsFunction",
        "PolicyEventsFunction",
        "SweepWorkerFunction",
        "RecheckFunction",
        "PathEventsFunction",
    }
    # The output operators copy into the spokes' HubFunctionRoleArns names them all.
    output = template["Outputs"]["HubFunctionRoleArns"]["Value"]["Fn::Join"][1]
    assert sorted(get_att["Fn::GetAtt"] for get_att in output) == sorted(
        [f"{logical_id}Role", "Arn"] for logical_id, patterns in assumable.items() if patterns
    )
    for logical_id, patterns in assumable.items():
        assert all(fnmatchcase(role_arn, pattern) for pattern in patterns), logical_id
        name = remediation_role["Properties"]["RoleName"]
        assert all(pattern.endswith(f":role/{name}") for pattern in patterns), logical_id


@pytest.mark.parametrize(
    ("region", "primary", "creates_role"),
    [
        ("us-east-1", None, True),
        ("eu-west-1", None, False),
        ("eu-west-1", "eu-west-1", True),
        ("us-east-1", "eu-west-1", False),
    ],
)
def test_global_role_only_in_the_primary_region(
    spoke: Template,
    hub_account: str,
    hub_region: str,
    region: str,
    primary: str | None,
    creates_role: bool,
) -> None:
    extra = {"PrimaryRegion": primary} if primary else {}
    context = spoke_context(
        spoke, hub_account=hub_account, hub_region=hub_region, region=region, **extra
    )
    assert ("RemediationRole" in deployed(spoke, context)) is creates_role
    output_condition = spoke["Outputs"]["RemediationRoleArn"]["Condition"]
    assert context.condition(output_condition) is creates_role


# --------------------------------------------------------------------------- forwarding


@pytest.mark.parametrize(
    ("partition", "region", "forwards_iam"),
    [
        ("aws", "us-east-1", True),
        ("aws", "us-west-2", False),
        ("aws", "eu-west-1", False),
        ("aws", "ap-southeast-2", False),
        ("aws-us-gov", "us-gov-west-1", True),
        ("aws-us-gov", "us-gov-east-1", False),
        ("aws-cn", "cn-north-1", True),
        ("aws-cn", "cn-northwest-1", False),
    ],
)
def test_iam_events_forwarded_from_the_partitions_iam_event_region_only(
    spoke: Template, hub_account: str, partition: str, region: str, forwards_iam: bool
) -> None:
    context = spoke_context(
        spoke,
        hub_account=hub_account,
        hub_region=IAM_EVENT_REGIONS[partition],
        region=region,
        partition=partition,
    )
    resources = deployed(spoke, context)
    for name in IAM_FORWARDING_RULES:
        assert (name in resources) is forwards_iam, name
    assert set(REGIONAL_FORWARDING_RULES) <= set(resources)
    assert "EventForwardingRole" in resources


def arn_partitions(value: Any) -> list[str]:
    """The partition of every ARN (or ARN pattern) anywhere in `value`."""
    if isinstance(value, str):
        return re.findall(r"arn:([^:]*):", value)
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list):
        return [partition for item in value for partition in arn_partitions(item)]
    return []


def template_parts(template: Template) -> dict[str, Any]:
    """What a stack builds ARNs in: function Globals, every resource and the outputs."""
    return {key: template[key] for key in ("Globals", "Resources", "Outputs") if key in template}


@pytest.mark.parametrize("partition", ["aws-us-gov", "aws-cn"])
def test_every_arn_is_in_the_stacks_partition(
    template: Template, spoke: Template, hub_account: str, partition: str
) -> None:
    region = IAM_EVENT_REGIONS[partition]
    hub_context = ResolveContext.for_template(
        template,
        account_id=hub_account,
        region=region,
        parameters=operator_parameters(hub_account, region, partition),
        partition=partition,
    )
    assert globals_environment(template, hub_context)["PARTITION"] == partition
    member_context = spoke_context(
        spoke,
        hub_account=hub_account,
        hub_region=region,
        region=region,
        partition=partition,
        PrimaryRegion=region,
    )
    for name, found in (
        ("template.yaml", arn_partitions(resolve(template_parts(template), hub_context))),
        ("spoke-template.yaml", arn_partitions(resolve(template_parts(spoke), member_context))),
    ):
        assert found, name
        assert set(found) == {partition}, f"{name} builds ARNs outside {partition}"


def test_hub_account_does_not_forward_to_its_own_bus_twice(
    spoke: Template, hub_account: str, hub_region: str
) -> None:
    """In the hub's own region, the hub stack's default-bus rules already deliver."""
    at_home = deployed(
        spoke,
        spoke_context(
            spoke,
            hub_account=hub_account,
            hub_region=hub_region,
            account=hub_account,
            region=hub_region,
        ),
    )
    assert not {"EventForwardingRole", *FORWARDING_RULES} & set(at_home)
    elsewhere = deployed(
        spoke,
        spoke_context(
            spoke,
            hub_account=hub_account,
            hub_region=hub_region,
            account=hub_account,
            region="ap-southeast-2" if hub_region != "ap-southeast-2" else "eu-west-1",
        ),
    )
    assert {"EventForwardingRole", *REGIONAL_FORWARDING_RULES} <= set(elsewhere)


def test_forwarding_rules_target_the_hub_bus(
    template: Template,
    context: ResolveContext,
    spoke: Template,
    member: dict[str, dict[str, Any]],
) -> None:
    hub_bus_arn = context.attributes["HubEventBus"]["Arn"]
    assert (
        default(spoke, "HubEventBusName")
        == template["Resources"]["HubEventBus"]["Properties"]["Name"]
    )

    forwarding = member["EventForwardingRole"]["Properties"]
    assert "RoleName" not in forwarding  # one per regional stack instance, no name clash
    (trust,) = statements(forwarding["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert as_list(trust["Action"]) == ["sts:AssumeRole"]
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": MEMBER}
    granted = inline_statements(member["EventForwardingRole"])
    assert [(s["Effect"], as_list(s["Action"]), as_list(s["Resource"])) for s in granted] == [
        ("Allow", ["events:PutEvents"], [hub_bus_arn])
    ]
    assert not forwarding.get("ManagedPolicyArns")

    forwarding_role_arn = f"arn:aws:iam::{MEMBER}:role/driftguard-EventForwardingRole"
    for name in FORWARDING_RULES:
        rule = member[name]["Properties"]
        # CloudTrail events arrive on the default bus only; write events need no more than ENABLED.
        assert rule.get("EventBusName", "default") == "default", name
        assert rule["State"] == "ENABLED", name
        (target,) = rule["Targets"]
        assert target["Arn"] == hub_bus_arn, name
        assert target["RoleArn"] == forwarding_role_arn, name


def covers(wide: Mapping[str, Any], narrow: Mapping[str, Any], path: str = "") -> list[str]:
    """Why some event matching pattern `narrow` would not match `wide` (empty: none).

    `wide` may only constrain fields that `narrow` constrains at least as much:
    string lists must be supersets, anything else (e.g. `{"exists": false}`) equal.
    Extra constraints in `narrow` (its `$or`, more fields) only narrow it further.
    """
    problems: list[str] = []
    for key, wide_value in wide.items():
        where = f"{path}.{key}" if path else key
        if key.startswith("$"):
            problems.append(f"{where}: operator not supported by this check")
        elif key not in narrow:
            problems.append(f"{where}: forwarding filters a field the hub does not")
        elif isinstance(wide_value, Mapping):
            if isinstance(narrow[key], Mapping):
                problems += covers(wide_value, narrow[key], where)
            else:
                problems.append(f"{where}: object in one pattern, list in the other")
        else:
            wide_items, narrow_items = as_list(wide_value), as_list(narrow[key])
            wide_strings = {v for v in wide_items if isinstance(v, str)}
            narrow_strings = {v for v in narrow_items if isinstance(v, str)}
            if missing := narrow_strings - wide_strings:
                problems.append(f"{where}: not forwarded {sorted(missing)}")
            wide_rest = [v for v in wide_items if not isinstance(v, str)]
            narrow_rest = [v for v in narrow_items if not isinstance(v, str)]
            if wide_rest != narrow_rest:
                problems.append(f"{where}: {wide_rest} differs from the hub's {narrow_rest}")
    return problems


@pytest.mark.parametrize("function", ["IamEventsFunction", "PolicyEventsFunction"])
def test_forwarding_rules_cover_the_hub_patterns(
    specs: dict[str, FunctionSpec], member: dict[str, dict[str, Any]], function: str
) -> None:
    forwarded = {name: member[name]["Properties"]["EventPattern"] for name in FORWARDING_RULES}
    for pattern in forwarded.values():
        assert pattern["detail"]["errorCode"] == [{"exists": False}]
    hub_rules = [rule for rule in specs[function].event_rules if rule.bus == "hub"]
    assert hub_rules, f"{function} has no rule on the hub bus"
    for rule in hub_rules:
        gaps = {name: covers(pattern, rule.pattern) for name, pattern in forwarded.items()}
        assert any(not problems for problems in gaps.values()), (
            f"no forwarding rule sends everything {function}'s {rule.name} accepts: {gaps}"
        )


def test_every_kind_is_forwarded(member: dict[str, dict[str, Any]]) -> None:
    """Regional kinds from every region; IAM's (role-trust) from the IAM event region,
    with the role calls."""
    for kind in kinds.all_kinds():
        rule = "IamEventsForwardRule" if kind.service == "iam" else "PolicyEventsForwardRule"
        pattern = member[rule]["Properties"]["EventPattern"]
        assert f"aws.{kind.service}" in pattern["source"], kind.name
        assert kind.event_source in pattern["detail"]["eventSource"], kind.name
        assert kind.policy_event_names <= set(pattern["detail"]["eventName"]), kind.name


# --------------------------------------------------------------------------- safeguards


def test_every_forwarding_rule_is_named_so_the_hub_sees_changes_to_it(
    spoke: Template, member: dict[str, dict[str, Any]]
) -> None:
    rules = {lid for lid, r in spoke["Resources"].items() if r["Type"] == "AWS::Events::Rule"}
    assert rules == set(FORWARDING_RULES)
    names = [member[rule]["Properties"]["Name"] for rule in FORWARDING_RULES]
    assert len(set(names)) == len(names)
    assert all(name.startswith(FORWARDING_RULE_PREFIX) for name in names), names


def safeguard_call(
    sample: str, call: str, parameters: dict[str, Any], *, region: str = "eu-west-1"
) -> dict[str, Any]:
    """A sample event turned into `call` with `parameters`, in MEMBER's `region`."""
    event: dict[str, Any] = json.loads((EVENTS / "IamEventsFunction" / sample).read_text())
    event["region"] = event["detail"]["awsRegion"] = region
    event["detail"]["eventName"] = call
    event["detail"]["requestParameters"] = parameters
    return event


def reaches(
    spoke: Template, spec: FunctionSpec, hub_account: str, hub_region: str, event: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """(spoke rules forwarding it, hub-bus rules of `spec` taking it)."""
    return (
        spoke_rules_matching(spoke, hub_account, hub_region, event),
        hub_rules_matching(spec, "hub", event),
    )


def driftguards_session(role: str) -> dict[str, Any]:
    """What driftguard's own calls carry (the hub's other rules leave them out)."""
    return {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{MEMBER}:assumed-role/{role}/driftguard",
        "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{MEMBER}:role/{role}"}},
    }


CALLERS = ["someone", "driftguard's session"]


def made_by(event: dict[str, Any], caller: str, role: str) -> dict[str, Any]:
    if caller != "someone":
        event["detail"]["userIdentity"] = driftguards_session(role)
    return event


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("call", sorted(RULE_CALLS))
def test_a_change_to_a_forwarding_rule_is_forwarded_routed_and_alerted(
    spoke: Template,
    member: dict[str, dict[str, Any]],
    specs: dict[str, FunctionSpec],
    hub_account: str,
    hub_region: str,
    call: str,
    caller: str,
) -> None:
    spec, role = specs["IamEventsFunction"], default(spoke, "RemediationRoleName")
    sample = "events-disable-forwarding-rule.json"
    for rule in FORWARDING_RULES:
        name = member[rule]["Properties"]["Name"]
        event = made_by(safeguard_call(sample, call, {RULE_CALLS[call]: name}), caller, role)
        forwarded, routed = reaches(spoke, spec, hub_account, hub_region, event)
        assert (forwarded, len(routed)) == (["SafeguardEventsForwardRule"], 1), (rule, routed)
        safeguard = changed_safeguard(parse_cloudtrail(event), role)
        assert safeguard is not None and safeguard.arn.endswith(f":rule/{name}")
    other = safeguard_call(sample, call, {RULE_CALLS[call]: "nightly"})
    assert reaches(spoke, spec, hub_account, hub_region, other)[1] == []
    assert changed_safeguard(parse_cloudtrail(other), role) is None


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("call", sorted(TRAIL_CALLS))
def test_a_change_to_any_trail_is_forwarded_routed_and_alerted(
    spoke: Template,
    specs: dict[str, FunctionSpec],
    hub_account: str,
    hub_region: str,
    call: str,
    caller: str,
) -> None:
    role = default(spoke, "RemediationRoleName")
    sample = "cloudtrail-stop-logging.json"
    event = made_by(safeguard_call(sample, call, {TRAIL_CALLS[call]: "any-trail"}), caller, role)
    forwarded, routed = reaches(spoke, specs["IamEventsFunction"], hub_account, hub_region, event)
    assert (forwarded, len(routed)) == (["SafeguardEventsForwardRule"], 1), routed
    safeguard = changed_safeguard(parse_cloudtrail(event), role)
    assert safeguard is not None and safeguard.arn.endswith(":trail/any-trail")


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("call", sorted(ROLE_CALLS))
def test_a_change_to_the_remediation_role_is_forwarded_routed_and_alerted(
    spoke: Template,
    specs: dict[str, FunctionSpec],
    hub_account: str,
    hub_region: str,
    call: str,
    caller: str,
) -> None:
    """From the IAM event region, whoever the caller (driftguard never makes these
    calls: its session name is no reason to leave one out); another role's policies
    are forwarded for the path watch, not taken as a safeguard change."""
    spec, role = specs["IamEventsFunction"], default(spoke, "RemediationRoleName")
    sample = "iam-attach-role-policy-to-remediation-role.json"
    event = made_by(
        safeguard_call(sample, call, {"roleName": role}, region="us-east-1"), caller, role
    )
    forwarded, routed = reaches(spoke, spec, hub_account, hub_region, event)
    assert len(forwarded) == 1 and len(routed) == 1, (forwarded, routed)
    assert changed_safeguard(parse_cloudtrail(event), role) is not None
    other = safeguard_call(sample, call, {"roleName": "pod-role"}, region="us-east-1")
    assert changed_safeguard(parse_cloudtrail(other), role) is None
    if call not in {"CreateRole", "DeleteRole", "UpdateAssumeRolePolicy"}:
        # Another role's policies: an access path's (PathEventsFunction), not a safeguard.
        assert reaches(spoke, spec, hub_account, hub_region, other) == (
            ["PathRoleEventsForwardRule"],
            [],
        )


# --------------------------------------------------------------------------- sample events


def sample_events(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (EVENTS / folder).glob("*.json"))


def spoke_rules_matching(
    spoke: Template, hub_account: str, hub_region: str, event: dict[str, Any]
) -> list[str]:
    """The spoke rules in the event's own account and region that forward it."""
    detail = event["detail"]
    resources = deployed(
        spoke,
        spoke_context(
            spoke,
            hub_account=hub_account,
            hub_region=hub_region,
            account=detail["recipientAccountId"],
            region=detail["awsRegion"],
        ),
    )
    return [
        name
        for name in FORWARDING_RULES
        if name in resources
        and EventPattern.load(
            json.dumps(resources[name]["Properties"]["EventPattern"])
        ).matches_event(cast(Any, event))
    ]


def hub_rules_matching(spec: FunctionSpec, bus: str, event: dict[str, Any]) -> list[str]:
    return [
        rule.name
        for rule in spec.event_rules
        if rule.bus == bus
        and EventPattern.load(json.dumps(rule.pattern)).matches_event(cast(Any, event))
    ]


@pytest.mark.parametrize(
    "path",
    sample_events("IamEventsFunction", "PolicyEventsFunction"),
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_sample_events_reach_their_function_once(
    spoke: Template,
    specs: dict[str, FunctionSpec],
    hub_account: str,
    hub_region: str,
    path: Path,
) -> None:
    event = json.loads(path.read_text())
    spec = specs[path.parent.name]
    forwarded_by = spoke_rules_matching(spoke, hub_account, hub_region, event)
    detail = event["detail"]
    if (detail["recipientAccountId"], detail["awsRegion"]) == (hub_account, hub_region):
        # The hub's own account and region: its default-bus rules, and no forwarding.
        assert forwarded_by == []
        assert len(hub_rules_matching(spec, "default", event)) == 1
    else:
        assert len(forwarded_by) == 1, forwarded_by
        assert len(hub_rules_matching(spec, "hub", event)) == 1


@pytest.mark.parametrize(
    "path", [p for p in sample_events("ignored") if "failed" in p.name], ids=lambda p: p.name
)
def test_failed_calls_are_not_forwarded(
    spoke: Template, hub_account: str, hub_region: str, path: Path
) -> None:
    event = json.loads(path.read_text())
    assert "errorCode" in event["detail"]
    # Wherever the failed call happened, no spoke rule forwards it.
    for account in (event["detail"]["recipientAccountId"], MEMBER):
        event["detail"]["recipientAccountId"] = account
        assert spoke_rules_matching(spoke, hub_account, hub_region, event) == []
