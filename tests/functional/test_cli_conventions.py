"""The aws CLI's conventions, against the sandbox: settings from the hub stack's
outputs, resources named by key ID, alias or secret name, AWS_REGION, --debug, and
exit code 3 for what driftguard does not know."""

from __future__ import annotations

import json

import pytest

from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from driftguard_cli.stack import STACK_OUTPUTS, TUNABLES
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.shell import publish_hub_stack
from driftguard_sandbox.story import Story
from tests.support.cli import run_cli_full

SETTINGS = (*STACK_OUTPUTS.values(), *TUNABLES, "PARTITION")


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A person's shell: credentials and region, none of the functions' variables."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def test_the_stack_gives_every_setting_even_for_scan_remediate(
    sandbox: Sandbox, story: Story, no_settings: None
) -> None:
    code, _, err = run_cli_full("status")
    assert code == EXIT_USAGE and "TABLE_NAME" in err
    publish_hub_stack(sandbox, "hub")
    code, out, err = run_cli_full("status", "--stack", "hub", "--json")
    assert code == EXIT_OK, err
    assert {row["arn"] for row in json.loads(out)} == {story.key_arn, story.secret_arn}
    code, out, err = run_cli_full("--stack", "hub", "scan", "--remediate", "--yes", "--json")
    assert code == EXIT_OK, err  # the whole Config, from the outputs alone
    code, out, err = run_cli_full("--stack", "hub", "replay-dlq", "--dry-run")
    assert code == EXIT_OK, err  # the dead-letter queue's URL from the outputs
    code, _, err = run_cli_full("status", "--stack", "nope")
    assert code == EXIT_USAGE
    assert err == f"driftguard: error: stack nope not found in {sandbox.region}\n"


def test_drift_stack_from_the_environment(
    sandbox: Sandbox, story: Story, no_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_hub_stack(sandbox, "hub")
    monkeypatch.setenv("DRIFTGUARD_STACK", "hub")
    code, _, err = run_cli_full("drift", story.key_arn)
    assert code == EXIT_OK, err


def test_a_resource_may_be_named_by_key_id_alias_or_secret_name(
    sandbox: Sandbox, story: Story
) -> None:
    key_id = story.key_arn.rsplit("/", 1)[1]
    story.kms.create_alias(AliasName="alias/testsecret", TargetKeyId=key_id)
    for name in (key_id, "alias/testsecret", story.key_arn):
        code, out, err = run_cli_full("drift", name, "--json")
        assert code == EXIT_OK, (name, err)
        assert json.loads(out)["arn"] == story.key_arn
    code, out, _ = run_cli_full("history", "testsecret", "--json")
    assert code == EXIT_OK and out
    code, _, err = run_cli_full("drift", "alias/nothing")
    assert code == EXIT_NOT_FOUND
    assert "key alias alias/nothing not found" in err


def test_not_found_is_3_and_drift_is_1(sandbox: Sandbox, story: Story) -> None:
    code, _, _ = run_cli_full("drift", "not-an-arn")
    assert code == EXIT_NOT_FOUND
    code, _, _ = run_cli_full("history", "arn:aws:kms:us-east-1:333333333333:key/unknown")
    assert code == EXIT_NOT_FOUND
    with sandbox.events_paused():
        story.widen_key_policy()
    code, _, _ = run_cli_full("drift", story.key_arn)
    assert code == EXIT_DRIFT


def test_aws_region_is_honoured(
    sandbox: Sandbox, story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # the table is in us-east-1
    code, _, err = run_cli_full("status")
    assert code == EXIT_USAGE and "not found in eu-west-1" in err
    code, _, err = run_cli_full("status", "--region", sandbox.region)
    assert code in (EXIT_OK, EXIT_DRIFT), err


def test_debug_shows_each_aws_call_and_no_payload(sandbox: Sandbox, story: Story) -> None:
    code, _, err = run_cli_full("drift", story.key_arn, "--debug")
    assert code == EXIT_OK
    calls = [line for line in err.splitlines() if line.startswith("aws: ")]
    assert any(line.startswith("aws: kms.GetKeyPolicy us-east-1 -> 200") for line in calls), err
    assert any(line.startswith("aws: dynamodb.") for line in calls), err
    assert "Statement" not in err and "SecretAccessKey" not in err
