"""`declare` and `adopt` never widen silently: before anything is signed or written they
show what the new declaration changes, against the current declaration ("widens access"
when it grants more) and against the live policy, and at a terminal they ask; `--yes`
does not, and a pipeline is never asked."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from driftguard.model import Declared
from driftguard.state import StateStore
from driftguard_cli.exit_codes import EXIT_OK, EXIT_USAGE
from driftguard_sandbox.story import POD_ROLE_ARN, WORKLOAD, Story, key_policy
from tests.support.cli import run_cli, run_cli_typing

QUESTION = "Declare this? [y/N]"
WORKLOAD_ROOT = f"arn:aws:iam::{WORKLOAD}:root"


def _policy_file(tmp_path: Path, policy: dict[str, Any]) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    return str(path)


def _pod_statement(policy: dict[str, Any]) -> dict[str, Any]:
    statements: list[dict[str, Any]] = policy["Statement"]
    (statement,) = [s for s in statements if s["Sid"] == "PodRoleDecryptsTestsecret"]
    return statement


def widened_key_policy() -> dict[str, Any]:
    """The story's key policy, and the workload account's root may decrypt too."""
    policy = key_policy()
    _pod_statement(policy)["Principal"] = {"AWS": [_pod_statement(policy)["Principal"]["AWS"]]}
    _pod_statement(policy)["Principal"]["AWS"].append(WORKLOAD_ROOT)
    return policy


def narrowed_key_policy() -> dict[str, Any]:
    """The story's key policy without pod-role's kms:DescribeKey."""
    policy = key_policy()
    _pod_statement(policy)["Action"] = ["kms:Decrypt"]
    return policy


def _declared(store: StateStore, arn: str) -> Declared:
    declared = store.get_declared(arn)
    assert declared is not None
    return declared


# --------------------------------------------------------------------------- the change shown


def test_a_widening_declaration_says_so_and_what_the_next_check_changes(
    story: Story, store: StateStore, tmp_path: Path
) -> None:
    path = _policy_file(tmp_path, widened_key_policy())

    code, output = run_cli("declare", story.key_arn, "--policy-file", path, "--mode", "enforce")

    assert code == EXIT_OK, output
    assert "against the current declaration (version 1, " in output
    assert "!! widens access" in output
    assert f"+ principal {WORKLOAD_ROOT}" in output  # granted only by the new declaration
    # The live policy is the adopted one: the next check adds the new principal to it.
    live = "against the live policy: differs (live lacks what the new declaration grants)"
    assert live in output
    assert f"- principal {WORKLOAD_ROOT}" in output
    assert "the next check puts the new declaration on it" in output
    # Shown before it was written, in that order.
    assert output.index("widens access") < output.index(f"declared {story.key_arn} (version 2")


def test_a_narrowing_declaration_does_not_say_it_widens(
    story: Story, store: StateStore, tmp_path: Path
) -> None:
    path = _policy_file(tmp_path, narrowed_key_policy())

    code, output = run_cli("declare", story.key_arn, "--policy-file", path, "--mode", "enforce")

    assert code == EXIT_OK, output
    assert "narrows access" in output and "widens access" not in output
    assert f"- grant Allow {POD_ROLE_ARN} kms:describekey" in output  # taken away
    live = "against the live policy: differs (live grants what the new declaration does not)"
    assert live in output


def test_the_same_policy_again_is_no_change(story: Story) -> None:
    code, output = run_cli("adopt", story.key_arn, "--mode", "enforce")

    assert code == EXIT_OK, output
    assert "against the current declaration (version 1, " in output
    assert "no change in access" in output and "widens access" not in output
    assert "against the live policy: in sync, the next check changes nothing" in output


def test_a_first_declaration_says_so_and_what_live_grants_beyond_it(
    undeclared_story: Story, tmp_path: Path
) -> None:
    path = _policy_file(tmp_path, narrowed_key_policy())

    code, output = run_cli(
        "declare", undeclared_story.key_arn, "--policy-file", path, "--mode", "detect"
    )

    assert code == EXIT_OK, output
    assert "first declaration (nothing declared yet)" in output
    assert "widens access" not in output
    assert "against the live policy: differs" in output
    assert "+ grant " in output  # pod-role's DescribeKey: only in live
    assert "the next check alerts and changes nothing (detect mode)" in output


def test_a_first_declaration_that_grants_everyone_widens_access(
    undeclared_story: Story, tmp_path: Path
) -> None:
    policy = key_policy()
    everyone = {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt"}
    policy["Statement"].append(everyone | {"Resource": "*"})
    path = _policy_file(tmp_path, policy)

    arn = undeclared_story.key_arn
    code, output = run_cli(
        "declare", arn, "--policy-file", path, "--mode", "enforce", "--allow-public"
    )

    assert code == EXIT_OK, output
    assert "first declaration" in output
    assert '!! widens access, grants everyone: statement "Everyone"' in output


# --------------------------------------------------------------------------- the question


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal wide enough that no line the tests look for is wrapped."""
    monkeypatch.setenv("COLUMNS", "400")


def _argv(command: str, story: Story, tmp_path: Path) -> list[str]:
    """Re-declare the story's key: `declare` widens it, `adopt` changes nothing."""
    plain = ["--color", "never"]  # global options come before the command
    if command == "adopt":
        return [*plain, "adopt", story.key_arn, "--mode", "enforce"]
    path = _policy_file(tmp_path, widened_key_policy())
    return [*plain, "declare", story.key_arn, "--policy-file", path, "--mode", "enforce"]


@pytest.mark.parametrize("command", ["declare", "adopt"])
@pytest.mark.parametrize("typed", ["n\n", "\n", "", "no\n", "yes please\n"])
def test_at_a_terminal_anything_but_yes_writes_nothing(
    story: Story, store: StateStore, tmp_path: Path, command: str, typed: str, wide: None
) -> None:
    before = _declared(store, story.key_arn)
    history = store.history(story.key_arn)

    code, output, error = run_cli_typing(*_argv(command, story, tmp_path), typed=typed)

    assert code == EXIT_USAGE
    assert QUESTION in output and "declared " not in output
    assert output.index("against the current declaration") < output.index(QUESTION)
    assert f"declined: nothing declared for {story.key_arn}" in error
    assert _declared(store, story.key_arn) == before
    assert store.history(story.key_arn) == history


@pytest.mark.parametrize("command", ["declare", "adopt"])
@pytest.mark.parametrize("typed", ["y\n", "yes\n", " Y \n"])
def test_at_a_terminal_yes_declares(
    story: Story, store: StateStore, tmp_path: Path, command: str, typed: str, wide: None
) -> None:
    before = _declared(store, story.key_arn)

    code, output, error = run_cli_typing(*_argv(command, story, tmp_path), typed=typed)

    assert code == EXIT_OK, error
    assert output.index(QUESTION) < output.index(f"declared {story.key_arn} (version 2")
    after = _declared(store, story.key_arn)
    assert after.version == before.version + 1
    if command == "declare":
        assert json.loads(after.policy) == widened_key_policy()


@pytest.mark.parametrize("flag", ["--yes", "-y"])
def test_yes_declares_without_asking(
    story: Story, store: StateStore, tmp_path: Path, flag: str, wide: None
) -> None:
    before = _declared(store, story.key_arn)

    code, output, error = run_cli_typing(*_argv("declare", story, tmp_path), flag, typed="n\n")

    assert code == EXIT_OK, error
    assert QUESTION not in output and "widens access" in output  # still shown
    assert _declared(store, story.key_arn).version == before.version + 1


def test_a_pipeline_is_never_asked(story: Story, store: StateStore, tmp_path: Path) -> None:
    """stdout piped (to tee, a log): no question, declared as before this change."""
    before = _declared(store, story.key_arn)
    piped = io.StringIO()

    code, output, error = run_cli_typing(*_argv("declare", story, tmp_path), typed="n\n", out=piped)

    assert code == EXIT_OK, error
    assert QUESTION not in output and "widens access" in output
    assert _declared(store, story.key_arn).version == before.version + 1
