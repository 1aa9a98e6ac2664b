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
    assert "Both live policies match the declared state" in out
    forged = out[out.index("Someone writes a declaration straight into the state table") :]
    assert "CRITICAL · Declaration refused" in forged
    assert "The live key policy is unchanged." in forged
    assert "nothing but 127.0.0.1 contacted" in out
