"""`sam validate --lint` on both templates, with SAM CLI itself (`make tools`), offline."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

# The slow tier: an external tool (SAM CLI, checkov) or a browser.
pytestmark = [pytest.mark.sandbox, pytest.mark.heavy(10)]

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-sam" / "bin" / "sam"


@pytest.mark.parametrize("template", ["template.yaml", "spoke-template.yaml"])
def test_sam_validate_lint_is_clean(template: str) -> None:
    assert SAM.exists(), "run `make tools` (part of `make test`) to install SAM CLI"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        # SAM CLI wants a region and credentials to exist; it contacts nothing.
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "SAM_CLI_TELEMETRY": "0",
    }
    done = subprocess.run(
        [str(SAM), "validate", "--lint", "--template", str(ROOT / template)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "is a valid SAM Template" in output, output
