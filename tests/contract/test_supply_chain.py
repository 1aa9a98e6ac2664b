"""The layer's dependencies are locked by hash (README "Threat model", finding 9).

layers/driftguard/requirements.txt holds the top-level pins people edit;
requirements.lock (`make lock`) is their whole closure, every entry pinned with the
sha256 of each of its files, and the layer's Makefile installs the lock alone with
`--require-hashes --no-deps`. That the built layer holds exactly the lock is checked on
the layer itself (tests/contract/test_packaging.py). The dependency audit of the lock
(`make audit`) is tested in tests/unit/test_audit.py; here it meets a database it
cannot reach for real.

Two tests ask the registry (the closure, for both targets) or run pip-audit: marked
`sandbox`, the slow tier; the others read files.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.audit import LOCK, read_lock

pytestmark = pytest.mark.heavy(17)

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "driftguard"
REQUIREMENTS = LAYER / "requirements.txt"
SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")
# pip install's options that take a value as the next argument (the rest are flags).
TAKES_A_VALUE = frozenset(
    {
        *("-r", "--requirement", "-c", "--constraint", "-t", "--target", "--platform"),
        *("--implementation", "--python-version", "--abi", "--only-binary", "--no-binary"),
        *("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host"),
        *("--prefix", "--root", "--src", "--report", "--cache-dir", "--log", "--timeout"),
        *("--retries", "--cert", "--client-cert", "-C", "--config-settings", "--progress-bar"),
        *("--upgrade-strategy", "--python", "--proxy", "--exists-action"),
    }
)


def top_level() -> dict[str, str]:
    """requirements.txt: canonical name to pinned version."""
    pins: dict[str, str] = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"requirements.txt pins with ==: {line}"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def makefile_recipe_lines() -> list[str]:
    """The layer Makefile's lines, continuations joined, `$(...)` left as written."""
    return (LAYER / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ").splitlines()


def pip_installs() -> list[list[str]]:
    return [
        shlex.split(line)
        for line in makefile_recipe_lines()
        if line.startswith("\t") and re.search(r"\bpip install\b", line)
    ]


def lambda_target_args() -> list[str]:
    (line,) = [line for line in makefile_recipe_lines() if line.startswith("PIP_TARGET_ARGS")]
    return shlex.split(line.split("?=", 1)[1])


def test_every_lock_entry_is_pinned_with_the_hash_of_each_file() -> None:
    lock = read_lock()
    assert len(lock.requirements) >= len(top_level())
    unpinned = [r.line for r in lock.requirements.values() if r.version is None]
    assert not unpinned, f"lock entries not pinned with ==: {unpinned}"
    unhashed = [r.name for r in lock.requirements.values() if not r.hashes]
    assert not unhashed, f"lock entries without a hash: {unhashed}"
    malformed = [
        f"{r.name}: {h}"
        for r in lock.requirements.values()
        for h in r.hashes
        if not SHA256.match(h)
    ]
    assert not malformed, f"hashes that are not sha256: {malformed}"
    # Where files come from is the installer's business; what they are, the hashes'.
    assert lock.options == (), f"the lock names options (an index?): {lock.options}"


def test_the_lock_pins_the_top_level_requirements_at_their_versions() -> None:
    locked = {name: r.version for name, r in read_lock().requirements.items()}
    disagree = {
        name: f"requirements.txt {version}, lock {locked.get(name, 'absent')}"
        for name, version in top_level().items()
        if locked.get(name) != version
    }
    assert not disagree, f"run `make lock` after editing requirements.txt: {disagree}"


def test_the_layer_makefile_installs_the_lock_alone_by_hash() -> None:
    installs = pip_installs()
    assert installs, "the layer Makefile has no pip install"
    for args in installs:
        command = " ".join(args)
        assert "--require-hashes" in args, f"without --require-hashes: {command}"
        assert "--no-deps" in args, f"without --no-deps (the lock is the closure): {command}"
        files = [args[i + 1] for i, arg in enumerate(args) if arg in ("-r", "--requirement")]
        assert files == [LOCK.name], f"installs other than the lock: {command}"
        options = args[args.index("install") + 1 :]
        named = [
            arg
            for before, arg in zip(["install", *options], options, strict=False)
            if not arg.startswith("-") and before not in TAKES_A_VALUE and "$(" not in arg
        ]
        assert not named, f"installs named packages beside the lock: {named}"


def test_the_functions_install_nothing_beside_the_layer() -> None:
    """`sam build` installs each function's requirements.txt unhashed: they stay empty,
    so every dependency of a function comes through the locked layer."""
    files = sorted((ROOT / "functions").glob("*/requirements.txt"))
    assert files
    installing = {
        str(path.relative_to(ROOT)): lines
        for path in files
        if (
            lines := [
                line.strip()
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
        )
    }
    assert not installing, f"functions that install packages of their own: {installing}"


@pytest.mark.sandbox
@pytest.mark.parametrize("target", ["lambda", "local"])
def test_the_lock_is_the_whole_closure_for_lambda_and_for_this_interpreter(
    target: str, tmp_path: Path
) -> None:
    """pip resolves requirements.txt, held to the lock's pins and hashes, for the Lambda
    runtime (the Makefile's PIP_TARGET_ARGS) and for this interpreter (the import
    check): it must install the lock, no package more or less, each file matching."""
    args = lambda_target_args() if target == "lambda" else []
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--dry-run", "--quiet"),
            *("--disable-pip-version-check", "--require-hashes", *args),
            *("--target", str(tmp_path / "python"), "--report", str(tmp_path / "report.json")),
            *("-r", REQUIREMENTS.name, "-c", LOCK.name),
        ],
        cwd=LAYER,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    resolved = {
        (canonicalize_name(i["metadata"]["name"]), i["metadata"]["version"])
        for i in report["install"]
    }
    locked = {(name, r.version) for name, r in read_lock().requirements.items()}
    assert resolved == locked, (
        f"{target}: resolved but not locked {sorted(resolved - locked)}; "
        f"locked but not needed {sorted(locked - resolved)}: run `make lock`"
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.sandbox
def test_the_audit_says_not_checked_when_it_cannot_reach_its_database(tmp_path: Path) -> None:
    """The real pip-audit, its every request sent to a closed port on 127.0.0.1 (an
    HTTPS proxy nobody listens on), with an empty cache: not checked, exit 0."""
    env = {
        **os.environ,
        "HTTPS_PROXY": f"http://127.0.0.1:{closed_port()}",
        "NO_PROXY": "",
        "PIP_CACHE_DIR": str(tmp_path / "cache"),
    }
    env.pop("https_proxy", None)
    env.pop("no_proxy", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.audit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(
        "dependency audit: NOT CHECKED (cannot reach the vulnerability database: ProxyError"
    ), done.stdout
    assert "no known vulnerabilities" not in done.stdout.lower()
