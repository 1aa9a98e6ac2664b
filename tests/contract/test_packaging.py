"""The layer and the functions package the way `sam build` would, import with only
the layer's requirements, and their sizes are reported (test-artifacts/); `pip install .`
(tests/contract/test_pip_install.py: `pip install .` gives a working command line).

The slow tier (builds and installs): marked `sandbox`, so `pytest -m "not sandbox"`
stays fast."""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from driftguard_sandbox.template import load_template
from tests.support.audit import read_lock

pytestmark = [pytest.mark.sandbox, pytest.mark.heavy(25)]

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "driftguard"
ARTIFACTS = ROOT / "test-artifacts"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def build_layer(target: Path) -> Path:
    """`sam build`'s makefile build of DriftguardLayer (for Lambda), into target/python."""
    args = ["make", "-s", "-C", str(LAYER), "build-DriftguardLayer", f"ARTIFACTS_DIR={target}"]
    args.append(f"PYTHON={sys.executable}")
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return target / "python"


def compiled_distributions(layer: Path) -> dict[str, set[str]]:
    """`name==version` of each wheel in the layer that holds compiled code, and the
    top-level entries its files are in."""
    found: dict[str, set[str]] = {}
    for wheel in layer.glob("*.dist-info/WHEEL"):
        if "Root-Is-Purelib: false" not in wheel.read_text(encoding="utf-8"):
            continue
        metadata = email.parser.Parser().parsestr(
            (wheel.parent / "METADATA").read_text(encoding="utf-8")
        )
        record = (wheel.parent / "RECORD").read_text(encoding="utf-8").splitlines()
        tops = {line.split(",", 1)[0].split("/", 1)[0] for line in record if line}
        found[f"{metadata['Name']}=={metadata['Version']}"] = tops
    return found


def zipped_size(source: Path, archive: Path) -> int:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(
                    path, path.relative_to(source.parent if source.name == "python" else source)
                )
    return archive.stat().st_size


def tree_size(source: Path) -> int:
    return sum(p.stat().st_size for p in source.rglob("*") if p.is_file())


def functions() -> dict[str, tuple[Path, str]]:
    template = load_template(ROOT / "template.yaml")
    return {
        logical_id: (ROOT / resource["Properties"]["CodeUri"], resource["Properties"]["Handler"])
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


# Session scope: built once per worker even when xdist interleaves other modules.
@pytest.fixture(scope="session")
def lambda_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layer(tmp_path_factory.mktemp("lambda-layer"))


@pytest.fixture(scope="session")
def local_layer(lambda_layer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lambda layer's own files, for this machine: every entry linked as built,
    except the wheels with compiled code (arm64, Python 3.13), which are installed
    at the same versions for the local interpreter."""
    local = tmp_path_factory.mktemp("local-layer") / "python"
    local.mkdir()
    compiled = compiled_distributions(lambda_layer)
    swapped = set().union(*compiled.values())
    for entry in lambda_layer.iterdir():
        if entry.name not in swapped:
            (local / entry.name).symlink_to(entry)
    pip = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", sys.executable]
    done = subprocess.run(
        [*pip, "--no-deps", "--target", str(local), *sorted(compiled)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return local


def test_layer_is_built_for_the_lambda_runtime_without_workstation_code(
    lambda_layer: Path,
) -> None:
    assert (lambda_layer / "driftguard" / "__init__.py").is_file()
    assert not (lambda_layer / "driftguard_cli").exists()
    assert not (lambda_layer / "driftguard_sandbox").exists()
    assert not (lambda_layer / "moto").exists()
    compiled = [p.name for p in lambda_layer.rglob("_pydantic_core*.so")]
    assert compiled and all("313" in n and "aarch64" in n for n in compiled), compiled


def test_the_layer_ships_exactly_the_locked_distributions(lambda_layer: Path) -> None:
    """Every distribution installed in the layer is in requirements.lock at that version,
    and every locked one is installed (tests/contract/test_supply_chain.py: the lock)."""
    shipped = set()
    for metadata in lambda_layer.glob("*.dist-info/METADATA"):
        fields = email.parser.Parser().parsestr(metadata.read_text(encoding="utf-8"))
        shipped.add((canonicalize_name(fields["Name"]), fields["Version"]))
    locked = {(name, r.version) for name, r in read_lock().requirements.items()}
    assert shipped == locked, (
        f"in the layer, not locked: {sorted(shipped - locked)}; "
        f"locked, not in the layer: {sorted(locked - shipped)}"
    )


# Run by a clean interpreter: each handler loaded from its file as Lambda loads
# CodeUri/app.py, with only the layer on the path.
_IMPORT_PROBE = """
import importlib.util, json, sys
failures = {}
for name, path in json.loads(sys.argv[1]).items():
    spec = importlib.util.spec_from_file_location(f"fn_{name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        assert callable(module.handler)
    except Exception as exc:
        failures[name] = f"{type(exc).__name__}: {exc}"
driftguard = getattr(sys.modules.get("driftguard"), "__file__", None)
print(json.dumps({"failures": failures, "loaded": sorted(sys.modules), "from": driftguard}))
"""


def test_functions_import_with_only_the_layer(local_layer: Path, tmp_path: Path) -> None:
    """A clean interpreter (no site-packages) sees what Lambda gives it: the
    function's code and the layer's python/ directory, nothing else."""
    venv = tmp_path / "clean"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    handlers = {
        logical_id: str(code / f"{handler.split('.')[0]}.py")
        for logical_id, (code, handler) in functions().items()
    }
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-s", "-c", _IMPORT_PROBE, json.dumps(handlers)],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(local_layer)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["failures"] == {}
    assert "driftguard.runtime" in report["loaded"]  # the handlers did load
    assert str(report["from"]).startswith(str(local_layer))  # the layer's copy, no other
    tops = {name.split(".")[0] for name in report["loaded"]}
    assert not tops & {"moto", "driftguard_sandbox", "driftguard_cli", "rich", "jinja2"}


def test_sizes_are_reported_and_within_lambda_limits(lambda_layer: Path, tmp_path: Path) -> None:
    sizes: dict[str, dict[str, int]] = {
        "DriftguardLayer": {
            "zipped": zipped_size(lambda_layer, tmp_path / "layer.zip"),
            "unzipped": tree_size(lambda_layer),
        }
    }
    for logical_id, (code, _) in functions().items():
        sizes[logical_id] = {
            "zipped": zipped_size(code, tmp_path / f"{logical_id}.zip"),
            "unzipped": tree_size(code),
        }
        assert sizes[logical_id]["unzipped"] + sizes["DriftguardLayer"]["unzipped"] < (
            LAMBDA_UNZIPPED_LIMIT
        )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "package-sizes.json").write_text(json.dumps(sizes, indent=2) + "\n")
    for name, size in sizes.items():
        print(f"{name}: {size['zipped'] / 1e6:.2f} MB zipped, {size['unzipped'] / 1e6:.2f} MB")
    assert sizes["DriftguardLayer"]["zipped"] > 1_000_000  # it really holds the dependencies
    shutil.rmtree(tmp_path, ignore_errors=True)
