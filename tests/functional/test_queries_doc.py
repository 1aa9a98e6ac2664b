"""docs/queries.md runs: every documented query, as an `aws dynamodb` command and as
PartiQL, against the sandbox after the story, checked against what driftguard recorded.

The `aws dynamodb` commands are not hard-coded here: each is parsed from the
document and turned into the boto3 call the AWS CLI makes (every `--option` is the
API parameter of the same name, found in botocore's service model). PartiQL runs
through ExecuteStatement, with the adjustments for moto the document lists.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shlex
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore import xform_name

from driftguard.model import AuditEntry, Declared, Inventory, StatusRecord
from driftguard.state import StateStore, UniqueIdItem
from driftguard.vocabulary import Status
from driftguard_cli import main as cli
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, Story

DOC = Path(__file__).resolve().parents[2] / "docs" / "queries.md"
PATTERNS = (
    "declared-policy",
    "resource-status",
    "status-newest-first",
    "resources-by-account",
    "resources-by-account-and-kind",
    "resources-naming-principal",
    "unique-id-to-role",
    "role-unique-ids",
    "audit-history",
    "audit-history-window",
)
KEY_ATTRIBUTES = {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"}


# --------------------------------------------------------------------------- the document


@dataclass(frozen=True)
class Block:
    lang: str  # "sh" or "sql"
    pattern: str | None
    code: str  # without the marker line


def doc_blocks() -> list[Block]:
    blocks = []
    for lang, body in re.findall(r"```(sh|sql)\n(.*?)```", DOC.read_text(), re.DOTALL):
        first, _, rest = body.partition("\n")
        marker = re.fullmatch(r"(?:#|--) pattern: ([a-z-]+)", first.strip())
        blocks.append(Block(lang, marker[1] if marker else None, rest if marker else body))
    return blocks


def block(pattern: str, lang: str) -> Block:
    (found,) = [b for b in doc_blocks() if b.pattern == pattern and b.lang == lang]
    return found


def test_every_access_pattern_is_documented_as_a_command_and_as_partiql() -> None:
    blocks = doc_blocks()
    assert Counter((b.pattern, b.lang) for b in blocks if b.pattern) == Counter(
        (p, lang) for p in PATTERNS for lang in ("sh", "sql")
    )
    # A query the test would not run must not be in the document.
    unmarked = [b.code for b in blocks if b.pattern is None]
    assert not [c for c in unmarked if "aws dynamodb" in c or "SELECT" in c.upper()], unmarked


def placeholders_in(text: str) -> set[str]:
    return set(re.findall(r"<([A-Z_]+)>", text))


def test_every_placeholder_is_explained() -> None:
    text = DOC.read_text()
    legend = text.split("## Placeholders", 1)[1].split("\n## ", 1)[0]
    explained = set(re.findall(r"^\| `<([A-Z_]+)>`(?:, `<([A-Z_]+)>`)?", legend, re.M))
    names = {name for pair in explained for name in pair if name}
    used = set().union(*(placeholders_in(b.code) for b in doc_blocks() if b.pattern))
    assert used == names


def markdown_table(header: str) -> list[list[str]]:
    """Cells of the table under `header` (a header row as written in the document)."""
    table = DOC.read_text().split(header, 1)[1].split("\n\n", 1)[0]
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in table.strip().splitlines()[1:]
    ]


def documented_attributes() -> dict[tuple[str, str], set[str]]:
    """(pk, sk) as written ("…" for any text) -> attributes besides the keys."""
    rows: dict[tuple[str, str], set[str]] = {}
    for item, attributes in markdown_table("| item | attributes |"):
        keys = tuple(re.findall(r"`([^`]+)`", item))
        pk, sk = (keys[0], keys[1]) if len(keys) == 2 else ("RES#…", keys[0])
        rows[(pk, sk)] = set(re.findall(r"`([^`]+)`", attributes))
    return rows


def key_design() -> list[tuple[str, str]]:
    """(pk, sk) of every item type in the key design table, `<...>` for any text."""
    rows = markdown_table("| pk | sk | item |")
    return [(pk.strip("`"), sk.strip("`")) for pk, sk, _ in rows]


def key_regex(pattern: str, wildcard: str) -> re.Pattern[str]:
    parts = re.split(wildcard, pattern)
    return re.compile(".+".join(re.escape(part) for part in parts))


def matches(pattern: tuple[str, str], wildcard: str, pk: str, sk: str) -> bool:
    return all(
        key_regex(p, wildcard).fullmatch(value) for p, value in zip(pattern, (pk, sk), strict=True)
    )


def test_documented_attributes_are_the_models_fields() -> None:
    rows = documented_attributes()

    def fields(cls: Any) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    assert rows[("RES#…", "DECLARED")] == fields(Declared)
    assert rows[("RES#…", "STATUS")] == fields(StatusRecord)
    assert rows[("RES#…", "AUDIT#…")] == fields(AuditEntry) | {"expires_at"}
    assert rows[("UID#…", "PRINCIPAL")] == set(UniqueIdItem.model_fields)
    assert rows[("PRINCIPAL#…", "UID#…")] == set(UniqueIdItem.model_fields)
    assert rows[("INVENTORY", "…")] == fields(Inventory)


# --------------------------------------------------------------------------- the world


def iso(moment: datetime) -> str:
    """How the table writes times in sort keys (driftguard.state)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass
class World:
    story: Story
    store: StateStore
    dynamodb: Any  # low-level client: items in DynamoDB JSON, as the AWS CLI prints them
    notes_arn: str  # a secret in the security account, next to the key
    first_id: str
    second_id: str
    window: tuple[datetime, datetime]
    values: dict[str, str]


@pytest.fixture(scope="module")
def world(sandbox_server: Sandbox) -> Iterator[World]:
    """The story, played once for this module: three resources declared, the key
    policy widened by hand and restored, pod-role deleted, created again, deleted again."""
    sandbox = sandbox_server
    sandbox.reset()
    assert sandbox.stack is not None
    story = Story.create(sandbox)
    notes = story.security.client("secretsmanager")
    notes_arn = notes.create_secret(Name="audit-notes", SecretString="n/a")["ARN"]
    notes.put_resource_policy(
        SecretId=notes_arn,
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    for arn in (story.key_arn, story.secret_arn, notes_arn):
        assert cli.main(["adopt", arn, "--mode", "enforce"], out=io.StringIO()) == 0
    # The access path, too: deleting pod-role below breaks it (a verdict item).
    adopt_path = ["adopt-path", POD_ROLE_ARN, story.secret_arn, "--mode", "detect"]
    assert cli.main(adopt_path, out=io.StringIO()) == 0
    sandbox.wait_idle()
    story.widen_key_policy()
    sandbox.wait_idle()
    first_id = story.pod_role_id
    start = datetime.now(UTC)
    story.delete_pod_role()
    sandbox.wait_idle()
    end = datetime.now(UTC)
    second_id = story.recreate_pod_role()
    sandbox.wait_idle()
    story.delete_pod_role()
    sandbox.wait_idle()

    table = sandbox.stack.table_name
    hub = sandbox.hub_session()
    yield World(
        story=story,
        store=StateStore.for_table(hub, table),
        dynamodb=hub.client("dynamodb"),
        notes_arn=notes_arn,
        first_id=first_id,
        second_id=second_id,
        window=(start, end),
        values={
            "TABLE": table,
            "RESOURCE_ARN": story.key_arn,
            "STATUS": Status.ORPHANED_PRINCIPAL.value,
            "ACCOUNT_ID": "333333333333",
            "KIND": "kms-key",
            "ROLE_ARN": POD_ROLE_ARN,
            "UNIQUE_ID": first_id,
            "FROM": iso(start),
            "TO": iso(end),
        },
    )


def fill(text: str, values: dict[str, str]) -> str:
    missing = placeholders_in(text) - set(values)
    assert not missing, f"the test has no value for {missing}"
    return re.sub(r"<([A-Z_]+)>", lambda m: values[m[1]], text)


_DESERIALIZE = TypeDeserializer()


def plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZE.deserialize(value) for name, value in item.items()}


# --------------------------------------------------------------------------- what each returns


@dataclass(frozen=True)
class Expected:
    pick: Callable[[dict[str, Any]], Any]  # the part of an item compared
    values: list[Any]
    ordered: bool = False  # the query promises this order


def expectations(w: World) -> dict[str, Expected]:
    store, key = w.store, w.story.key_arn
    declared = store.get_declared(key)
    assert declared is not None
    records = [store.get_status(arn) for arn in (key, w.story.secret_arn, w.notes_arn)]
    assert all(r is not None for r in records)
    statuses = [r for r in records if r is not None]
    orphaned = sorted(
        (r for r in statuses if r.status is Status.ORPHANED_PRINCIPAL),
        key=lambda r: (r.updated_at, r.arn),
        reverse=True,
    )
    history = store.history(key)
    start, end = w.window
    in_window = [e.action.value for e in history if start <= e.at <= end]
    # The story must make every query meaningful: several answers, and filters that filter.
    assert len(orphaned) == 2 and 0 < len(in_window) < len(history)
    return {
        "declared-policy": Expected(
            lambda i: (i["arn"], i["policy"], int(i["version"])),
            [(key, declared.policy, declared.version)],
        ),
        "resource-status": Expected(
            lambda i: (i["arn"], i["status"]), [(key, Status.ORPHANED_PRINCIPAL.value)]
        ),
        "status-newest-first": Expected(
            lambda i: i["arn"], [r.arn for r in orphaned], ordered=True
        ),
        "resources-by-account": Expected(lambda i: i["arn"], [key, w.notes_arn]),
        "resources-by-account-and-kind": Expected(lambda i: i["arn"], [key]),
        "resources-naming-principal": Expected(lambda i: i["arn"], [key, w.story.secret_arn]),
        "unique-id-to-role": Expected(lambda i: i["principal_arn"], [POD_ROLE_ARN]),
        "role-unique-ids": Expected(lambda i: i["unique_id"], [w.first_id, w.second_id]),
        "audit-history": Expected(
            lambda i: i["action"], [e.action.value for e in history], ordered=True
        ),
        "audit-history-window": Expected(lambda i: i["action"], in_window, ordered=True),
    }


def check(found: list[dict[str, Any]], expected: Expected, *, ordered: bool) -> None:
    got = [expected.pick(plain(item)) for item in found]
    if ordered:
        assert got == expected.values
    else:
        assert Counter(map(repr, got)) == Counter(map(repr, expected.values))


# --------------------------------------------------------------------------- aws dynamodb


def run_aws_cli(client: Any, command: str) -> list[dict[str, Any]]:
    """What `aws dynamodb <op> ...` returns, by the AWS CLI's own rules: each
    `--kebab-option` is the operation's PascalCase parameter, structures and maps
    are JSON, booleans are flags (`--no-x` for False). Pages are followed."""
    argv = shlex.split(command.replace("\\\n", " "))
    assert argv[:2] == ["aws", "dynamodb"], argv
    model = client.meta.service_model
    operations = {xform_name(name, "-"): name for name in model.operation_names}
    operation = model.operation_model(operations[argv[2]])
    members = {
        xform_name(name, "-"): (name, shape)
        for name, shape in operation.input_shape.members.items()
    }
    params: dict[str, Any] = {}
    args = iter(argv[3:])
    for option in args:
        assert option.startswith("--"), option
        name = option[2:]
        if name.startswith("no-") and name[3:] in members:
            api_name, shape = members[name[3:]]
            assert shape.type_name == "boolean", option
            params[api_name] = False
            continue
        api_name, shape = members[name]
        if shape.type_name == "boolean":
            params[api_name] = True
        elif shape.type_name in ("structure", "map", "list"):
            params[api_name] = json.loads(next(args))
        elif shape.type_name in ("integer", "long"):
            params[api_name] = int(next(args))
        else:
            params[api_name] = next(args)
    call = getattr(client, xform_name(operation.name))
    if operation.name == "GetItem":
        item = call(**params).get("Item")
        return [item] if item else []
    items: list[dict[str, Any]] = []
    while True:
        page = call(**params)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_aws_dynamodb_command(world: World, pattern: str) -> None:
    command = fill(block(pattern, "sh").code, world.values)
    expected = expectations(world)[pattern]
    check(run_aws_cli(world.dynamodb, command), expected, ordered=expected.ordered)


# --------------------------------------------------------------------------- PartiQL

_INDEX = re.compile(r'"([^"]+)"\."([^"]+)"')
_BEGINS_WITH = re.compile(r"\s+AND\s+begins_with\((\w+),\s*'([^']*)'\)", re.IGNORECASE)
_BETWEEN = re.compile(r"\s+AND\s+(\w+)\s+BETWEEN\s+'([^']*)'\s+AND\s+'([^']*)'", re.IGNORECASE)

Condition = Callable[[dict[str, Any]], bool]


def _begins_with(attribute: str, prefix: str, item: dict[str, Any]) -> bool:
    return str(item.get(attribute, {}).get("S", "")).startswith(prefix)


def _between(attribute: str, low: str, high: str, item: dict[str, Any]) -> bool:
    return low <= str(item.get(attribute, {}).get("S", "")) <= high


def for_moto(statement: str) -> tuple[str, list[Condition]]:
    """The statement moto can evaluate, and the conditions it cannot (applied by the
    caller): see "How the test runs this page on moto" in the document."""
    conditions: list[Condition] = []
    for attribute, prefix in _BEGINS_WITH.findall(statement):
        conditions.append(partial(_begins_with, attribute, prefix))
    for attribute, low, high in _BETWEEN.findall(statement):
        conditions.append(partial(_between, attribute, low, high))
    rewritten = _BETWEEN.sub("", _BEGINS_WITH.sub("", _INDEX.sub(r'"\1.\2"', statement)))
    # Anything else moto might misread must not slip through unnoticed.
    assert not re.search(r"begins_with|BETWEEN", rewritten, re.IGNORECASE), rewritten
    return rewritten, conditions


def execute(client: Any, statement: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"Statement": statement}
    while True:
        page = client.execute_statement(**params)
        items += page.get("Items", [])
        if "NextToken" not in page:
            return items
        params["NextToken"] = page["NextToken"]


def sql(block_code: str) -> str:
    lines = [line for line in block_code.splitlines() if not line.strip().startswith("--")]
    return " ".join(line.strip() for line in lines if line.strip())


def partition_keys(client: Any, table: str) -> dict[str | None, str]:
    """Partition key attribute of the table (None) and of each index, as deployed."""
    description = client.describe_table(TableName=table)["Table"]

    def hash_key(schema: list[dict[str, str]]) -> str:
        return next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")

    keys: dict[str | None, str] = {None: hash_key(description["KeySchema"])}
    for index in description.get("GlobalSecondaryIndexes", []):
        keys[index["IndexName"]] = hash_key(index["KeySchema"])
    return keys


@pytest.mark.parametrize("pattern", PATTERNS)
def test_partiql_reads_what_the_command_reads(world: World, pattern: str) -> None:
    """Same index as the `aws dynamodb` form, and its partition key fixed with `=`
    (otherwise DynamoDB scans the whole table; moto would not tell)."""
    statement = sql(block(pattern, "sql").code)
    argv = shlex.split(block(pattern, "sh").code.replace("\\\n", " "))
    cli_index = argv[argv.index("--index-name") + 1] if "--index-name" in argv else None
    found = re.search(r'FROM\s+"[^"]+"(?:\."([^"]+)")?', statement)
    assert found is not None, statement
    assert found[1] == cli_index
    key = partition_keys(world.dynamodb, world.values["TABLE"])[cli_index]
    assert re.search(rf"\bWHERE\s+{key}\s*=\s*'[^']+'", statement), statement


@pytest.mark.parametrize("pattern", PATTERNS)
def test_partiql_statement(world: World, pattern: str) -> None:
    statement, conditions = for_moto(fill(sql(block(pattern, "sql").code), world.values))
    found = [
        item for item in execute(world.dynamodb, statement) if all(c(item) for c in conditions)
    ]
    # moto ignores ORDER BY: the order is checked on the aws dynamodb form.
    check(found, expectations(world)[pattern], ordered=False)


def test_moto_still_lacks_what_the_document_says(world: World) -> None:
    """When moto learns these, the adjustments (and the note in the document) go."""
    table = world.values["TABLE"]
    partition = f"SELECT * FROM \"{table}\" WHERE pk = 'PRINCIPAL#{POD_ROLE_ARN}'"
    whole = execute(world.dynamodb, partition)
    with_prefix = execute(world.dynamodb, partition + " AND begins_with(sk, 'RES#')")
    assert len(with_prefix) == len(whole) > 2  # begins_with ignored: UID# items too
    between = f"{partition} AND sk BETWEEN 'RES#' AND 'RES#~'"
    assert execute(world.dynamodb, between) == []
    with pytest.raises(world.dynamodb.exceptions.ResourceNotFoundException):
        execute(world.dynamodb, f'SELECT * FROM "{table}"."ByStatus" WHERE gsi1pk = \'x\'')


def scan(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**params)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_every_item_in_the_table_is_documented(world: World) -> None:
    """Every item the story left has a row in the key design and in the attributes
    table, and carries no attribute the document does not list."""
    design, attributes = key_design(), documented_attributes()
    seen: set[tuple[str, str]] = set()
    for item in scan(world.dynamodb, world.values["TABLE"]):
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        assert any(matches(row, r"<[^>]+>", pk, sk) for row in design), (pk, sk)
        (kind,) = [k for k in attributes if matches(k, "…", pk, sk)]
        extra = set(item) - KEY_ATTRIBUTES - attributes[kind]
        assert not extra, (kind, extra)
        seen.add(kind)
    # Every documented item type shows up (leases stay, released, with what they
    # remember), but what only a sweep writes (the story ran none): the shard lease
    # and the counts of what exists.
    only_swept = {("SWEEP#…", "LEASE"), ("INVENTORY", "…")}
    assert seen - only_swept == set(attributes) - only_swept
    link = run_aws_cli(
        world.dynamodb, fill(block("resources-naming-principal", "sh").code, world.values)
    )
    linked = {a for item in link for a in item} - KEY_ATTRIBUTES
    assert linked == attributes[("PRINCIPAL#…", "RES#…")]
