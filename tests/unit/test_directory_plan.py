"""The answer of `driftguard plan DIR` (driftguard_cli.directory_plan) and its view
(driftguard_cli.plan_views), built from plain files, plans and declarations; access
paths planned beside the resources."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console, RenderableType

from driftguard import kinds
from driftguard.classify import classify
from driftguard.model import Declared, sha256
from driftguard.path_model import AccessPath, Irsa, PathDeclaration, PodIdentity
from driftguard.policy import Policy
from driftguard.vocabulary import Mode
from driftguard_cli.declaration_files import DeclarationFile, FileError
from driftguard_cli.declarations import Plan
from driftguard_cli.directory_plan import (
    AccessPathPlan,
    DirectoryPlan,
    PlanAction,
    access_path_plans,
    directory_plan,
    exit_code,
    prune_refusal,
    resource_plan,
    summary,
    to_json,
)
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_OK, EXIT_USAGE
from driftguard_cli.path_files import PathFile
from driftguard_cli.plan_views import ACTION_MARKS, directory_plan_view
from driftguard_sandbox.story import OIDC_HOST, POD_ROLE_ARN, key_policy, secret_policy
from tests.support.fakes import FakeClock

T0 = datetime(2026, 5, 1, tzinfo=UTC)
KEY = "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"
OTHER = "arn:aws:secretsmanager:us-east-1:222222222222:secret:other-QwErTy"
VENDOR = "arn:aws:iam::444455556666:root"
RED = "\x1b[31m"


def declared(arn: str, policy: dict[str, Any], mode: Mode = Mode.ENFORCE, v: int = 1) -> Declared:
    text = json.dumps(policy)
    return Declared(
        arn=arn,
        kind=kinds.target(arn).kind.name,
        account=arn.split(":")[4],
        region="us-east-1",
        policy=text,
        digest=sha256(text),
        mode=mode,
        version=v,
        declared_by="alice",
        declared_at=T0,
        principals=(),
    )


def widened(policy: dict[str, Any]) -> dict[str, Any]:
    grant = {"Effect": "Allow", "Principal": {"AWS": VENDOR}, "Action": "kms:Decrypt"}
    return policy | {"Statement": [*policy["Statement"], grant | {"Resource": "*"}]}


def planned(
    file: DeclarationFile, previous: Declared | None, live: dict[str, Any] | None = None
) -> Plan:
    """What Declarations.plan answers for the file, the declaration and the live policy
    (by default the current declaration's)."""
    new = Policy.parse(file.policy_text)
    live_policy = live if live is not None else json.loads(previous.policy) if previous else None
    return Plan(
        target=kinds.target(file.arn),
        declared=replace(
            declared(file.arn, dict(file.policy), file.mode),
            version=(previous.version + 1) if previous else 1,
        ),
        previous=previous,
        public=(),
        against_declared=classify(Policy.parse(previous.policy), new) if previous else None,
        against_live=classify(new, Policy.parse(json.dumps(live_policy)) if live_policy else None),
        owner=file.owner,
        ticket=file.ticket,
    )


def file(arn: str, policy: dict[str, Any], mode: Mode = Mode.ENFORCE, **kw: Any) -> DeclarationFile:
    name = "key.yaml" if ":kms:" in arn else "secret.yaml"
    return DeclarationFile(kw.pop("path", name), arn, mode, policy, **kw)


@pytest.mark.parametrize(
    ("policy", "mode", "current", "action"),
    [
        (key_policy(), Mode.ENFORCE, None, PlanAction.NEW),
        (key_policy(), Mode.ENFORCE, declared(KEY, key_policy()), PlanAction.UNCHANGED),
        (
            dict(reversed(list(key_policy().items()))),  # the same document, keys reordered
            Mode.ENFORCE,
            declared(KEY, key_policy()),
            PlanAction.UNCHANGED,
        ),
        (key_policy(), Mode.DETECT, declared(KEY, key_policy()), PlanAction.CHANGE),
        (widened(key_policy()), Mode.ENFORCE, declared(KEY, key_policy()), PlanAction.CHANGE),
    ],
    ids=["first", "equal", "key-order", "mode", "policy"],
)
def test_what_a_file_does_to_its_resource(
    policy: dict[str, Any], mode: Mode, current: Declared | None, action: PlanAction
) -> None:
    the_file = file(KEY, policy, mode)
    assert resource_plan(the_file, planned(the_file, current)).action is action


def story_plan(*, prune: bool, errors: tuple[FileError, ...] = ()) -> DirectoryPlan:
    """The key widened, the secret unchanged, a third secret declared with no file, a new
    one declared by a file."""
    current = [
        declared(KEY, key_policy()),
        declared(SECRET, secret_policy()),
        declared(OTHER, secret_policy()),
    ]
    new = "arn:aws:kms:us-east-1:333333333333:key/99999999-12ab-34cd-56ef-1234567890ab"
    files = [
        file(KEY, widened(key_policy()), owner="payments", ticket="SEC-42"),
        file(SECRET, secret_policy()),
        file(new, key_policy(), path="new.yaml"),
    ]
    plans = {
        KEY: planned(files[0], current[0]),
        SECRET: planned(files[1], current[1]),
        new: planned(files[2], None, key_policy()),
    }
    return directory_plan(
        "declarations", files, plans, errors, current, prune=prune, file_count=len(files)
    )


def test_the_directory_plan_lists_each_resource_once_and_the_declared_ones_with_no_file() -> None:
    answer = story_plan(prune=False)
    actions = [(r.arn, r.action) for r in answer.resources]
    assert actions[:2] == [(KEY, PlanAction.CHANGE), (SECRET, PlanAction.UNCHANGED)]
    assert actions[2][1] is PlanAction.NEW
    assert actions[3] == (OTHER, PlanAction.KEEP)
    assert summary(answer) == "1 to change, 1 new, 1 unchanged, 1 to remove with --prune"
    assert [r.action for r in answer.writes] == [PlanAction.NEW, PlanAction.CHANGE]
    pruned = story_plan(prune=True)
    assert summary(pruned) == "1 to change, 1 new, 1 unchanged, 1 to remove"
    assert [r.label for r in pruned.writes][-1] == OTHER  # removals last


def test_a_file_that_could_not_be_planned_is_an_error_not_a_removal() -> None:
    """The secret's file failed (say, not found): its declaration is not 'not in DIR'."""
    error = FileError("secret.yaml", ("cannot declare it: not found",))
    answer = directory_plan(
        "d",
        [file(SECRET, secret_policy())],
        {},
        [error],
        [declared(SECRET, secret_policy())],
        prune=True,
        file_count=1,
    )
    assert answer.resources == () and answer.errors == (error,)
    assert summary(answer) == "0 to change, 0 new, 0 unchanged, 1 file with errors"


@pytest.mark.parametrize(
    ("prune", "errors", "code"),
    [
        (False, (), EXIT_DRIFT),
        (True, (), EXIT_DRIFT),
        (False, (FileError("bad.yaml", ("x",)),), EXIT_USAGE),
    ],
)
def test_exit_codes_are_terraforms_detailed_ones(
    prune: bool, errors: tuple[FileError, ...], code: int
) -> None:
    assert exit_code(story_plan(prune=prune, errors=errors)) == code


def test_nothing_to_do_is_exit_0_even_with_declarations_kept() -> None:
    current = [declared(SECRET, secret_policy()), declared(OTHER, secret_policy())]
    the_file = file(SECRET, secret_policy())
    answer = directory_plan(
        "d",
        [the_file],
        {SECRET: planned(the_file, current[0])},
        [],
        current,
        prune=False,
        file_count=1,
    )
    assert exit_code(answer) == EXIT_OK
    assert summary(answer) == "0 to change, 0 new, 1 unchanged, 1 to remove with --prune"


def test_pruning_with_no_file_at_all_is_refused() -> None:
    current = [declared(SECRET, secret_policy())]
    empty = directory_plan("typo/", [], {}, [], current, prune=True, file_count=0)
    assert prune_refusal(empty) == (
        "typo/ holds no declaration files: refusing to remove every declaration (--prune)"
    )
    assert prune_refusal(replace(empty, prune=False)) is None
    assert prune_refusal(story_plan(prune=True)) is None


def test_the_json_answer_says_what_changes_and_whether_it_widens() -> None:
    data = to_json(story_plan(prune=False))
    assert data["summary"] == {
        "new": 1,
        "change": 1,
        "unchanged": 1,
        "kept": 1,
        "remove": 0,
        "errors": 0,
    }
    key = data["resources"][0]
    assert key["action"] == "change" and key["widens"] is True
    assert (key["version"], key["current_version"]) == (2, 1)
    assert (key["owner"], key["ticket"]) == ("payments", "SEC-42")
    assert f"+ principal {VENDOR}" in key["against_declared"]["changes"]
    assert data["resources"][1]["widens"] is False and data["resources"][1]["version"] is None
    assert data["resources"][3] == {
        "kind": "secret",
        "arn": OTHER,
        "action": "kept",
        "file": None,
        "current_version": 1,
        "current_mode": "enforce",
    }
    json.dumps(data)  # plain data


# --------------------------------------------------------------------------- the view


def ansi(renderable: RenderableType) -> str:
    console = Console(
        width=300, force_terminal=True, color_system="standard", highlight=False, markup=False
    )
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def plain(renderable: RenderableType) -> str:
    console = Console(width=300, color_system=None, highlight=False, markup=False)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def test_every_plan_action_has_a_mark() -> None:
    assert set(ACTION_MARKS) == set(PlanAction)


def test_the_view_shows_changes_in_full_and_the_rest_in_one_line() -> None:
    text = plain(directory_plan_view(story_plan(prune=False)))
    lines = text.splitlines()
    assert lines[0] == "~ change key.yaml  (owner payments, ticket SEC-42)"
    assert f"declaring {KEY} as version 2, enforce mode" in text
    assert "!! widens access" in text
    unchanged = [line for line in lines if SECRET in line]
    assert unchanged == [f"= no changes secret.yaml: {SECRET}"]
    (kept,) = [line for line in lines if OTHER in line]
    assert kept.endswith(": not in declarations (kept; apply --prune would remove the declaration)")
    assert lines[-1] == "1 to change, 1 new, 1 unchanged, 1 to remove with --prune"


def test_the_widening_line_is_red() -> None:
    (line,) = [
        line
        for line in ansi(directory_plan_view(story_plan(prune=False))).splitlines()
        if f"+ principal {VENDOR}" in line
    ]
    assert line.startswith(RED)


def test_errors_are_listed_with_their_files() -> None:
    errors = (FileError("bad.yaml", ("colour: unknown field",)),)
    text = plain(directory_plan_view(story_plan(prune=False, errors=errors)))
    assert "errors (nothing is applied until every file is fixed):" in text
    assert "  bad.yaml: colour: unknown field" in text.splitlines()


# --------------------------------------------------------------------------- access paths

IRSA = Irsa(f"arn:aws:iam::111111111111:oidc-provider/{OIDC_HOST}", "testnamespace", "testapp")
STORY_PATH = AccessPath(POD_ROLE_ARN, SECRET, KEY, IRSA)
OTHER_KEY = "arn:aws:kms:us-east-1:333333333333:key/99999999-12ab-34cd-56ef-1234567890ab"
BOUNDARY = "arn:aws:iam::111111111111:policy/workload-boundary"


def path_declared(name: str = "testsecret", v: int = 1, **changes: Any) -> PathDeclaration:
    base = PathDeclaration(
        name=name,
        path=STORY_PATH,
        mode=Mode.ENFORCE,
        version=v,
        declared_by="alice",
        declared_at=T0,
    )
    return replace(base, **changes)


def path_file(name: str = "testsecret", **changes: Any) -> PathFile:
    return replace(PathFile(f"paths/{name}.yaml", name, Mode.ENFORCE, STORY_PATH), **changes)


def path_plans(
    files: list[PathFile], declared: list[PathDeclaration], *, prune: bool = False
) -> tuple[AccessPathPlan, ...]:
    return access_path_plans(files, declared, prune=prune, declared_by="ci", clock=FakeClock(T0))


@pytest.mark.parametrize(
    ("file", "action", "changes"),
    [
        (path_file(name="orders"), PlanAction.NEW, ()),
        (path_file(), PlanAction.UNCHANGED, ()),
        (path_file(owner="ops", ticket="SEC-1"), PlanAction.UNCHANGED, ()),  # not signed
        (path_file(mode=Mode.DETECT), PlanAction.CHANGE, ("mode: enforce -> detect",)),
        (
            path_file(path=replace(STORY_PATH, key_arn=OTHER_KEY)),
            PlanAction.CHANGE,
            (f"key_arn: {KEY} -> {OTHER_KEY}",),
        ),
        (
            path_file(boundary_arn=BOUNDARY),
            PlanAction.CHANGE,
            (f"boundary_arn: none -> {BOUNDARY}",),
        ),
        (
            path_file(path=replace(STORY_PATH, access=replace(IRSA, service_account="other"))),
            PlanAction.CHANGE,
            ("service_account: testapp -> other",),
        ),
        (
            path_file(
                path=replace(
                    STORY_PATH,
                    access=PodIdentity(
                        "arn:aws:eks:us-east-1:111111111111:cluster/prod",
                        "testnamespace",
                        "testapp",
                    ),
                )
            ),
            PlanAction.CHANGE,
            None,  # how pods get the role changes: several fields
        ),
    ],
    ids=["first", "equal", "owner-ticket", "mode", "key", "boundary", "account", "pod-identity"],
)
def test_what_a_file_does_to_its_access_path(
    file: PathFile, action: PlanAction, changes: tuple[str, ...] | None
) -> None:
    (planned, *_) = path_plans([file], [path_declared()])
    assert (planned.name, planned.action, planned.file) == (file.name, action, file.file)
    if changes is not None:
        assert planned.changes == changes
    else:
        assert "via: irsa -> pod-identity" in planned.changes
    assert planned.plan is not None
    assert planned.plan.declaration.version == (1 if action is PlanAction.NEW else 2)
    assert planned.plan.declaration.declared_by == "ci"


def test_a_declared_path_with_no_file_is_kept_unless_pruned() -> None:
    declared = [path_declared("orders", v=4), path_declared()]
    kept = path_plans([path_file()], declared)
    assert [(p.name, p.action) for p in kept] == [
        ("testsecret", PlanAction.UNCHANGED),
        ("orders", PlanAction.KEEP),
    ]
    assert kept[1].current == declared[0] and kept[1].plan is None
    pruned = path_plans([path_file()], declared, prune=True)
    assert pruned[1].action is PlanAction.REMOVE


def paths_plan(*, prune: bool) -> DirectoryPlan:
    """story_plan's resources, and three paths: testsecret's mode changed, orders new,
    billing declared with no file."""
    paths = path_plans(
        [path_file(mode=Mode.DETECT, owner="payments", ticket="SEC-7"), path_file("orders")],
        [path_declared(), path_declared("billing", v=2)],
        prune=prune,
    )
    return replace(story_plan(prune=prune), paths=paths)


def test_paths_are_counted_and_written_with_the_resources() -> None:
    answer = paths_plan(prune=False)
    assert summary(answer) == "2 to change, 2 new, 1 unchanged, 2 to remove with --prune"
    assert [(w.kind, w.label, w.action) for w in answer.writes][1:4] == [
        ("access-path", "orders", PlanAction.NEW),
        ("kms-key", KEY, PlanAction.CHANGE),
        ("access-path", "testsecret", PlanAction.CHANGE),
    ]
    pruned = paths_plan(prune=True)
    assert [(w.label, w.action) for w in pruned.writes][-2:] == [
        (OTHER, PlanAction.REMOVE),
        ("billing", PlanAction.REMOVE),  # removals last
    ]


@pytest.mark.parametrize(
    ("files", "declared", "prune", "code"),
    [
        ([path_file()], [path_declared()], False, EXIT_OK),
        ([], [path_declared()], False, EXIT_OK),  # kept: nothing to do
        ([], [path_declared()], True, EXIT_DRIFT),
        ([path_file(mode=Mode.DETECT)], [path_declared()], False, EXIT_DRIFT),
        ([path_file()], [], False, EXIT_DRIFT),
    ],
    ids=["unchanged", "kept", "pruned", "changed", "new"],
)
def test_a_path_alone_sets_the_exit_code(
    files: list[PathFile], declared: list[PathDeclaration], prune: bool, code: int
) -> None:
    answer = directory_plan(
        "d",
        [],
        {},
        [],
        [],
        prune=prune,
        file_count=len(files) or 1,
        paths=path_plans(files, declared, prune=prune),
    )
    assert exit_code(answer) == code


def test_pruning_paths_with_no_file_at_all_is_refused() -> None:
    paths = path_plans([], [path_declared()], prune=True)
    empty = directory_plan("typo/", [], {}, [], [], prune=True, file_count=0, paths=paths)
    assert prune_refusal(empty) is not None


def test_the_json_names_a_path_by_its_kind_and_name() -> None:
    data = to_json(paths_plan(prune=False))
    assert data["summary"]["change"] == 2 and data["summary"]["kept"] == 2
    by_name = {r["name"]: r for r in data["resources"] if r["kind"] == "access-path"}
    assert by_name["testsecret"] == {
        "kind": "access-path",
        "name": "testsecret",
        "action": "change",
        "file": "paths/testsecret.yaml",
        "current_version": 1,
        "current_mode": "enforce",
        "version": 2,
        "mode": "detect",
        "owner": "payments",
        "ticket": "SEC-7",
        "changes": ["mode: enforce -> detect"],
    }
    assert by_name["orders"]["action"] == "new" and by_name["orders"]["version"] == 1
    assert by_name["billing"] == {
        "kind": "access-path",
        "name": "billing",
        "action": "kept",
        "file": None,
        "current_version": 2,
        "current_mode": "enforce",
    }
    assert [r["kind"] for r in data["resources"]][:2] == ["kms-key", "secret"]
    json.dumps(data)


def test_the_view_shows_each_path_by_its_file_and_name() -> None:
    text = plain(directory_plan_view(paths_plan(prune=False)))
    lines = text.splitlines()
    assert "~ change paths/testsecret.yaml  (owner payments, ticket SEC-7)" in lines
    assert "declaring access path testsecret as version 2, detect mode" in text
    assert "  mode: enforce -> detect" in lines
    assert "+ new paths/orders.yaml" in lines
    (kept,) = [line for line in lines if "billing" in line]
    assert kept == (
        "! access path billing (version 2, enforce mode): not in declarations "
        "(kept; apply --prune would remove the declaration)"
    )
    unchanged = plain(
        directory_plan_view(
            replace(paths_plan(prune=False), paths=path_plans([path_file()], [path_declared()]))
        )
    )
    assert "= no changes paths/testsecret.yaml: access path testsecret" in unchanged.splitlines()
    removed = plain(directory_plan_view(paths_plan(prune=True)))
    (line,) = [line for line in removed.splitlines() if "billing" in line]
    assert line == (
        "- remove access path billing (version 2, enforce mode): its declaration is removed, "
        "driftguard stops verifying it"
    )
