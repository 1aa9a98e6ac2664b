"""The security team's questions, through the CLI's entry point, against the sandbox:
status, drift, history, principals, whois and scan (with its progress bar). That every
command explains itself is tests/unit/test_cli_commands.py."""

from __future__ import annotations

import io
import json
import re

import pytest

from driftguard.state import StateStore
from driftguard.vocabulary import AuditAction, Status
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, Story
from tests.support.cli import Terminal, run_cli_full, run_cli_typing

VENDOR = "arn:aws:iam::444455556666:root"
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def test_status_table_in_colour_on_request(story: Story) -> None:
    code, out, _ = run_cli_full("--color", "always", "status")
    assert code == EXIT_OK
    (row,) = [line for line in out.splitlines() if story.key_arn in line]
    assert row.startswith("\x1b[32min-sync")  # green
    code, out, _ = run_cli_full("status", "--kind", "kms-key")  # not a terminal: plain
    assert "\x1b[" not in out
    assert [line.split()[0] for line in out.splitlines() if "arn:aws:" in line] == ["in-sync"]
    assert "1 resource · 1 in-sync" in out


def test_drift_exits_0_in_sync_and_1_with_a_diff_when_widened(
    sandbox: Sandbox, story: Story
) -> None:
    code, out, _ = run_cli_full("drift", story.key_arn)
    assert code == EXIT_OK and "in sync" in out
    with sandbox.events_paused():  # nobody restores it
        story.widen_key_policy("444455556666")
    code, out, _ = run_cli_full("drift", story.key_arn)
    assert code == EXIT_DRIFT
    assert "DRIFTED: widened (severity critical)" in out
    assert f"+ principal {VENDOR}" in out
    code, out, _ = run_cli_full("drift", story.key_arn, "--json")
    answer = json.loads(out)
    assert code == EXIT_DRIFT
    assert answer["findings"] == ["widened"] and answer["recorded_status"] == Status.IN_SYNC
    assert f"+ principal {VENDOR}" in answer["changes"]
    assert not story.restored()  # drift only reads


def test_drift_names_the_deleted_role_behind_an_orphaned_id(sandbox: Sandbox, story: Story) -> None:
    old_id = story.pod_role_id
    story.delete_pod_role()
    sandbox.wait_idle()
    code, out, _ = run_cli_full("drift", story.secret_arn, "--json")
    assert code == EXIT_DRIFT
    assert json.loads(out)["orphaned_ids"] == {old_id: POD_ROLE_ARN}


def test_drift_of_an_undeclared_resource_is_not_found(undeclared_story: Story) -> None:
    code, out, err = run_cli_full("drift", undeclared_story.key_arn)
    assert code == EXIT_NOT_FOUND and out == ""
    assert "is not declared" in err


def test_history_is_a_readable_timeline(sandbox: Sandbox, story: Story) -> None:
    story.widen_key_policy("444455556666")
    sandbox.wait_idle()
    code, out, _ = run_cli_full("history", story.key_arn)
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0] == story.key_arn
    shown = [a for line in lines for a in AuditAction if f"● {a.value} " in line]
    assert shown[-2:] == [AuditAction.DECLARED, AuditAction.RESTORED]
    assert set(shown[:-2]) <= {AuditAction.OBSERVED_UNDECLARED}  # the story creating the key
    assert any("mallory (PutKeyPolicy)" in line for line in lines)
    assert any(f"+ principal {VENDOR}" in line for line in lines)
    code, out, _ = run_cli_full("history", story.key_arn, "--limit", "1", "--json")
    assert [e["action"] for e in json.loads(out)] == [AuditAction.RESTORED]
    code, _, err = run_cli_full("history", "arn:aws:kms:us-east-1:333333333333:key/none")
    assert code == EXIT_NOT_FOUND and "no history" in err


def test_principals_follows_a_role_through_deletion_and_recreation(
    sandbox: Sandbox, story: Story, store: StateStore
) -> None:
    first_id = story.pod_role_id
    code, out, _ = run_cli_full("principals", POD_ROLE_ARN, "--json")
    answer = json.loads(out)
    assert code == EXIT_OK
    assert answer["exists"] is True and answer["current_unique_id"] == first_id
    assert {r["arn"] for r in answer["resources"]} == {story.key_arn, story.secret_arn}
    assert {r["status"] for r in answer["resources"]} == {Status.IN_SYNC}

    story.delete_pod_role()
    sandbox.wait_idle()
    code, out, _ = run_cli_full("principals", POD_ROLE_ARN)
    assert code == EXIT_OK  # known: declared policies name it
    assert "exists now: no" in out
    assert f"{first_id} (earlier: orphans policies)" in out

    second_id = story.recreate_pod_role()
    sandbox.wait_idle()
    answer = json.loads(run_cli_full("principals", POD_ROLE_ARN, "--json")[1])
    assert answer["exists"] is True and answer["current_unique_id"] == second_id
    assert answer["previous_unique_ids"] == [first_id]
    # Restored and verified: in sync again (no "remediated" status), and when is recorded.
    assert {r["status"] for r in answer["resources"]} == {Status.IN_SYNC}
    for arn in (story.key_arn, story.secret_arn):
        record = store.get_status(arn)
        assert record is not None and record.remediated_at is not None


def test_principals_of_an_unknown_role_and_of_a_non_role(story: Story) -> None:
    code, out, err = run_cli_full("principals", "arn:aws:iam::111111111111:role/nobody", "--json")
    assert code == EXIT_NOT_FOUND
    assert json.loads(out)["exists"] is False and "knows nothing" in err
    code, _, err = run_cli_full("principals", story.key_arn)
    assert code == EXIT_USAGE and "not an IAM role ARN" in err


def test_whois_maps_a_unique_id_back_to_its_role(sandbox: Sandbox, story: Story) -> None:
    old_id = story.pod_role_id
    story.delete_pod_role()
    sandbox.wait_idle()
    code, out, _ = run_cli_full("whois", old_id)
    assert code == EXIT_OK
    assert f"{old_id} belonged to {POD_ROLE_ARN}" in out
    answer = json.loads(run_cli_full("whois", f"{old_id}:botocore-session-1", "--json")[1])
    assert answer["role_arn"] == POD_ROLE_ARN and answer["unique_id"] == old_id
    assert {r["status"] for r in answer["resources"]} == {Status.ORPHANED_PRINCIPAL}


def test_whois_unknown_id_is_exit_1_and_a_malformed_one_exit_2(story: Story) -> None:
    code, _, err = run_cli_full("whois", "AROAABCDEFGHIJKLMNOPQ")
    assert code == EXIT_NOT_FOUND
    assert "unknown unique id AROAABCDEFGHIJKLMNOPQ" in err and "Traceback" not in err
    assert run_cli_full("whois", "pod-role")[0] == EXIT_USAGE


def test_scan_shows_progress_on_a_terminal_only(sandbox: Sandbox, story: Story) -> None:
    with sandbox.events_paused():
        story.widen_key_policy("444455556666")
    code, out, progress = run_cli_full("scan", err=Terminal())
    assert code == EXIT_DRIFT
    assert "accounts" in progress and "resources in 333333333333" in progress
    (row,) = [line for line in out.splitlines() if story.key_arn in line]
    assert row.split()[:3] == ["drifted", "critical", "widened"]
    assert "2 resources scanned, 1 not in sync" in out

    code, out, progress = run_cli_full("scan", "--json", err=Terminal())
    assert code == EXIT_DRIFT and progress == ""  # JSON on stdout: no bar
    rows = {r["arn"]: r for r in json.loads(out)}
    assert rows[story.key_arn]["severity"] == "critical"
    assert rows[story.secret_arn]["status"] == Status.IN_SYNC
    assert run_cli_full("scan", err=io.StringIO())[2] == ""  # stderr not a terminal: no bar


def test_scan_remediate_shows_progress_and_restores(sandbox: Sandbox, story: Story) -> None:
    with sandbox.events_paused():
        story.widen_key_policy("444455556666")
    code, out, progress = run_cli_full("scan", "--remediate", "--yes", err=Terminal())
    assert code == EXIT_DRIFT  # drift was found (and fixed)
    assert "sweeping declared resources" in progress
    (row,) = [line for line in out.splitlines() if story.key_arn in line]
    assert row.split()[:2] == ["remediated", "in-sync"]
    assert story.restored()


def test_scan_reports_a_resource_it_cannot_read_and_goes_on(sandbox: Sandbox, story: Story) -> None:
    with sandbox.events_paused():
        story.secrets.delete_secret(SecretId=story.secret_arn, ForceDeleteWithoutRecovery=True)
    code, out, _ = run_cli_full("scan", "--json")
    rows = {r["arn"]: r for r in json.loads(out)}
    assert code == EXIT_DRIFT
    assert rows[story.secret_arn]["status"] == Status.ERROR and rows[story.secret_arn]["error"]
    assert rows[story.key_arn]["status"] == Status.IN_SYNC


# --------------------------------------------------------------------------- 80 columns


@pytest.fixture
def columns_80(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal 80 columns wide: rich reads $COLUMNS when its file is no real terminal."""
    monkeypatch.setenv("COLUMNS", "80")


def at_a_terminal(*argv: str) -> tuple[int, list[str]]:
    """(exit code, the lines a terminal shows, colours taken out)."""
    code, out, _ = run_cli_typing(*argv, typed="")
    return code, ANSI.sub("", out).splitlines()


def test_status_scan_and_history_read_at_80_columns(
    sandbox: Sandbox, story: Story, columns_80: None
) -> None:
    story.delete_pod_role()  # both resources orphaned: reasons and unique ids to show
    sandbox.wait_idle()
    for argv in (["status"], ["scan"]):
        code, lines = at_a_terminal(*argv)
        assert code == EXIT_DRIFT
        assert max(len(line) for line in lines) <= 80, "\n".join(lines)
        shown = "\n".join(lines)
        for field in ("kms-key", "secret", "333333333333", "222222222222", "us-east-1"):
            assert field in shown, (argv, field)
        for field in ("enforce", "orphaned-principal", "high"):
            assert field in shown, (argv, field)
        stripped = [line.strip() for line in lines]
        assert story.key_arn in stripped and story.secret_arn in stripped  # whole, one line

    code, lines = at_a_terminal("history", story.key_arn)
    assert code == EXIT_OK
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    assert lines[0] == story.key_arn
    assert any("● orphaned-principal" in line for line in lines)
    assert any("waiting for" in line for line in lines)
    entries = json.loads(run_cli_full("history", story.key_arn, "--json")[1])
    actor = entries[-1]["actor"]  # who deleted the role: an STS ARN
    assert any(f"by {actor}" in line for line in lines)  # on one line, not broken

    # Piped, the same command keeps one line per resource, whatever $COLUMNS says.
    out = run_cli_full("status")[1]
    assert any(story.key_arn in line and "kms-key" in line for line in out.splitlines())


# --------------------------------------------------------------------------- the worst


def test_status_shows_the_worst_of_a_secret_both_orphaned_and_widened(
    sandbox: Sandbox, story: Story
) -> None:
    policy = json.loads(story.live_secret_policy() or "{}")
    policy["Statement"].append(
        {
            "Sid": "Vendor",
            "Effect": "Allow",
            "Principal": {"AWS": VENDOR},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
    )
    with sandbox.events_paused():  # widened, and nobody restores it yet
        story.secrets.put_resource_policy(
            SecretId=story.secret_arn, ResourcePolicy=json.dumps(policy)
        )
    # The role goes: AWS shows its unique id in its place. The DeleteRole check finds
    # both, and holds the restore back while the role is missing.
    story.delete_pod_role()
    sandbox.wait_idle()

    code, out, _ = run_cli_full("status", "--json")
    records = json.loads(out)
    assert code == EXIT_DRIFT  # a problem listed
    secret = records[0]  # the worst first
    assert secret["arn"] == story.secret_arn
    assert secret["status"] == Status.ORPHANED_PRINCIPAL
    assert secret["findings"] == ["orphaned-principal", "widened"]
    assert secret["severity"] == "critical"
    assert [r["severity"] for r in records] == ["critical", "high"]  # the key: only orphaned

    code, out, _ = run_cli_full("status")
    (row,) = [line for line in out.splitlines() if line.endswith(story.secret_arn)]
    assert row.split()[:3] == ["orphaned-principal", "critical", "orphaned-principal,"]
    assert "widened" in row
    assert "2 resources · 2 orphaned-principal; severity: 1 critical, 1 high" in out


# --------------------------------------------------------------------------- asking first


def test_scan_remediate_asks_at_a_terminal_and_needs_yes_elsewhere(
    sandbox: Sandbox, story: Story
) -> None:
    with sandbox.events_paused():
        story.widen_key_policy("444455556666")

    code, out, err = run_cli_full("scan", "--remediate")  # a pipeline: nobody to ask
    assert code == EXIT_USAGE and out == ""
    assert "scan --remediate needs --yes when not at a terminal" in err
    assert not story.restored()

    code, out, err = run_cli_typing("scan", "--remediate", typed="n\n")
    assert code == EXIT_USAGE and "declined: nothing restored" in err
    assert story.key_arn in out and "widened" in out  # what it would restore
    assert "Restore 1 resource? [y/N]" in out
    assert story.secret_arn not in out  # in sync: nothing to restore there
    assert not story.restored()

    # At a terminal but writing data: a question would end up in the JSON.
    code, out, err = run_cli_typing("scan", "--remediate", "--json", typed="y\n")
    assert code == EXIT_USAGE and out == "" and "needs --yes" in err
    assert not story.restored()

    code, out, _ = run_cli_typing("scan", "--remediate", typed="y\n")
    assert code == EXIT_DRIFT and story.restored()
    assert "1 remediated" in out

    code, out, _ = run_cli_typing("scan", "--remediate", typed="")
    assert code == EXIT_OK and "nothing to restore" in out
    assert "[y/N]" not in out  # not asked
