"""The CLI through its entry point, against the sandbox: answers and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftguard.state import StateStore
from driftguard.vocabulary import AuditAction, Mode, Status
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import DATA, SECURITY, Story, key_policy
from tests.support.cli import run_cli, run_cli_full
from tests.support.state import set_declared


def test_adopt_takes_the_default_mode_from_the_environment(undeclared_story: Story) -> None:
    code, output = run_cli("adopt", undeclared_story.key_arn)  # DEFAULT_MODE of the template
    assert code == EXIT_OK
    assert f"declared {undeclared_story.key_arn} (version 1, enforce): in-sync" in output


def test_status_json_lists_every_declared_resource(story: Story) -> None:
    code, output = run_cli("status", "--json")
    assert code == EXIT_OK
    records = {r["arn"]: r for r in json.loads(output)}
    assert set(records) == {story.key_arn, story.secret_arn}
    assert {r["status"] for r in records.values()} == {Status.IN_SYNC}
    assert records[story.key_arn]["mode"] == Mode.ENFORCE


def test_status_filters_by_account_and_kind(story: Story) -> None:
    code, output = run_cli("status", "--json", "--account", DATA)
    assert code == EXIT_OK
    assert [r["arn"] for r in json.loads(output)] == [story.secret_arn]
    code, output = run_cli("status", "--json", "--account", SECURITY, "--kind", "secret")
    assert code == EXIT_OK and json.loads(output) == []


def test_status_filters_take_several_values(story: Story) -> None:
    def listed(*filters: str) -> list[str]:
        code, output = run_cli("status", "--json", *filters)
        assert code == EXIT_OK  # all in sync
        return [r["arn"] for r in json.loads(output)]

    both = {story.key_arn, story.secret_arn}
    assert set(listed("--account", f"{DATA},{SECURITY}")) == both
    assert listed("--account", DATA, "--account", SECURITY, "--kind", "secret") == [
        story.secret_arn
    ]
    assert set(listed("--state", "in-sync,drifted", "--resource-region", "us-east-1")) == both
    assert listed("--resource-region", "eu-west-1") == []
    assert listed("--state", "drifted", "--state", "error") == []
    assert listed("--kind", "kms-key,secret", "--account", SECURITY) == [story.key_arn]


def test_scan_and_its_sweep_only_look_at_what_the_filters_match(
    sandbox: Sandbox, story: Story
) -> None:
    with sandbox.events_paused():
        story.widen_key_policy()  # the key drifts; nobody restores it, nothing recorded

    def scanned(*filters: str) -> set[str]:
        return {r["arn"] for r in json.loads(run_cli("scan", "--json", *filters)[1])}

    both = {story.key_arn, story.secret_arn}
    assert scanned() == both
    assert scanned("--account", DATA) == {story.secret_arn}
    assert scanned("--account", f"111111111111,{DATA}", "--account", SECURITY) == both
    assert scanned("--kind", "kms-key") == {story.key_arn}
    assert scanned("--resource-region", "eu-west-1") == set()
    assert scanned("--state", "in-sync") == both  # the recorded status: drift not recorded yet
    assert scanned("--state", "drifted,orphaned-principal") == set()

    code, output = run_cli("scan", "--remediate", "--yes", "--json", "--account", DATA)
    assert code == EXIT_OK
    assert [r["arn"] for r in json.loads(output)] == [story.secret_arn]
    assert not story.restored()  # the key was not swept
    code, output = run_cli("scan", "--remediate", "--yes", "--json", "--kind", "kms-key")
    assert code == EXIT_DRIFT
    (row,) = json.loads(output)
    assert (row["arn"], row["outcome"], row["status"]) == (
        story.key_arn,
        "remediated",
        Status.IN_SYNC,
    )
    assert story.restored()


def test_scan_exits_1_on_drift_and_0_when_in_sync(sandbox: Sandbox, story: Story) -> None:
    assert run_cli("scan")[0] == EXIT_OK
    with sandbox.events_paused():
        story.widen_key_policy()
    code, output = run_cli("scan", "--json")
    assert code == EXIT_DRIFT
    found = {r["arn"]: r for r in json.loads(output)}
    assert found[story.key_arn]["findings"] == ["widened"]
    assert not story.restored()  # a plain scan only reads

    code, output = run_cli("scan", "--remediate", "--yes", "--json")
    assert code == EXIT_DRIFT  # drift was found (and fixed)
    outcomes = {r["arn"]: (r["outcome"], r["status"]) for r in json.loads(output)}
    assert outcomes[story.key_arn] == ("remediated", Status.IN_SYNC)  # no "remediated" status
    assert story.restored()
    assert run_cli("scan")[0] == EXIT_OK


def test_scan_refuses_a_tampered_declaration_as_the_functions_do(
    sandbox: Sandbox, story: Story, store: StateStore
) -> None:
    widened = key_policy()
    widened["Statement"][0]["Principal"] = {"AWS": "*"}
    set_declared(sandbox, story.key_arn, policy=json.dumps(widened))  # not signed again
    sandbox.wait_idle()  # the watcher has it checked at once; the scan says the same

    code, output = run_cli("scan", "--json")
    sandbox.sweep()

    assert code == EXIT_DRIFT
    rows = {row["arn"]: row for row in json.loads(output)}
    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.ERROR
    assert rows[story.key_arn]["status"] == "error"
    assert rows[story.key_arn]["error"] == record.reason  # the same check, the same words
    assert "signature" in record.reason and "does not verify" in record.reason
    code, _, err = run_cli_full("drift", story.key_arn)
    assert code == EXIT_USAGE and record.reason in err
    assert rows[story.secret_arn]["status"] == "in-sync"


def test_history_json_is_a_timeline(story: Story) -> None:
    code, output = run_cli("history", story.secret_arn, "--json")
    assert code == EXIT_OK
    assert [e["action"] for e in json.loads(output)][-1] == AuditAction.DECLARED


def test_declare_refuses_an_orphaned_unique_id(story: Story, tmp_path: Path) -> None:
    policy = key_policy()
    policy["Statement"][2]["Principal"] = {"AWS": "AROAABCDEFGHIJKLMNOPQ"}
    policy_file = tmp_path / "orphaned.json"
    policy_file.write_text(json.dumps(policy))
    code, _, err = run_cli_full("declare", story.key_arn, "--policy-file", str(policy_file))
    assert code == EXIT_USAGE and "AROAABCDEFGHIJKLMNOPQ" in err
    code, output = run_cli("history", story.key_arn, "--json")
    actions = [e["action"] for e in json.loads(output)]
    assert actions.count(AuditAction.DECLARED) == 1  # nothing recorded


def test_declare_refuses_a_key_policy_that_would_lock_driftguard_out(
    story: Story, tmp_path: Path
) -> None:
    policy = key_policy()
    policy["Statement"] = policy["Statement"][2:]  # only the pod-role grant
    policy_file = tmp_path / "lockout.json"
    policy_file.write_text(json.dumps(policy))
    code, _, err = run_cli_full("declare", story.key_arn, "--policy-file", str(policy_file))
    assert code == EXIT_USAGE
    assert "lockout safety check" in err


def test_a_name_that_is_nothing_known_is_not_found(sandbox: Sandbox) -> None:
    code, _, err = run_cli_full("declare", "not-an-arn", "--policy-file", "/dev/null")
    assert code == EXIT_NOT_FOUND
    assert err.startswith("driftguard: not-an-arn is not an ARN, a key ID or alias")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["declare", "arn:aws:s3:::bucket", "--policy-file", "/dev/null"], "no resource kind"),
        (
            ["declare", "arn:aws:kms:us-east-1:333333333333:key/x", "--policy-file", "/nope"],
            "/nope",
        ),
    ],
)
def test_bad_input_is_a_clear_usage_error(sandbox: Sandbox, argv: list[str], message: str) -> None:
    code, _, err = run_cli_full(*argv)
    assert code == EXIT_USAGE
    assert err.startswith("driftguard: error: ") and message in err
    assert "Traceback" not in err


def test_missing_table_configuration_is_exit_2(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TABLE_NAME")
    code, _, err = run_cli_full("status")
    assert code == EXIT_USAGE and "TABLE_NAME" in err
    code, _, err = run_cli_full("--table", "no-such-table", "status")
    assert code == EXIT_USAGE
    assert err == (
        f"driftguard: error: table no-such-table not found in {sandbox.region} "
        "(check --table, $TABLE_NAME or --stack)\n"
    )
