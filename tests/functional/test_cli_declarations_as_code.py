"""Declarations as code against the sandbox: `export` the story's declarations, review a
change as a file, `plan` it, `apply` it (signed, so the functions enforce it), prune a
declaration whose file is gone; bad files stop everything. The story's access path
takes the same round trip as its file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftguard.errors import DeclarationError
from driftguard.model import AuditEntry
from driftguard.path_store import PathStore, audit_arn
from driftguard.retry import SYSTEM_CLOCK
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, AuditAction, Mode, Severity, Status
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_OK, EXIT_USAGE
from driftguard_cli.path_declaring import remove_path
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import DATA, POD_ROLE_ARN, SECURITY, AlertTail, Story, key_policy
from tests.support.cli import run_cli_full, run_cli_typing
from tests.support.paths import signatures

VENDOR = "arn:aws:iam::444455556666:root"
RED = "\x1b[31m"


def export(story: Story, root: Path) -> tuple[Path, Path]:
    """The story's two declarations as files: (the key's, the secret's)."""
    code, out, err = run_cli_full("export", str(root))
    assert code == EXIT_OK, err
    assert "exported 2 declarations" in out
    key_id = story.key_arn.rsplit("/", 1)[1]
    key_file = root / SECURITY / f"kms-key-{key_id}.yaml"
    secret_file = root / DATA / "secret-testsecret.yaml"
    assert sorted(p for p in root.rglob("*.yaml")) == sorted([key_file, secret_file])
    return key_file, secret_file


def edit(path: Path, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    data |= fields
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return data


def widen(path: Path, **fields: Any) -> None:
    policy = yaml.safe_load(path.read_text())["policy"]
    grant = {"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": VENDOR}}
    policy["Statement"].append(grant | {"Action": "kms:Decrypt", "Resource": "*"})
    edit(path, policy=policy, **fields)


def versions(store: StateStore, *arns: str) -> list[int | None]:
    found = [store.get_declared(arn) for arn in arns]
    return [d.version if d else None for d in found]


def test_export_then_plan_is_nothing_to_do(story: Story, tmp_path: Path) -> None:
    export(story, tmp_path)
    code, out, _ = run_cli_full("plan", str(tmp_path))
    assert code == EXIT_OK, out
    assert out.splitlines()[-1] == "0 to change, 0 new, 2 unchanged"
    assert f"= no changes {SECURITY}/kms-key-" in out
    code, _, err = run_cli_full("export", str(tmp_path))  # not into a non-empty directory
    assert code == EXIT_USAGE and "is not empty: pass --force" in err
    assert run_cli_full("export", str(tmp_path), "--force")[0] == EXIT_OK


def test_a_widened_file_is_planned_in_red_then_applied_signed(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail, tmp_path: Path
) -> None:
    key_file, _ = export(story, tmp_path)
    widen(key_file, owner="payments", ticket="SEC-42")

    code, out, _ = run_cli_full("--color", "always", "plan", str(tmp_path))
    assert code == EXIT_DRIFT
    (line,) = [line for line in out.splitlines() if f"+ principal {VENDOR}" in line]
    assert line.startswith(RED), repr(line)  # widening access is red
    assert "!! widens access" in out and "(owner payments, ticket SEC-42)" in out
    code, out, _ = run_cli_full("plan", str(tmp_path), "--json")
    answer = json.loads(out)
    assert code == EXIT_DRIFT
    by_arn = {r["arn"]: r for r in answer["resources"]}
    assert by_arn[story.key_arn]["action"] == "change" and by_arn[story.key_arn]["widens"]
    assert by_arn[story.secret_arn]["action"] == "unchanged"

    code, out, err = run_cli_full("apply", str(tmp_path))  # a pipeline, without --yes
    assert code == EXIT_USAGE
    assert "apply needs --yes when not at a terminal" in err
    assert versions(store, story.key_arn, story.secret_arn) == [1, 1]  # nothing written
    code, out, _ = run_cli_typing("apply", str(tmp_path), typed="n\n")  # declined
    assert code == EXIT_USAGE and versions(store, story.key_arn) == [1]

    code, out, err = run_cli_full("apply", str(tmp_path), "--yes")
    assert code == EXIT_OK, err
    assert f"declared {story.key_arn} (version 2, enforce)" in out
    assert versions(store, story.key_arn, story.secret_arn) == [2, 1]  # only what changed
    sandbox.wait_idle()
    # Signed as `declare` signs: the functions verified it and put it on the key.
    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.IN_SYNC, record
    assert VENDOR in story.live_key_policy()
    assert run_cli_full("drift", story.key_arn)[0] == EXIT_OK
    changed = [a for a in alerts.read() if a.type is AlertType.DECLARATION_CHANGED]
    assert [(a.severity, a.resources[0].arn) for a in changed] == [
        (Severity.CRITICAL, story.key_arn)  # it widens access
    ]
    declared_entry = [e for e in store.history(story.key_arn) if e.action is AuditAction.DECLARED]
    assert "owner payments, ticket SEC-42" in declared_entry[-1].message

    code, out, _ = run_cli_full("plan", str(tmp_path))
    assert code == EXIT_OK and out.splitlines()[-1] == "0 to change, 0 new, 2 unchanged"


def test_a_resource_whose_file_is_gone_is_kept_unless_pruned(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail, tmp_path: Path
) -> None:
    _, secret_file = export(story, tmp_path)
    secret_file.unlink()

    code, out, _ = run_cli_full("plan", str(tmp_path))
    assert code == EXIT_OK  # keeping it is nothing to do
    (line,) = [line for line in out.splitlines() if story.secret_arn in line]
    assert line.endswith(f"not in {tmp_path} (kept; apply --prune would remove the declaration)")
    assert out.splitlines()[-1] == "0 to change, 0 new, 1 unchanged, 1 to remove with --prune"
    code, out, _ = run_cli_full("apply", str(tmp_path), "--yes")
    assert code == EXIT_OK and "nothing to apply" in out
    assert versions(store, story.secret_arn) == [1]

    assert run_cli_full("plan", str(tmp_path), "--prune")[0] == EXIT_DRIFT
    code, out, err = run_cli_full("apply", str(tmp_path), "--prune", "--yes")
    assert code == EXIT_OK, err
    assert f"removed the declaration of {story.secret_arn}" in out
    assert store.get_declared(story.secret_arn) is None
    assert store.get_status(story.secret_arn) is None  # out of `status` and the sweep
    assert store.resources_naming(POD_ROLE_ARN) == [story.key_arn]
    assert store.history(story.secret_arn)[-1].action is AuditAction.UNDECLARED
    sandbox.wait_idle()
    removed = [a for a in alerts.read() if a.type is AlertType.DECLARATION_CHANGED]
    assert [(a.severity, a.title) for a in removed] == [
        (Severity.HIGH, f"Declaration removed: {story.secret_arn}")
    ]
    assert run_cli_full("plan", str(tmp_path), "--prune")[0] == EXIT_OK


def test_bad_files_are_all_named_and_nothing_is_written(
    story: Story, store: StateStore, tmp_path: Path
) -> None:
    key_file, secret_file = export(story, tmp_path)
    edit(secret_file, mode="detect")  # a good change, held back by the bad files
    (tmp_path / "unknown.yaml").write_text(key_file.read_text() + "colour: red\n")
    lockout = yaml.safe_load(key_file.read_text())
    lockout["policy"]["Statement"] = lockout["policy"]["Statement"][2:]
    key_file.write_text(yaml.safe_dump(lockout))
    ghost = "arn:aws:kms:us-east-1:333333333333:key/00000000-0000-0000-0000-000000000000"
    (tmp_path / "ghost.json").write_text(
        json.dumps({"arn": ghost, "mode": "enforce", "policy": key_policy()})
    )
    (tmp_path / "broken.yml").write_text("arn: [\n")
    (tmp_path / "path.yaml").write_text("access_path:\n  name: testsecret\n  mode: enforce\n")

    for command in (["plan"], ["apply", "--yes"]):
        code, out, err = run_cli_full(*command, str(tmp_path))
        assert code == EXIT_USAGE, (command, out, err)
        errors = out[out.index("errors (nothing is applied") :]
        assert "path.yaml: access_path.role: required field missing" in errors
        for name in ("broken.yml", "ghost.json", key_file.name, "unknown.yaml"):
            assert name in errors, (name, errors)
        assert "colour: unknown field" in errors and "lockout safety check" in errors
        assert f"ghost.json: cannot declare {ghost}: " in errors
    assert "nothing applied: fix the files named above first" in err
    assert versions(store, story.key_arn, story.secret_arn) == [1, 1]


def test_a_removal_never_loses_a_declaration_written_since_it_was_read(
    story: Story, store: StateStore
) -> None:
    seen = store.get_declared(story.secret_arn)  # version 1, as a plan saw it
    assert seen is not None
    assert run_cli_full("adopt", story.secret_arn, "--mode", "detect")[0] == EXIT_OK
    removal = AuditEntry(
        arn=story.secret_arn, at=seen.declared_at, action=AuditAction.UNDECLARED, status="x"
    )
    with pytest.raises(DeclarationError, match="changed since version 1 was read"):
        store.delete_declaration(seen, removal)
    assert versions(store, story.secret_arn) == [2]
    assert store.get_status(story.secret_arn) is not None
    assert AuditAction.UNDECLARED not in {e.action for e in store.history(story.secret_arn)}


# --------------------------------------------------------------------------- access paths


def test_an_access_path_is_exported_changed_applied_and_pruned_as_a_file(
    sandbox: Sandbox, story: Story, store: StateStore, tmp_path: Path
) -> None:
    code, _, err = run_cli_full("adopt-path", POD_ROLE_ARN, story.secret_arn, "--mode", "enforce")
    assert code == EXIT_OK, err
    code, out, err = run_cli_full("export", str(tmp_path))
    assert code == EXIT_OK, err
    assert "exported 2 declarations and 1 access path" in out
    path_file = tmp_path / "paths" / "testsecret.yaml"
    assert yaml.safe_load(path_file.read_text())["access_path"]["key"] == story.key_arn
    code, out, _ = run_cli_full("plan", str(tmp_path))
    assert code == EXIT_OK, out  # export, then plan: nothing to do
    assert "= no changes paths/testsecret.yaml: access path testsecret" in out.splitlines()
    assert out.splitlines()[-1] == "0 to change, 0 new, 3 unchanged"

    data = yaml.safe_load(path_file.read_text())
    data["access_path"] |= {"mode": "detect", "owner": "payments", "ticket": "SEC-42"}
    path_file.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, _ = run_cli_full("plan", str(tmp_path))
    assert code == EXIT_DRIFT, out
    assert "~ change paths/testsecret.yaml  (owner payments, ticket SEC-42)" in out
    assert "  mode: enforce -> detect" in out.splitlines()
    code, out, _ = run_cli_full("plan", str(tmp_path), "--json")
    (planned,) = [r for r in json.loads(out)["resources"] if r["kind"] == "access-path"]
    assert (planned["name"], planned["action"], planned["version"]) == ("testsecret", "change", 2)
    assert planned["changes"] == ["mode: enforce -> detect"]

    code, out, err = run_cli_full("apply", str(tmp_path), "--yes")
    assert code == EXIT_OK, err
    assert "declared access path testsecret (version 2, detect)" in out
    declared = PathStore(store).get("testsecret")
    assert declared is not None and (declared.version, declared.mode) == (2, Mode.DETECT)
    signatures(sandbox).verify(declared)  # signed as declare-path signs
    entry = store.history(audit_arn("testsecret"))[-1]
    assert entry.action is AuditAction.DECLARED
    assert entry.message.endswith("; mode: enforce -> detect; owner payments, ticket SEC-42")
    assert run_cli_full("verify-path", "testsecret")[0] == EXIT_OK  # refused if unsigned
    assert run_cli_full("plan", str(tmp_path))[0] == EXIT_OK

    path_file.unlink()
    code, out, _ = run_cli_full("plan", str(tmp_path))
    assert code == EXIT_OK  # kept
    assert f"! access path testsecret (version 2, detect mode): not in {tmp_path}" in out
    assert run_cli_full("plan", str(tmp_path), "--prune")[0] == EXIT_DRIFT
    code, out, err = run_cli_full("apply", str(tmp_path), "--prune", "--yes")
    assert code == EXIT_OK, err
    assert "removed the declaration of access path testsecret" in out
    assert PathStore(store).get("testsecret") is None
    assert PathStore(store).status("testsecret") is None
    assert store.history(audit_arn("testsecret"))[-1].action is AuditAction.UNDECLARED
    assert versions(store, story.key_arn, story.secret_arn) == [1, 1]  # their files are there
    assert run_cli_full("plan", str(tmp_path), "--prune")[0] == EXIT_OK


def test_a_path_removal_never_loses_a_path_declared_since_it_was_read(
    story: Story, store: StateStore
) -> None:
    code, _, err = run_cli_full("adopt-path", POD_ROLE_ARN, story.secret_arn, "--mode", "enforce")
    assert code == EXIT_OK, err
    paths = PathStore(store)
    seen = paths.get("testsecret")  # version 1, as a plan saw it
    assert seen is not None
    code, _, err = run_cli_full("adopt-path", POD_ROLE_ARN, story.secret_arn, "--mode", "detect")
    assert code == EXIT_OK, err
    with pytest.raises(DeclarationError, match="changed since it was read"):
        remove_path(seen, removed_by="ci", paths=paths, clock=SYSTEM_CLOCK)
    now = paths.get("testsecret")
    assert now is not None and now.version == 2
    history = store.history(audit_arn("testsecret"))
    assert AuditAction.UNDECLARED not in {e.action for e in history}
