"""`pip install .` in a fresh venv gives a `driftguard` whose every command explains
itself, and whose `demo` says in one line how to get the local AWS it needs.

The slow tier (an install): marked `sandbox`, so `pytest -m "not sandbox"` stays fast.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.sandbox, pytest.mark.heavy(11)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def installed_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install .` into a fresh venv: the CLI with its dependencies, no extras."""
    work = tmp_path_factory.mktemp("pip-install")
    # From a copy of what the distribution is made of: setuptools builds in the source
    # tree (build/, *.egg-info), and the checkout must stay as it is.
    source = work / "source"
    shutil.copytree(
        ROOT / "layers" / "driftguard",
        source / "layers" / "driftguard",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    shutil.copy(ROOT / "pyproject.toml", source)
    venv = work / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    # uv's pip interface: the same build backend and metadata as `pip install .`, in
    # seconds instead of half a minute.
    pip = [sys.executable, "-m", "uv", "pip", "install", "--python", str(venv / "bin" / "python")]
    done = subprocess.run(
        [*pip, "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return venv / "bin" / "driftguard"


_HELP_PROBE = """
import io, json
from driftguard_cli.main import COMMANDS, main
answers = {}
for name in [n for command in COMMANDS for n in command.NAMES]:
    out = io.StringIO()
    answers[name] = (main([name, "--help"], out=out), out.getvalue())
print(json.dumps(answers))
"""


def test_pip_install_gives_a_cli_whose_every_command_explains_itself(installed_cli: Path) -> None:
    python = installed_cli.parent / "python"
    done = subprocess.run(
        [str(python), "-c", _HELP_PROBE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    from driftguard_cli.main import COMMANDS

    assert set(answers) == {name for command in COMMANDS for name in command.NAMES}
    for command, (code, text) in answers.items():
        assert code == 0 and f"driftguard {command}" in text and "exit codes:" in text, command
    help_text = subprocess.run(
        [str(installed_cli), "status", "--help"], capture_output=True, text=True, timeout=60
    )
    assert help_text.returncode == 0 and "driftguard status" in help_text.stdout  # the script
    version = subprocess.run(
        [str(installed_cli), "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0 and version.stdout.startswith("driftguard ")


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_the_local_aws_without_the_sandbox_extra_says_how_to_get_it(
    installed_cli: Path, command: str
) -> None:
    done = subprocess.run([str(installed_cli), command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert 'pip install "driftguard[sandbox]"' in line and "Traceback" not in done.stderr
