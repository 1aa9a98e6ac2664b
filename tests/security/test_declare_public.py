"""`declare` and `adopt` never take a policy that grants everyone without a condition
unless told so: driftguard would otherwise keep a world-open key in place for good."""

from __future__ import annotations

import json
from pathlib import Path

from driftguard.state import StateStore
from driftguard_sandbox.story import Story, key_policy
from tests.support.cli import run_cli, run_cli_full, run_cli_typing


def test_a_world_open_statement_is_refused_unless_allowed(
    story: Story, store: StateStore, tmp_path: Path
) -> None:
    before = store.get_declared(story.key_arn)
    open_to_all = key_policy()
    open_to_all["Statement"].append(
        {
            "Sid": "Everyone",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(open_to_all))

    code, _, error = run_cli_full(
        "declare", story.key_arn, "--policy-file", str(path), "--mode", "enforce"
    )

    assert code == 2 and "grants everyone without a condition" in error and "Everyone" in error
    assert "--allow-public" in error
    assert store.get_declared(story.key_arn) == before  # nothing written

    # Answering yes at a terminal is no way round it: refused before the question.
    argv = ("declare", story.key_arn, "--policy-file", str(path), "--mode", "enforce")
    code, output, error = run_cli_typing(*argv, typed="y\n")
    assert code == 2 and "grants everyone without a condition" in error
    assert "Declare this?" not in output
    assert store.get_declared(story.key_arn) == before

    code, output = run_cli(
        "declare", story.key_arn, "--policy-file", str(path), "--mode", "enforce", "--allow-public"
    )
    assert code == 0, output
    after = store.get_declared(story.key_arn)
    assert after is not None and before is not None and after.version == before.version + 1
