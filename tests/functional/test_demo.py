"""`driftguard demo` itself, start to end, as `make demo` runs it: in a process of its own
(the demo starts its own local AWS), contacting nothing but 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys

import pytest

DEMO = "from driftguard_cli.main import main; raise SystemExit(main(['demo']))"


@pytest.mark.heavy(20)
def test_the_demo_tells_the_story_and_refuses_a_forged_declaration() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from driftguard_cli.main import main; raise SystemExit(main(['demo']))",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "Both live policies match the declared state and the access path works" in out
    start = out.index("Someone writes a declaration straight into the state table")
    forged = out[start : out.index("Someone schedules the key for deletion")]
    assert "CRITICAL · Declaration refused" in forged
    assert "The live key policy is unchanged." in forged
    # A path breaks without a policy change, and driftguard puts it right: once each.
    start = out.index("Someone schedules the key for deletion")
    deletion = out[start : out.index("Someone edits pod-role's trust policy")]
    assert deletion.count("Access path broken: testsecret") == 1
    assert deletion.count("Access path works again: testsecret") == 1
    assert "`CancelKeyDeletion`, `EnableKey`, then verified every link" in deletion
    assert "The key is Enabled." in deletion
    trust = out[
        out.index("Someone edits pod-role's trust policy") : out.index("Where things stand")
    ]
    assert trust.count("Access path broken: testsecret") == 1
    assert "First broken link: `trust`" in trust
    assert trust.count("Access path works again: testsecret") == 1
    assert "nothing but 127.0.0.1 contacted" in out
