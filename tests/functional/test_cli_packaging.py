"""The CLI's own dependencies stay out of the functions: the Lambda layer does not
ship them (tests/contract/test_template_wiring.py: CLI_ONLY). And the command line
itself runs without the sandbox extra: only `driftguard demo` needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# The slow tier: each check runs a fresh interpreter.
pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
CLI_ONLY = ("rich", "jinja2")

# Runs in a fresh interpreter where the CLI-only packages cannot be imported, as in
# the layer; imports every function's handler module the way Lambda does.
_PROBE = """
import importlib.util, json, sys
for name in {blocked!r}:
    sys.modules[name] = None  # `import name` now raises ImportError
failures = {{}}
for path in sorted(__import__("pathlib").Path({functions!r}).glob("*/app.py")):
    spec = importlib.util.spec_from_file_location(f"fn_{{path.parent.name}}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        assert callable(module.handler)
    except Exception as exc:
        failures[path.parent.name] = f"{{type(exc).__name__}}: {{exc}}"
print(json.dumps({{"failures": failures, "loaded": sorted(sys.modules)}}))
"""


def test_functions_import_without_the_cli_only_packages() -> None:
    probe = _PROBE.format(blocked=CLI_ONLY, functions=str(ROOT / "functions"))
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["failures"] == {}
    assert "driftguard.runtime" in report["loaded"]  # the probe did load the functions
    assert not [m for m in report["loaded"] if m.startswith("driftguard_cli")]


def test_the_cli_needs_them() -> None:
    """The probe above would pass vacuously if the CLI did not use them at all."""
    probe = "import sys; sys.modules['rich'] = None; import driftguard_cli.main"
    result = _python(probe)
    assert result.returncode != 0 and "rich" in result.stderr


def test_the_cli_loads_no_sandbox_and_no_aws_runtime_until_asked() -> None:
    """Every command module is imported by `driftguard_cli.main`; the sandbox (moto) only
    when `demo` runs, the functions' runtime only for scan --remediate and replay-dlq."""
    probe = (
        "import json, sys, driftguard_cli.main as m; "
        "print(json.dumps({'loaded': sorted(sys.modules), "
        "'commands': [c.__name__ for c in m.COMMANDS]}))"
    )
    result = _python(probe)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["commands"]) <= set(report["loaded"])
    lazy = ("driftguard_sandbox", "moto", "driftguard.runtime", "jinja2")
    assert not [m for m in report["loaded"] if m.split(".")[0] in lazy or m in lazy]


def test_without_the_sandbox_extra_demo_says_how_to_install_it() -> None:
    """As after `pip install driftguard`: moto is not installed."""
    result = _python(_NO_MOTO + "raise SystemExit(main(['demo']))")
    assert result.returncode == 2, result.stderr  # EXIT_USAGE
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "driftguard: the demo needs the local AWS (moto is not installed): "
        'pip install "driftguard[sandbox]"'
    ]
    assert _python(_NO_MOTO + "raise SystemExit(main(['status', '--help']))").returncode == 0


# Makes moto (and its submodules) impossible to find, as when it is not installed.
_NO_MOTO = """
import sys
class NoMoto:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "moto":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoMoto())
from driftguard_cli.main import main
"""


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
