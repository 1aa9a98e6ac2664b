"""Three import packages, each with one job, and who may import whom (README "Layout").

driftguard is what Lambda runs: it imports neither the command line nor the local AWS.
The local AWS never imports the command line (the CLI hands the demo its entry point).
The README's Layout table names every folder that exists, and nothing else.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "layers" / "driftguard"
PACKAGES = ("driftguard", "driftguard_cli", "driftguard_sandbox")
# package -> the packages of ours it must never import
FORBIDDEN = {
    "driftguard": {"driftguard_cli", "driftguard_sandbox"},
    "driftguard_sandbox": {"driftguard_cli"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_what_it_must_not(package: str) -> None:
    files = sorted((SOURCE / package).rglob("*.py"))
    assert files, f"no modules found in {package}"
    wrong = {
        f"{path.relative_to(SOURCE)}: {name}"
        for path in files
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN[package]
    }
    assert not wrong, f"{package} imports what it must not:\n" + "\n".join(sorted(wrong))


_PROBE = """
import importlib, json, pkgutil, sys
import driftguard
for module in pkgutil.walk_packages(driftguard.__path__, "driftguard."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_all_of_driftguard_loads_no_cli_sandbox_or_their_libraries() -> None:
    """The static check above, confirmed at run time (lazy imports included)."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "driftguard.service" in loaded  # the probe did walk the package
    tops = {name.split(".")[0] for name in loaded}
    assert not tops & {"driftguard_cli", "driftguard_sandbox", "moto", "rich", "jinja2", "yaml"}


def tables() -> list[list[list[str]]]:
    """The Markdown tables of the README's Layout section: rows of cells."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    found: list[list[list[str]]] = []
    for block in re.split(r"\n\s*\n", section):
        lines = [line for line in block.strip().splitlines() if line.startswith("|")]
        if len(lines) > 2:
            found.append([[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]])
    return found


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_the_readme_layout_names_every_folder_and_package_that_exists() -> None:
    paths_table = tables()[0]
    paths = [name.rstrip("/") for row in paths_table for name in names(row[0])]
    missing = [path for path in paths if not list(ROOT.glob(re.sub(r"<[^>]+>", "*", path)))]
    assert not missing, f"the Layout table names what does not exist: {missing}"
    folders = {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and p.name not in {"test-artifacts", "build"}
        and not p.name.endswith(".egg-info")
    }
    tops = {path.split("/")[0] for path in paths}
    assert folders <= tops, f"folders the Layout table leaves out: {folders - tops}"
    for package in PACKAGES:
        assert f"layers/driftguard/{package}" in paths, f"the Layout table leaves out {package}"
    for folder in ("unit", "functional", "contract", "reliability", "security", "support"):
        assert f"tests/{folder}" in paths, f"the Layout table leaves out tests/{folder}"


def test_the_readme_names_every_module_of_driftguard() -> None:
    modules_table = tables()[1]
    listed = {name.rstrip("/") for row in modules_table for name in names(row[0])}
    package = SOURCE / "driftguard"
    present = {
        p.name
        for p in package.iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").is_file()
    }
    assert listed == present, (
        f"README names modules that do not exist: {sorted(listed - present)}; "
        f"modules it does not name: {sorted(present - listed)}"
    )


def heavy_sandbox_modules() -> set[str]:
    """The sandbox modules that load moto, themselves or through another; the others
    (template, slack, sns, story, clock) are plain Python the fast tier may use."""
    imports = {
        path.stem: [name.split(".") for name in imported_modules(path)]
        for path in (SOURCE / "driftguard_sandbox").glob("*.py")
    }
    heavy = {m for m, names in imports.items() if any(n[0] == "moto" for n in names)}
    while True:
        more = {
            module
            for module, names in imports.items()
            if any(n[0] == "driftguard_sandbox" and n[1:2] and n[1] in heavy for n in names)
        }
        if more <= heavy:
            return heavy
        heavy |= more


def test_the_unit_tier_needs_no_local_aws() -> None:
    heavy_sandbox = heavy_sandbox_modules()
    assert {"server", "sandbox", "queues"} <= heavy_sandbox
    wrong = []
    for path in sorted((ROOT / "tests" / "unit").rglob("*.py")):
        for name in imported_modules(path):
            parts = name.split(".")
            heavy = (
                parts[0] == "driftguard_sandbox" and len(parts) > 1 and parts[1] in heavy_sandbox
            )
            if parts[0] == "moto" or heavy:
                wrong.append(f"{path.relative_to(ROOT)}: {name}")
    assert not wrong, "unit tests that load the local AWS:\n" + "\n".join(wrong)
