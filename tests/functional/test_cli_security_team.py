"""The security team's questions, through the CLI's entry point, against the sandbox:
status, drift, history, principals, whois, scan (with its progress bar) and --help."""

from __future__ import annotations

import io
import json

import pytest

from driftguard_cli import main as cli
from driftguard_sandbox.story import POD_ROLE_ARN, Story
from driftguard_sandbox import Sandbox

COMMANDS = ("declare", "adopt", "status", "drift", "history", "principals", "whois", "scan")
COMMANDS += ("replay-dlq", "report", "demo")
VENDOR = "arn:aws:iam::444455556666:root"


class Terminal(io.StringIO):
    """What a terminal would receive (the CLI only shows progress to a terminal)."""

    def isatty(self) -> bool:
        return True


def run(*argv: str, err: io.StringIO | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), err or io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def story(sandbox: Sandbox) -> Story:
    story = Story.create(sandbox)
    for arn in (story.key_arn, story.secret_arn):
        assert run("adopt", arn, "--mode", "enforce")[0] == cli.EXIT_OK
    sandbox.wait_idle()
    return story


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([command, "--help"]) == cli.EXIT_OK
    text = capsys.readouterr().out
    assert f"driftguard {command}" in text
    assert "examples:" in text and "exit codes:" in text


def test_read_commands_all_take_json() -> None:
    parser = cli.build_parser()
    operand = {
        "drift": ["arn:aws:kms:us-east-1:333333333333:key/x"],
        "history": ["arn:aws:kms:us-east-1:333333333333:key/x"],
        "principals": [POD_ROLE_ARN],
        "whois": ["AROAABCDEFGHIJKLMNOPQ"],
    }
    for command in ("status", "drift", "history", "principals", "whois", "scan", "report"):
        args = parser.parse_args([command, "--json", *operand.get(command, [])])
        assert args.json, command


def test_status_table_in_colour_on_request(story: Story) -> None:
    code, out, _ = run("--color", "always", "status")
    assert code == cli.EXIT_OK
    (row,) = [line for line in out.splitlines() if story.key_arn in line]
    assert row.startswith("\x1b[32min-sync")  # green
    code, out, _ = run("status", "--kind", "kms-key")  # not a terminal: plain
    assert "\x1b[" not in out
    assert [line.split()[0] for line in out.splitlines() if "arn:aws:" in line] == ["in-sync"]
    assert "1 resource · 1 in-sync" in out


def test_drift_exits_0_in_sync_and_1_with_a_diff_when_widened(
    sandbox: Sandbox, story: Story
) -> None:
    code, out, _ = run("drift", story.key_arn)
    assert code == cli.EXIT_OK and "in sync" in out
    with sandbox.events_paused():  # nobody restores it
        story.widen_key_policy("444455556666")
    code, out, _ = run("drift", story.key_arn)
    assert code == cli.EXIT_DRIFT
    assert "DRIFTED: widened (severity critical)" in out
    assert f"+ principal {VENDOR}" in out
    code, out, _ = run("drift", story.key_arn, "--json")
    answer = json.loads(out)
    assert code == cli.EXIT_DRIFT
    assert answer["findings"] == ["widened"] and answer["recorded_status"] == "in-sync"
    assert f"+ principal {VENDOR}" in answer["changes"]
    assert not story.restored()  # drift only reads


def test_drift_names_the_deleted_role_behind_an_orphaned_id(sandbox: Sandbox, story: Story) -> None:
    old_id = story.pod_role_id
    story.delete_pod_role()
    sandbox.wait_idle()
    code, out, _ = run("drift", story.secret_arn, "--json")
    assert code == cli.EXIT_DRIFT
    assert json.loads(out)["orphaned_ids"] == {old_id: POD_ROLE_ARN}


def test_drift_of_an_undeclared_resource_is_not_found(story: Story) -> None:
    code, out, err = run("drift", story.key_arn + "0")
    assert code == cli.EXIT_NOT_FOUND and out == ""
    assert "is not declared" in err


def test_history_is_a_readable_timeline(sandbox: Sandbox, story: Story) -> None:
    story.widen_key_policy("444455556666")
    sandbox.wait_idle()
    code, out, _ = run("history", story.key_arn)
    assert code == cli.EXIT_OK
    lines = out.splitlines()
    assert lines[0] == story.key_arn
    actions = [word for line in lines for word in ("declared", "restored") if f"● {word}" in line]
    assert actions == ["declared", "restored"]
    assert any("mallory (PutKeyPolicy)" in line for line in lines)
    assert any(f"+ principal {VENDOR}" in line for line in lines)
    code, out, _ = run("history", story.key_arn, "--limit", "1", "--json")
    assert [e["action"] for e in json.loads(out)] == ["restored"]
    code, _, err = run("history", "arn:aws:kms:us-east-1:333333333333:key/none")
    assert code == cli.EXIT_NOT_FOUND and "no history" in err


def test_principals_follows_a_role_through_deletion_and_recreation(
    sandbox: Sandbox, story: Story
) -> None:
    first_id = story.pod_role_id
    code, out, _ = run("principals", POD_ROLE_ARN, "--json")
    answer = json.loads(out)
    assert code == cli.EXIT_OK
    assert answer["exists"] is True and answer["current_unique_id"] == first_id
    assert {r["arn"] for r in answer["resources"]} == {story.key_arn, story.secret_arn}
    assert {r["status"] for r in answer["resources"]} == {"in-sync"}

    story.delete_pod_role()
    sandbox.wait_idle()
    code, out, _ = run("principals", POD_ROLE_ARN)
    assert code == cli.EXIT_OK  # known: declared policies name it
    assert "exists now: no" in out
    assert f"{first_id} (earlier: orphans policies)" in out

    second_id = story.recreate_pod_role()
    sandbox.wait_idle()
    answer = json.loads(run("principals", POD_ROLE_ARN, "--json")[1])
    assert answer["exists"] is True and answer["current_unique_id"] == second_id
    assert answer["previous_unique_ids"] == [first_id]
    assert {r["status"] for r in answer["resources"]} == {"remediated"}


def test_principals_of_an_unknown_role_and_of_a_non_role(story: Story) -> None:
    code, out, err = run("principals", "arn:aws:iam::111111111111:role/nobody", "--json")
    assert code == cli.EXIT_NOT_FOUND
    assert json.loads(out)["exists"] is False and "knows nothing" in err
    assert run("principals", story.key_arn)[0] == cli.EXIT_USAGE


def test_whois_maps_a_unique_id_back_to_its_role(sandbox: Sandbox, story: Story) -> None:
    old_id = story.pod_role_id
    story.delete_pod_role()
    sandbox.wait_idle()
    code, out, _ = run("whois", old_id)
    assert code == cli.EXIT_OK
    assert f"{old_id} belonged to {POD_ROLE_ARN}" in out
    answer = json.loads(run("whois", f"{old_id}:botocore-session-1", "--json")[1])
    assert answer["role_arn"] == POD_ROLE_ARN and answer["unique_id"] == old_id
    assert {r["status"] for r in answer["resources"]} == {"orphaned-principal"}


def test_whois_unknown_id_is_exit_1_and_a_malformed_one_exit_2(story: Story) -> None:
    code, _, err = run("whois", "AROAABCDEFGHIJKLMNOPQ")
    assert code == cli.EXIT_NOT_FOUND
    assert "unknown unique id AROAABCDEFGHIJKLMNOPQ" in err and "Traceback" not in err
    assert run("whois", "pod-role")[0] == cli.EXIT_USAGE


def test_scan_shows_progress_on_a_terminal_only(sandbox: Sandbox, story: Story) -> None:
    with sandbox.events_paused():
        story.widen_key_policy("444455556666")
    terminal = Terminal()
    code, out, _ = run("scan", err=terminal)
    assert code == cli.EXIT_DRIFT
    progress = terminal.getvalue()
    assert "accounts" in progress and "resources in 333333333333" in progress
    (row,) = [line for line in out.splitlines() if story.key_arn in line]
    assert row.split()[:3] == ["drifted", "critical", "widened"]
    assert "2 resources scanned, 1 not in sync" in out

    terminal = Terminal()
    code, out, _ = run("scan", "--json", err=terminal)
    assert code == cli.EXIT_DRIFT and terminal.getvalue() == ""
    rows = {r["arn"]: r for r in json.loads(out)}
    assert rows[story.key_arn]["severity"] == "critical"
    assert rows[story.secret_arn]["status"] == "in-sync"
    assert run("scan", err=io.StringIO())[2] == ""  # stderr not a terminal: no bar


def test_scan_reports_a_resource_it_cannot_read_and_goes_on(sandbox: Sandbox, story: Story) -> None:
    with sandbox.events_paused():
        story.secrets.delete_secret(SecretId=story.secret_arn, ForceDeleteWithoutRecovery=True)
    code, out, _ = run("scan", "--json")
    rows = {r["arn"]: r for r in json.loads(out)}
    assert code == cli.EXIT_DRIFT
    assert rows[story.secret_arn]["status"] == "error" and rows[story.secret_arn]["error"]
    assert rows[story.key_arn]["status"] == "in-sync"
