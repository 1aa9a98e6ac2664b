"""Read the hub stack (template.yaml) the way CloudFormation/SAM would, without AWS.

The sandbox deploys and routes from the template itself (tables, queues, event
patterns, environment), never from a hand-written copy, so a change to the
template is what the tests see. Contract tests reuse this module, which is why it
must not import moto.

Three pieces:
- `load_template`: YAML with the CloudFormation short tags (`!Ref`, `!Sub`, ...)
  turned into their long form (`{"Ref": ...}`, `{"Fn::Sub": ...}`).
- `resolve`: a small intrinsic-function evaluator over a `ResolveContext`
  (parameter values, pseudo parameters, physical ids of "deployed" resources).
- `function_specs`: what each `AWS::Serverless::Function` needs to run locally
  (code, handler, resolved environment, EventBridge rules, schedules).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import yaml

__all__ = [
    "FunctionSpec",
    "ResolveContext",
    "RuleSpec",
    "StreamSpec",
    "Template",
    "TemplateError",
    "default_physical_ids",
    "function_specs",
    "globals_environment",
    "load_template",
    "resolve",
]

NAME_PREFIX: Final = "driftguard"


class TemplateError(ValueError):
    """The template uses something this local resolver cannot evaluate."""


class Template(dict[str, Any]):
    """A loaded template: a plain dict that remembers the file it came from.

    The path anchors relative `CodeUri`s, as `sam build` anchors them to the
    template's directory.
    """

    path: Path | None = None


# --------------------------------------------------------------------------- loading


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no stubs
    """SafeLoader that understands every `!Tag` as a CloudFormation intrinsic."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unsupported node for !{tag_suffix}")
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: str | Path) -> Template:
    """Parse a CloudFormation/SAM YAML template into its long (JSON) form."""
    path = Path(path)
    with path.open(encoding="utf-8") as stream:
        data = yaml.load(stream, Loader=_CfnLoader)
    if not isinstance(data, dict):
        raise TemplateError(f"{path} is not a template (top level is not a mapping)")
    template = Template(data)
    template.path = path.resolve()
    return template


# --------------------------------------------------------------------------- resolving

_NO_VALUE: Final = object()  # AWS::NoValue: the enclosing key or item disappears
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass
class ResolveContext:
    """Everything `resolve` may look up.

    `physical_ids` maps a logical id to what `Ref` returns; `attributes` maps a
    logical id to its `Fn::GetAtt` attributes. `parameters` hold final values
    (template defaults already applied; list parameters as lists).
    """

    account_id: str
    region: str
    partition: str = "aws"
    stack_name: str = NAME_PREFIX
    parameters: dict[str, Any] = field(default_factory=dict)
    physical_ids: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)
    _evaluated_conditions: dict[str, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def for_template(
        cls,
        template: Mapping[str, Any],
        *,
        account_id: str,
        region: str,
        parameters: Mapping[str, Any] | None = None,
        physical_ids: Mapping[str, str] | None = None,
        attributes: Mapping[str, Mapping[str, str]] | None = None,
        partition: str = "aws",
    ) -> ResolveContext:
        """Context for `template` as if deployed in `account_id`/`region`.

        Resources get the deterministic names the sandbox deploys them under
        (`default_physical_ids`) unless `physical_ids`/`attributes` say otherwise.
        """
        refs, attrs = default_physical_ids(
            template, account_id=account_id, region=region, partition=partition
        )
        refs.update(physical_ids or {})
        for logical_id, values in (attributes or {}).items():
            attrs.setdefault(logical_id, {}).update(values)
        return cls(
            account_id=account_id,
            region=region,
            partition=partition,
            parameters=parameter_values(template, parameters or {}),
            physical_ids=refs,
            attributes=attrs,
            conditions=dict(template.get("Conditions") or {}),
            mappings=dict(template.get("Mappings") or {}),
        )

    def pseudo(self, name: str) -> Any:
        values: dict[str, Any] = {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:"
                f"stack/{self.stack_name}/00000000-0000-4000-8000-000000000000"
            ),
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": _NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"unknown pseudo parameter {name}")
        return values[name]

    def condition(self, name: str) -> bool:
        if name not in self._evaluated_conditions:
            if name not in self.conditions:
                raise TemplateError(f"unknown condition {name}")
            self._evaluated_conditions[name] = bool(resolve(self.conditions[name], self))
        return self._evaluated_conditions[name]


def parameter_values(template: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Final parameter values: `given` over template defaults, typed as `Ref` returns them."""
    values: dict[str, Any] = {}
    for name, declaration in (template.get("Parameters") or {}).items():
        declaration = declaration or {}
        if name in given:
            raw = given[name]
        elif "Default" in declaration:
            raw = declaration["Default"]
        else:
            raise TemplateError(f"parameter {name} has no default and no value")
        kind = str(declaration.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            values[name] = (
                [str(item) for item in raw] if isinstance(raw, list) else str(raw).split(",")
            )
        else:
            values[name] = _to_string(raw)
    for name in given:
        if name not in values:
            raise TemplateError(f"template has no parameter {name}")
    return values


def resolve(value: Any, context: ResolveContext) -> Any:
    """Evaluate intrinsic functions in `value` (recursively); `AWS::NoValue` is removed."""
    result = _resolve(value, context)
    return None if result is _NO_VALUE else result


def _resolve(value: Any, context: ResolveContext) -> Any:
    if isinstance(value, list):
        items = [_resolve(item, context) for item in value]
        return [item for item in items if item is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            return _ref(argument, context)
        if key == "Condition" and isinstance(argument, str):
            return context.condition(argument)
        if key.startswith("Fn::"):
            return _function(key, argument, context)
    resolved = {key: _resolve(item, context) for key, item in value.items()}
    return {key: item for key, item in resolved.items() if item is not _NO_VALUE}


def _ref(name: str, context: ResolveContext) -> Any:
    if name.startswith("AWS::"):
        return context.pseudo(name)
    if name in context.parameters:
        return context.parameters[name]
    if name in context.physical_ids:
        return context.physical_ids[name]
    raise TemplateError(f"Ref to unknown parameter or resource {name}")


def _get_att(argument: Any, context: ResolveContext) -> str:
    if isinstance(argument, str):
        argument = argument.split(".", 1)
    logical_id, attribute = (_resolve(part, context) for part in argument)
    try:
        return context.attributes[logical_id][attribute]
    except KeyError:
        raise TemplateError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute}") from None


def _sub(argument: Any, context: ResolveContext) -> str:
    if isinstance(argument, list):
        text, variables = argument[0], _resolve(argument[1], context)
    else:
        text, variables = argument, {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return _to_string(variables[name])
        if "." in name and not name.startswith("AWS::"):
            return _get_att(name, context)
        return _to_string(_ref(name, context))

    return _SUB_VAR.sub(replace, text)


def _function(name: str, argument: Any, context: ResolveContext) -> Any:
    if name == "Fn::Sub":
        return _sub(argument, context)
    if name == "Fn::GetAtt":
        return _get_att(argument, context)
    if name == "Fn::If":
        condition, if_true, if_false = argument
        return _resolve(if_true if context.condition(condition) else if_false, context)
    if name == "Fn::Equals":
        left, right = (_resolve(item, context) for item in argument)
        return _to_string(left) == _to_string(right)
    if name == "Fn::Not":
        return not _truth(argument[0], context)
    if name == "Fn::And":
        return all(_truth(item, context) for item in argument)
    if name == "Fn::Or":
        return any(_truth(item, context) for item in argument)
    if name == "Fn::Join":
        delimiter, items = argument
        return str(delimiter).join(_to_string(item) for item in _resolve(items, context))
    if name == "Fn::Select":
        index, items = (_resolve(item, context) for item in argument)
        return items[int(index)]
    if name == "Fn::Split":
        delimiter, text = (_resolve(item, context) for item in argument)
        return str(text).split(str(delimiter))
    if name == "Fn::FindInMap":
        map_name, top, second = (_resolve(item, context) for item in argument)
        try:
            return context.mappings[map_name][top][second]
        except KeyError:
            raise TemplateError(f"Fn::FindInMap {map_name}/{top}/{second} not found") from None
    if name == "Fn::Base64":
        return base64.b64encode(_to_string(_resolve(argument, context)).encode()).decode()
    if name == "Fn::GetAZs":
        region = _resolve(argument, context) or context.region
        return [f"{region}{suffix}" for suffix in "abc"]
    if name == "Fn::ImportValue":
        export = _to_string(_resolve(argument, context))
        if export not in context.imports:
            raise TemplateError(f"Fn::ImportValue {export}: no such export in the context")
        return context.imports[export]
    if name == "Fn::Cidr":
        block, count, bits = (_resolve(item, context) for item in argument)
        network = ipaddress.ip_network(str(block), strict=False)
        prefix = network.max_prefixlen - int(bits)
        return [
            str(net)
            for _, net in zip(range(int(count)), network.subnets(new_prefix=prefix), strict=False)
        ]
    raise TemplateError(f"unsupported intrinsic function {name}")


def _truth(value: Any, context: ResolveContext) -> bool:
    return bool(_resolve(value, context))


def _to_string(value: Any) -> str:
    """How CloudFormation turns a scalar into a string (booleans lowercase)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        raise TemplateError(f"expected a scalar, got {value!r}")
    return str(value)


# --------------------------------------------------------------------------- physical ids

STREAM_LABEL: Final = "1970-01-01T00:00:00.000"


def sandbox_key_id(account_id: str, region: str, logical_id: str) -> str:
    """The id the sandbox gives a template's KMS key: the same on every deploy, so a
    warm function's configuration (its SIGNING_KEY_ID) names the redeployed key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kms://{account_id}/{region}/{logical_id}"))


def default_physical_ids(
    template: Mapping[str, Any], *, account_id: str, region: str, partition: str = "aws"
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Deterministic `Ref` values and `GetAtt` attributes for every resource.

    Names follow `driftguard-<LogicalId>` unless the resource names itself; the
    sandbox deploys under exactly these names, and contract tests can resolve a
    template without deploying anything.
    """
    refs: dict[str, str] = {}
    attrs: dict[str, dict[str, str]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        kind = str(resource.get("Type", ""))
        props = resource.get("Properties") or {}
        name = _own_name(props, kind) or f"{NAME_PREFIX}-{logical_id}"

        def arn(service: str, rest: str) -> str:
            return f"arn:{partition}:{service}:{region}:{account_id}:{rest}"

        if kind == "AWS::DynamoDB::Table":
            refs[logical_id] = name
            table = arn("dynamodb", f"table/{name}")
            # The stream's label is the time it was enabled; the sandbox's is its own.
            attrs[logical_id] = {"Arn": table, "StreamArn": f"{table}/stream/{STREAM_LABEL}"}
        elif kind == "AWS::KMS::Key":
            refs[logical_id] = sandbox_key_id(account_id, region, logical_id)
            attrs[logical_id] = {
                "Arn": arn("kms", f"key/{refs[logical_id]}"),
                "KeyId": refs[logical_id],
            }
        elif kind == "AWS::SNS::Topic":
            refs[logical_id] = arn("sns", name)
            attrs[logical_id] = {"TopicName": name, "TopicArn": refs[logical_id]}
        elif kind == "AWS::SQS::Queue":
            refs[logical_id] = f"https://sqs.{region}.amazonaws.com/{account_id}/{name}"
            attrs[logical_id] = {
                "Arn": arn("sqs", name),
                "QueueName": name,
                "QueueUrl": refs[logical_id],
            }
        elif kind == "AWS::Events::EventBus":
            refs[logical_id] = name
            attrs[logical_id] = {"Arn": arn("events", f"event-bus/{name}"), "Name": name}
        elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            refs[logical_id] = name
            attrs[logical_id] = {"Arn": arn("lambda", f"function:{name}")}
            if kind == "AWS::Serverless::Function" and "Role" not in props:
                # The execution role SAM generates, which a template may `!GetAtt`.
                role = f"{NAME_PREFIX}-{logical_id}Role"
                refs[f"{logical_id}Role"] = role
                attrs[f"{logical_id}Role"] = {
                    "Arn": f"arn:{partition}:iam::{account_id}:role/{role}"
                }
        elif kind in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            refs[logical_id] = arn("lambda", f"layer:{name}:1")
            attrs[logical_id] = {}
        elif kind == "AWS::IAM::Role":
            refs[logical_id] = name
            attrs[logical_id] = {
                "Arn": f"arn:{partition}:iam::{account_id}:role/{name}",
                "RoleId": "AROA" + "0" * 17,
            }
        else:
            refs[logical_id] = name
            attrs[logical_id] = {}
    return refs, attrs


_NAME_PROPERTIES: Final = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Events::EventBus": "Name",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
}


def _own_name(props: Mapping[str, Any], kind: str) -> str | None:
    """The name a resource gives itself, if it is a plain string."""
    value = props.get(_NAME_PROPERTIES.get(kind, ""))
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------- functions

_RULE_EVENT_TYPES: Final = ("EventBridgeRule", "CloudWatchEvent")
_SCHEDULE_EVENT_TYPES: Final = ("Schedule", "ScheduleV2")


@dataclass(frozen=True)
class RuleSpec:
    """One EventBridge rule from a function's `Events`.

    `bus` is "hub" for rules on the hub's custom bus (`EventBusName` given: what
    the spoke stacks forward to) and "default" for the hub account's own default bus.
    `dead_letter_arn` is the rule target's `DeadLetterConfig.Arn`, resolved.
    """

    name: str
    bus: Literal["default", "hub"]
    pattern: dict[str, Any]
    dead_letter_arn: str | None = None


@dataclass(frozen=True)
class StreamSpec:
    """A DynamoDB stream an `AWS::Lambda::EventSourceMapping` feeds a function from:
    the table's logical id, the mapping's filter patterns (parsed), batch size, retries
    and on-failure destination (resolved)."""

    table: str
    patterns: list[dict[str, Any]]
    batch_size: int = 100
    maximum_retry_attempts: int = -1
    on_failure: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """What the sandbox needs to run one function as Lambda would.

    `sns_topics` are the topics its `Events` of Type SNS subscribe it to: the
    logical id for a `!Ref` to a template resource, else the resolved ARN.
    `sqs_queues` are the queues an `AWS::Lambda::EventSourceMapping` feeds it
    from: the logical id for a `!GetAtt X.Arn` of a template resource, else the
    resolved ARN.
    `dead_letter_arn` is its own `DeadLetterQueue.TargetArn` (Globals merged),
    where Lambda puts an asynchronous invocation that failed every attempt.
    """

    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    event_rules: list[RuleSpec]
    schedules: list[str]
    sns_topics: list[str]
    function_name: str = ""
    memory_size: int = 128
    timeout: int = 3
    dead_letter_arn: str | None = None
    sqs_queues: list[str] = field(default_factory=list)
    streams: list[StreamSpec] = field(default_factory=list)

    @property
    def handler_file(self) -> Path:
        """`app.handler` -> `<code_uri>/app.py`."""
        module, _, _ = self.handler.rpartition(".")
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def handler_name(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass
class _Events:
    """A function's `Events`, by what delivers them."""

    rules: list[RuleSpec] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, events: Mapping[str, Any], context: ResolveContext) -> _Events:
        found = cls()
        for event_name, event in events.items():
            kind = event.get("Type")
            props = event.get("Properties") or {}
            if kind in _RULE_EVENT_TYPES:
                bus_name = resolve(props.get("EventBusName"), context)
                found.rules.append(
                    RuleSpec(
                        name=event_name,
                        bus="default" if bus_name in (None, "default") else "hub",
                        pattern=resolve(props.get("Pattern") or {}, context),
                        dead_letter_arn=resolve(
                            (props.get("DeadLetterConfig") or {}).get("Arn"), context
                        ),
                    )
                )
            elif kind in _SCHEDULE_EVENT_TYPES:
                expression = props.get("ScheduleExpression", props.get("Schedule"))
                found.schedules.append(_to_string(resolve(expression, context)))
            elif kind == "SNS":
                found.topics.append(_logical_or_resolved(props.get("Topic"), context))
        return found


def _logical_or_resolved(value: Any, context: ResolveContext) -> str:
    """The logical id a `!Ref X` or `!GetAtt X.Arn` names, else the resolved value."""
    if isinstance(value, dict) and isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    get_att = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    if isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == "Arn":
        return str(get_att[0])
    return _to_string(resolve(value, context))


def _mappings(template: Mapping[str, Any], function_id: str) -> list[dict[str, Any]]:
    """The properties of the template's event source mappings for this function."""
    return [
        props
        for resource in (template.get("Resources") or {}).values()
        if resource.get("Type") == "AWS::Lambda::EventSourceMapping"
        for props in [resource.get("Properties") or {}]
        if props.get("FunctionName") == {"Ref": function_id}
    ]


def _stream_table(source: Any) -> str | None:
    """The table a `!GetAtt Table.StreamArn` names (None: not a table's stream)."""
    get_att = source.get("Fn::GetAtt") if isinstance(source, dict) else None
    if isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == "StreamArn":
        return str(get_att[0])
    return None


def _mapped_queues(
    template: Mapping[str, Any], function_id: str, context: ResolveContext
) -> list[str]:
    """The queues the template's event source mappings poll for this function."""
    return [
        _logical_or_resolved(props.get("EventSourceArn"), context)
        for props in _mappings(template, function_id)
        if _stream_table(props.get("EventSourceArn")) is None
    ]


def _mapped_streams(
    template: Mapping[str, Any], function_id: str, context: ResolveContext
) -> list[StreamSpec]:
    """The table streams the template's event source mappings poll for this function."""
    streams: list[StreamSpec] = []
    for props in _mappings(template, function_id):
        table = _stream_table(props.get("EventSourceArn"))
        if table is None:
            continue
        filters = (props.get("FilterCriteria") or {}).get("Filters") or []
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        streams.append(
            StreamSpec(
                table=table,
                patterns=[json.loads(str(f["Pattern"])) for f in filters],
                batch_size=int(props.get("BatchSize", 100)),
                maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                on_failure=resolve(on_failure, context),
            )
        )
    return streams


def _global_function_properties(template: Mapping[str, Any]) -> dict[str, Any]:
    return dict(((template.get("Globals") or {}).get("Function")) or {})


def globals_environment(template: Mapping[str, Any], context: ResolveContext) -> dict[str, str]:
    """`Globals.Function.Environment.Variables`, resolved to strings."""
    variables = (_global_function_properties(template).get("Environment") or {}).get(
        "Variables"
    ) or {}
    return {name: _to_string(value) for name, value in resolve(variables, context).items()}


def function_specs(template: Mapping[str, Any], context: ResolveContext) -> list[FunctionSpec]:
    """One `FunctionSpec` per `AWS::Serverless::Function`, Globals merged in."""
    base_dir = getattr(template, "path", None)
    root = base_dir.parent if isinstance(base_dir, Path) else Path()
    global_props = _global_function_properties(template)
    specs: list[FunctionSpec] = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = {**global_props, **(resource.get("Properties") or {})}
        environment = {
            **globals_environment(template, context),
            **{
                name: _to_string(value)
                for name, value in resolve(
                    ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables")
                    or {},
                    context,
                ).items()
            },
        }
        events = _Events.of(props.get("Events") or {}, context)
        function_name = context.physical_ids.get(logical_id) or f"{NAME_PREFIX}-{logical_id}"
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_uri=(root / str(props.get("CodeUri", "."))).resolve(),
                handler=str(props.get("Handler", "app.handler")),
                environment=environment,
                event_rules=events.rules,
                schedules=events.schedules,
                sns_topics=events.topics,
                sqs_queues=_mapped_queues(template, logical_id, context),
                streams=_mapped_streams(template, logical_id, context),
                function_name=function_name,
                memory_size=int(resolve(props.get("MemorySize", 128), context)),
                timeout=int(resolve(props.get("Timeout", 3), context)),
                dead_letter_arn=resolve(
                    (props.get("DeadLetterQueue") or {}).get("TargetArn"), context
                ),
            )
        )
    return specs


SLACK_WEBHOOK_SECRET_NAME = "driftguard/slack-webhook"


def operator_parameters(account_id: str, region: str, partition: str = "aws") -> dict[str, str]:
    """The parameters template.yaml has no default for, as the sandbox gives them.

    An operator creates the Slack webhook secret before deploying the hub; the
    sandbox does the same and passes its partial ARN (Secrets Manager resolves a
    name without the random suffix)."""
    return {
        "SlackWebhookSecretArn": (
            f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:"
            f"{SLACK_WEBHOOK_SECRET_NAME}"
        )
    }
