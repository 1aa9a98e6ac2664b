"""checkov on both templates: no failed check, and every skip says why in place."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from driftguard_sandbox.template import load_template

# The slow tier: an external tool (SAM CLI, checkov) or a browser.
pytestmark = [pytest.mark.sandbox, pytest.mark.heavy(12)]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [ROOT / "template.yaml", ROOT / "spoke-template.yaml"]
# Installed by `make tools` (part of `make test`): checkov pins an older boto3.
CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


# Session scope: built once per worker even when xdist interleaves other modules.
@pytest.fixture(scope="session")
def report() -> list[dict[str, Any]]:
    assert CHECKOV.exists(), "run `make tools` (part of `make test`) to install checkov"
    args = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "-o", "json"]
    for template in TEMPLATES:
        args += ["-f", str(template)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    parsed = json.loads(done.stdout)
    return parsed if isinstance(parsed, list) else [parsed]


def test_checkov_finds_nothing(report: list[dict[str, Any]]) -> None:
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for part in report
        for check in part["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    assert sum(part["summary"]["passed"] for part in report) > 0
    assert all(part["summary"]["parsing_errors"] == 0 for part in report)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_skipped_check_is_justified_in_place(path: Path) -> None:
    skips = [
        (logical_id, skip)
        for logical_id, resource in load_template(path).get("Resources", {}).items()
        for skip in (resource.get("Metadata", {}).get("checkov", {}).get("skip", []))
    ]
    for logical_id, skip in skips:
        assert skip.get("id", "").startswith("CKV"), logical_id
        assert len(str(skip.get("comment", "")).strip()) >= 20, (logical_id, skip)


def test_checkov_saw_the_skips(report: list[dict[str, Any]]) -> None:
    skipped = {
        (check["check_id"], check["resource"].split(".")[-1])
        for part in report
        for check in part["results"]["skipped_checks"]
    }
    declared = {
        (skip["id"], logical_id)
        for path in TEMPLATES
        for logical_id, resource in load_template(path).get("Resources", {}).items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    assert declared <= skipped  # a skip checkov no longer reports is stale: remove it
