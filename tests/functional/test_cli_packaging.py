"""The CLI's own dependencies stay out of the functions: the Lambda layer does not
ship them (tests/contract/test_template_wiring.py: CLI_ONLY)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode != 0 and "rich" in result.stderr
