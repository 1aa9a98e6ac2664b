"""Access path files (driftguard_cli.path_files), read through the declaration files'
loader: what a file declares, every way one can be wrong and what it is told (YAML's
traps refused as in policy files), two files for one path, the writer `export` uses
(stable, and read back as the declaration it wrote), and the history `apply` keeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from driftguard.model import AuditEntry
from driftguard.path_model import AccessPath, Irsa, PathDeclaration, PodIdentity
from driftguard.vocabulary import AuditAction, Mode
from driftguard_cli.commands.declarations_as_code import read_directory
from driftguard_cli.declaration_files import FileError, Source, load, parse
from driftguard_cli.path_declaring import apply_plan, changes, plan_path, remove_path
from driftguard_cli.path_files import PathFile, export_files, file_names, path_file, render
from driftguard_sandbox.story import DATA, OIDC_HOST, POD_ROLE_ARN, SECURITY
from tests.support.fakes import FakeClock, FakeSignatures

T0 = datetime(2026, 5, 1, tzinfo=UTC)
KEY = "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"
PROVIDER = f"arn:aws:iam::111111111111:oidc-provider/{OIDC_HOST}"
CLUSTER = "arn:aws:eks:us-east-1:111111111111:cluster/prod"
BOUNDARY = "arn:aws:iam::111111111111:policy/workload-boundary"
IRSA = Irsa(PROVIDER, "testnamespace", "testapp")
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "declarations"

IRSA_LINES = (
    "  irsa:",
    f"    provider: {PROVIDER}",
    "    namespace: testnamespace",
    "    service_account: testapp",
)


def path_yaml(*lines: str, name: str = "payments", access: tuple[str, ...] = IRSA_LINES) -> bytes:
    """An access path file: name, mode enforce, the story's role, secret and key, then
    `access` and `lines` (each already indented under access_path)."""
    head = [
        "access_path:",
        f"  name: {name}",
        "  mode: enforce",
        f"  role: {POD_ROLE_ARN}",
        f"  secret: {SECRET}",
        f"  key: {KEY}",
    ]
    return "\n".join([*head, *access, *lines, ""]).encode()


def declaration(**changes: Any) -> PathDeclaration:
    base = PathDeclaration(
        name="payments",
        path=AccessPath(POD_ROLE_ARN, SECRET, KEY, IRSA),
        mode=Mode.ENFORCE,
        version=3,
        declared_by="arn:aws:sts::333333333333:assumed-role/DeclarerRole/ci",
        declared_at=T0,
    )
    return replace(base, **changes)


# --------------------------------------------------------------------------- good files

POD = (
    "  pod_identity:",
    f"    cluster: {CLUSTER}",
    "    namespace: orders",
    "    service_account: api",
)

GOOD = [
    ("irsa.yaml", path_yaml(), dict(name="payments", mode=Mode.ENFORCE, boundary_arn=None)),
    (
        "pod.yml",
        path_yaml(f"  boundary: {BOUNDARY}", "  owner: payments", "  ticket: SEC-1", access=POD),
        dict(
            boundary_arn=BOUNDARY,
            owner="payments",
            ticket="SEC-1",
            path=AccessPath(POD_ROLE_ARN, SECRET, KEY, PodIdentity(CLUSTER, "orders", "api")),
        ),
    ),
    (
        "plain.json",
        (
            '{"access_path": {"name": "team/orders", "mode": "detect", '
            f'"role": "{POD_ROLE_ARN}", "secret": "{SECRET}", "key": "{KEY}", '
            f'"irsa": {{"provider": "{PROVIDER}", "namespace": "testnamespace", '
            '"service_account": "testapp"}}}'
        ).encode(),
        dict(
            name="team/orders", mode=Mode.DETECT, path=AccessPath(POD_ROLE_ARN, SECRET, KEY, IRSA)
        ),
    ),
]


@pytest.mark.parametrize(("file", "data", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_a_good_path_file_declares_what_it_says(
    file: str, data: bytes, expected: dict[str, Any]
) -> None:
    found = parse(Source(file, data))
    assert isinstance(found, PathFile), found
    assert found.file == file
    for name, value in expected.items():
        assert getattr(found, name) == value, name


# --------------------------------------------------------------------------- bad files

BAD = [
    (
        "top.yaml",
        path_yaml() + b"colour: red\n",
        ["colour: unknown field (allowed: access_path)"],
    ),
    (
        "field.yaml",
        path_yaml("  colour: red"),
        ["access_path.colour: unknown field (allowed: name, mode, role, secret, key, irsa, "],
    ),
    (
        "nested.yaml",
        path_yaml("    cluster: x"),
        ["access_path.irsa.cluster: unknown field (allowed: provider, namespace, service_account)"],
    ),
    (
        "both.yaml",
        path_yaml(access=IRSA_LINES + POD),
        ["access_path: give exactly one of irsa or pod_identity (how pods get the role)"],
    ),
    (
        "neither.yaml",
        path_yaml(access=()),
        ["access_path: give exactly one of irsa or pod_identity (how pods get the role)"],
    ),
    ("missing.yaml", b"access_path:\n  name: payments\n", ["access_path.mode: required field"]),
    ("empty.yaml", b"access_path:\n", ["access_path: must be a mapping"]),
    ("string.yaml", path_yaml(access=("  irsa: x",)), ["access_path.irsa: must be a mapping"]),
    ("name.yaml", path_yaml(name="Payments DB"), ["access_path.name: not a path name"]),
    ("number.yaml", path_yaml(name="1234"), ["access_path.name: Input should be a valid string"]),
    ("mode.yaml", path_yaml().replace(b"mode: enforce", b"mode: fix"), ["access_path.mode: Input"]),
    (
        "alias.yaml",
        path_yaml().replace(KEY.encode(), b"alias/payments"),
        ["access_path.key: not a KMS key ARN: 'alias/payments' (a file names the key by its ARN"],
    ),
    (
        "key.yaml",
        path_yaml().replace(KEY.encode(), b"arn:aws:s3:::bucket"),
        ["access_path.key: not a KMS key ARN, key ID or alias"],
    ),
    (
        "role.yaml",
        path_yaml().replace(POD_ROLE_ARN.encode(), b"arn:aws:iam::111111111111:user/bob"),
        ["access_path.role: not an IAM role ARN"],
    ),
    (
        "secret.yaml",
        path_yaml().replace(SECRET.encode(), KEY.encode()),
        ["access_path.secret: not a Secrets Manager secret ARN"],
    ),
    (
        "account.yaml",
        path_yaml().replace(b"service_account: testapp", b"service_account: Test_App"),
        ["access_path.irsa.service_account: not a Kubernetes service account name"],
    ),
    (
        "boundary.yaml",
        path_yaml("  boundary: workload-boundary"),
        ["access_path.boundary: not an IAM policy ARN"],
    ),
    (  # YAML's traps, refused as in a policy file
        "date.yaml",
        path_yaml(name="2026-05-01"),
        [
            "not valid YAML: 2026-05-01 is read as a date in YAML; quote it to mean the text "
            "(line 2, column 9)"
        ],
    ),
    (
        "on.yaml",
        path_yaml().replace(b"mode: enforce", b"mode: on"),
        ["on is read as a boolean in YAML"],
    ),
    (
        "octal.yaml",
        path_yaml(name="0777"),
        ["0777 is read as a number in YAML; quote it to mean the text"],
    ),
    (
        "twice.yaml",
        path_yaml("  mode: detect"),
        ["the key 'mode' appears twice in one mapping (line 11, column 3)"],
    ),
    (
        "twice.json",
        b'{"access_path": {"name": "a"}, "access_path": {"name": "b"}}',
        ["not valid JSON: the key 'access_path' appears twice in one object"],
    ),
    (  # every problem at once
        "several.yaml",
        b"access_path:\n  name: Bad Name\n  mode: fix\n  colour: red\n",
        ["name: not a path name", "mode: Input should be", "role: required", "colour: unknown"],
    ),
]


@pytest.mark.parametrize(("file", "data", "messages"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_path_file_is_told_what_is_wrong_and_where(
    file: str, data: bytes, messages: list[str]
) -> None:
    found = parse(Source(file, data))
    assert isinstance(found, FileError), found
    assert found.path == file
    text = str(found)
    for message in messages:
        assert message in text, text


# --------------------------------------------------------------------------- loading


def test_paths_and_policies_load_side_by_side_and_one_name_is_declared_once() -> None:
    policy = f"arn: {KEY}\nmode: enforce\npolicy:\n  Statement: []\n".encode()
    loaded = load(
        [
            Source("key.yaml", policy),
            Source("paths/a.yaml", path_yaml()),
            Source("paths/b.yaml", path_yaml().replace(b"mode: enforce", b"mode: detect")),
            Source("paths/c.yaml", path_yaml(name="orders")),
        ]
    )
    assert [f.path for f in loaded.files] == ["key.yaml"]
    assert [p.file for p in loaded.paths] == ["paths/c.yaml"]
    assert [str(e) for e in loaded.errors] == [
        "paths/a.yaml: access_path.name: payments is declared in paths/b.yaml too",
        "paths/b.yaml: access_path.name: payments is declared in paths/a.yaml too",
    ]


def test_the_example_directory_holds_the_storys_path() -> None:
    loaded = load(read_directory(EXAMPLES))
    assert loaded.errors == ()
    (example,) = loaded.paths
    assert example.file == "paths/testsecret.yaml"
    assert example.path == AccessPath(POD_ROLE_ARN, SECRET, KEY, IRSA)
    assert example.path.secret_arn.split(":")[4] == DATA
    assert example.path.key_arn.split(":")[4] == SECURITY
    assert (example.mode, example.owner, example.ticket) == (
        Mode.ENFORCE,
        "platform-team",
        "SEC-1234",
    )


# --------------------------------------------------------------------------- writing


def test_an_exported_path_is_stable_and_in_a_fixed_order() -> None:
    found = replace(
        path_file(declaration(boundary_arn=BOUNDARY), "p.yaml"), owner="ops", ticket="SEC-9"
    )
    assert render(found) == (
        "# A driftguard access path: see docs/declarations-as-code.md\n"
        "access_path:\n"
        "  name: payments\n"
        "  mode: enforce\n"
        f"  role: {POD_ROLE_ARN}\n"
        f"  secret: {SECRET}\n"
        f"  key: {KEY}\n"
        "  irsa:\n"
        f"    provider: {PROVIDER}\n"
        "    namespace: testnamespace\n"
        "    service_account: testapp\n"
        f"  boundary: {BOUNDARY}\n"
        "  owner: ops\n"
        "  ticket: SEC-9\n"
    )
    assert render(found) == render(replace(found, file="elsewhere.yaml"))


@pytest.mark.parametrize(
    "declared",
    [
        declaration(),
        declaration(
            name="team/orders",
            mode=Mode.DETECT,
            boundary_arn=BOUNDARY,
            path=AccessPath(POD_ROLE_ARN, SECRET, KEY, PodIdentity(CLUSTER, "yes", "on")),
        ),
        declaration(name="0777"),
        declaration(name="2026-05-01"),
        declaration(name="on"),
    ],
    ids=["irsa", "pod-identity", "octal-name", "date-name", "boolean-name"],
)
def test_export_then_load_is_the_declaration_again(declared: PathDeclaration) -> None:
    files = export_files([declared])
    loaded = load(Source(file, text.encode()) for file, text in files.items())
    assert loaded.errors == ()
    (found,) = loaded.paths
    assert (found.name, found.mode, found.path, found.boundary_arn) == (
        declared.name,
        declared.mode,
        declared.path,
        declared.boundary_arn,
    )
    plan = plan_path(
        declared,
        name=found.name,
        path=found.path,
        mode=found.mode,
        boundary_arn=found.boundary_arn,
        declared_by="ci",
        clock=FakeClock(T0),
    )
    assert changes(declared, plan.declaration) == ()  # plan right after export: unchanged


def test_file_names_stay_in_the_paths_directory_and_are_never_taken_twice() -> None:
    names = file_names(["payments", "team/orders", "team--orders", "a/../../../etc/x", "a/.b"])
    assert names["payments"] == "paths/payments.yaml"
    assert names["team/orders"].startswith("paths/team--orders-")
    assert names["team--orders"].startswith("paths/team--orders-")
    assert names["team/orders"] != names["team--orders"]
    for name in names.values():
        assert name.count("/") == 1 and not name.split("/")[1].startswith(".")
    assert file_names(["team/orders"]) == {"team/orders": "paths/team--orders.yaml"}


# --------------------------------------------------------------------------- the history


class RecordingPaths:
    def __init__(self) -> None:
        self.puts: list[tuple[PathDeclaration, AuditEntry]] = []
        self.deletes: list[tuple[PathDeclaration, AuditEntry]] = []

    def put(self, declaration: PathDeclaration, audit: AuditEntry) -> None:
        self.puts.append((declaration, audit))

    def delete(self, declaration: PathDeclaration, audit: AuditEntry) -> None:
        self.deletes.append((declaration, audit))


def test_a_files_owner_and_ticket_are_in_the_history_not_in_the_signature() -> None:
    clock, signatures, paths = FakeClock(T0), FakeSignatures(), RecordingPaths()
    plan = plan_path(
        declaration(),
        name="payments",
        path=declaration().path,
        mode=Mode.DETECT,
        boundary_arn=None,
        declared_by="ci",
        clock=clock,
    )
    notes = ["owner payments", "ticket SEC-42"]
    signed = apply_plan(plan, signatures=signatures, paths=paths, clock=clock, notes=notes)  # type: ignore[arg-type]
    ((_, audit),) = paths.puts
    assert audit.message.endswith("; mode: enforce -> detect; owner payments, ticket SEC-42")
    unnoted = apply_plan(plan, signatures=signatures, paths=RecordingPaths(), clock=clock)  # type: ignore[arg-type]
    assert signed == unnoted  # the same signed declaration


def test_a_removal_is_in_the_paths_history() -> None:
    paths = RecordingPaths()
    remove_path(declaration(), removed_by="ci", paths=paths, clock=FakeClock(T0))  # type: ignore[arg-type]
    ((removed, audit),) = paths.deletes
    assert removed == declaration()  # only if still version 3 (PathStore.delete)
    assert (audit.arn, audit.action, audit.actor, audit.at) == (
        "path/payments",
        AuditAction.UNDECLARED,
        "ci",
        T0,
    )
    assert audit.message == "access path version 3 removed: driftguard no longer verifies it"
    assert audit.before_digest
