"""The CLI through its entry point, against the sandbox: answers and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from driftguard_cli import main as cli
from driftguard_sandbox.story import Story, key_policy
from driftguard_sandbox import Sandbox


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), out=out), out.getvalue()


@pytest.fixture
def story(sandbox: Sandbox) -> Story:
    story = Story.create(sandbox)
    for arn in (story.key_arn, story.secret_arn):
        assert run("adopt", arn)[0] == cli.EXIT_OK  # DEFAULT_MODE from the template
    sandbox.wait_idle()
    return story


def test_status_json_lists_every_declared_resource(story: Story) -> None:
    code, output = run("status", "--json")
    assert code == cli.EXIT_OK
    records = {r["arn"]: r for r in json.loads(output)}
    assert set(records) == {story.key_arn, story.secret_arn}
    assert {r["status"] for r in records.values()} == {"in-sync"}
    assert records[story.key_arn]["mode"] == "enforce"


def test_status_filters_by_account_and_kind(story: Story) -> None:
    code, output = run("status", "--json", "--account", "222222222222")
    assert code == cli.EXIT_OK
    assert [r["arn"] for r in json.loads(output)] == [story.secret_arn]
    code, output = run("status", "--json", "--account", "333333333333", "--kind", "secret")
    assert json.loads(output) == []


def test_scan_exits_1_on_drift_and_0_when_in_sync(sandbox: Sandbox, story: Story) -> None:
    assert run("scan")[0] == cli.EXIT_OK
    with sandbox.events_paused():
        story.widen_key_policy()
    code, output = run("scan", "--json")
    assert code == cli.EXIT_DRIFT
    found = {r["arn"]: r for r in json.loads(output)}
    assert found[story.key_arn]["findings"] == ["widened"]
    assert not story.restored()  # a plain scan only reads

    code, _ = run("scan", "--remediate")
    assert code == cli.EXIT_DRIFT  # drift was found (and fixed)
    assert story.restored()
    assert run("scan")[0] == cli.EXIT_OK


def test_history_json_is_a_timeline(story: Story) -> None:
    code, output = run("history", story.secret_arn, "--json")
    assert code == cli.EXIT_OK
    assert [e["action"] for e in json.loads(output)][-1] == "declared"


def test_declare_refuses_an_orphaned_unique_id(story: Story, tmp_path: Path) -> None:
    policy = key_policy()
    policy["Statement"][2]["Principal"] = {"AWS": "AROAABCDEFGHIJKLMNOPQ"}
    policy_file = tmp_path / "orphaned.json"
    policy_file.write_text(json.dumps(policy))
    code, _ = run("declare", story.key_arn, "--policy-file", str(policy_file))
    assert code == cli.EXIT_USAGE
    code, output = run("history", story.key_arn, "--json")
    assert [e["action"] for e in json.loads(output)].count("declared") == 1  # nothing recorded


def test_declare_refuses_a_key_policy_that_would_lock_driftguard_out(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = key_policy()
    policy["Statement"] = policy["Statement"][2:]  # only the pod-role grant
    policy_file = tmp_path / "lockout.json"
    policy_file.write_text(json.dumps(policy))
    assert run("declare", story.key_arn, "--policy-file", str(policy_file))[0] == cli.EXIT_USAGE
    assert "lockout safety check" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["declare", "arn:aws:s3:::bucket", "--policy-file", "/dev/null"], "no resource kind"),
        (["declare", "not-an-arn", "--policy-file", "/dev/null"], "not an ARN"),
        (
            ["declare", "arn:aws:kms:us-east-1:333333333333:key/x", "--policy-file", "/nope"],
            "/nope",
        ),
    ],
)
def test_bad_input_is_a_clear_usage_error(
    sandbox: Sandbox, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*argv)[0] == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_missing_table_configuration_is_exit_2(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TABLE_NAME")
    assert run("status")[0] == cli.EXIT_USAGE
    assert "TABLE_NAME" in capsys.readouterr().err
    assert run("--table", "no-such-table", "status")[0] == cli.EXIT_USAGE
    assert "ResourceNotFoundException" in capsys.readouterr().err
