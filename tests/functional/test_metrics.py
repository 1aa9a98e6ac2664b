"""Every restore, orphaning and failure is counted as a CloudWatch metric (EMF on
stdout, as Lambda ships it), with a ResourceKind dimension."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from driftguard_cli import main as cli
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import Story


def emitted(output: str) -> list[dict[str, Any]]:
    metrics = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            metrics.append(json.loads(line))
    return metrics


def named(metrics: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [
        m
        for m in metrics
        if any(d["Name"] == name for d in m["_aws"]["CloudWatchMetrics"][0]["Metrics"])
    ]


def test_outcomes_become_metrics_with_the_resource_kind(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    story = Story.create(sandbox)
    for arn in (story.key_arn, story.secret_arn):
        assert cli.main(["adopt", arn], out=io.StringIO()) == cli.EXIT_OK
    sandbox.wait_idle()
    capsys.readouterr()

    story.delete_pod_role()
    sandbox.wait_idle()
    story.recreate_pod_role()
    sandbox.wait_idle()
    story.widen_key_policy()
    sandbox.wait_idle()

    metrics = emitted(capsys.readouterr().out)
    orphaned = named(metrics, "OrphanedPrincipal")
    restored = named(metrics, "PolicyRestored")
    assert sorted(m["ResourceKind"] for m in orphaned) == ["kms-key", "secret"]
    assert sorted(m["ResourceKind"] for m in restored) == ["kms-key", "kms-key", "secret"]
    assert {m["_aws"]["CloudWatchMetrics"][0]["Namespace"] for m in orphaned + restored} == {
        "Driftguard"
    }
