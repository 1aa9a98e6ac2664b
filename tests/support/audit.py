"""The layer's lock file, and the dependency audit `make audit` runs (part of `make test`).

`python -m tests.support.audit` runs pip-audit over layers/driftguard/requirements.lock
(hash-locked, so no resolution and no pip: `--disable-pip`) and prints one verdict:

- `dependency audit: no known vulnerabilities in N packages (database: ...)`, exit 0,
  only when pip-audit answered for every locked package;
- each known vulnerability (package, ID, aliases, fixed versions), exit 1;
- `dependency audit: NOT CHECKED (cannot reach the vulnerability database: ...)`, exit 0,
  when the database could not be reached (network error, timeout, an error answer, or
  "not found" for every package, which is what a registry mirror without the per-release
  JSON API answers) or answered for only some packages (those are named);
- `dependency audit: FAILED (...)`, exit 2, when pip-audit itself failed otherwise (a
  broken lock, a bad option, a report that leaves a locked package out): that is a bug
  to fix, not an outage to wait out.

It never says "no known vulnerabilities" about a package it could not check: pip-audit
alone does (it prints "No known vulnerabilities found" when every package was skipped).
`interpret` is the decision, a pure function of what pip-audit returned.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "layers" / "driftguard" / "requirements.lock"
# pip-audit's services: PyPI's JSON API (pypi.org/pypi/<name>/<version>/json, the PyPA
# advisories), the default, needs no host but the registry's; OSV (api.osv.dev).
DATABASES = {
    "pypi": "PyPI's JSON API",
    "osv": "OSV",
}
# pip-audit waits this long for each answer; the whole run at most RUN_TIMEOUT.
SOCKET_TIMEOUT = 15
RUN_TIMEOUT = 300.0

# --------------------------------------------------------------------------- the lock


@dataclass(frozen=True)
class Locked:
    """One requirement of a lock file: `version` is None unless pinned with `==`."""

    name: str  # canonical (PEP 503)
    version: str | None
    hashes: tuple[str, ...]  # "sha256:<hex>", as written
    line: str  # the requirement as written, continuation lines joined


@dataclass(frozen=True)
class Lock:
    requirements: dict[str, Locked]
    options: tuple[str, ...]  # lines that are pip options (--index-url ...), not requirements


def read_lock(path: Path = LOCK) -> Lock:
    """A pip requirements file as pip-compile writes it (`name==version \\` then one
    `--hash=sha256:...` per line; comments after `#`)."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    requirements: dict[str, Locked] = {}
    options: list[str] = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        spec, *rest = re.split(r"\s+(?=--)", line)
        hashes = tuple(part.removeprefix("--hash=") for part in rest if part.startswith("--hash="))
        try:
            requirement = Requirement(spec)
        except InvalidRequirement:
            options.append(line)
            continue
        pins = [s.version for s in requirement.specifier if s.operator == "=="]
        exact = len(requirement.specifier) == 1 and len(pins) == 1 and "*" not in pins[0]
        name = canonicalize_name(requirement.name)
        requirements[name] = Locked(
            name, pins[0] if exact else None, hashes, " ".join(line.split())
        )
    return Lock(requirements, tuple(options))


# --------------------------------------------------------------------------- the decision


@dataclass(frozen=True)
class Verdict:
    exit_code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# What requests, urllib3 and pip-audit say when the database cannot be reached: the
# exception that ended the run (the traceback's last line), or pip-audit's own
# ConnectionError, which it logs before its last line (a tip).
_UNREACHABLE = re.compile(
    r"^(?:requests\.exceptions\.|urllib3\.exceptions\.|pip_audit\._service\.interface\.)?"
    r"(ConnectionError|ConnectTimeout|ReadTimeout|Timeout|ProxyError|SSLError|"
    r"ChunkedEncodingError|TooManyRedirects|RetryError|NameResolutionError|"
    r"MaxRetryError|NewConnectionError|ServiceError)\b:?\s*(.*)$"
)
_PIP_AUDIT_UNREACHABLE = re.compile(
    r"^ERROR:pip_audit\.\S*:(Could not connect to PyPI's vulnerability feed|"
    r"PyPI is not redirecting properly)"
)
# The part of a requests message that says what went wrong, most telling first.
_DETAILS = (
    r"Failed to resolve '[^']+'",
    r"\[Errno -?\d+\] [^\"')]+",
    r"Read timed out",
    r"timed out",
    r"Tunnel connection failed: [^\"')]+",
    r"Unable to connect to proxy",
    r"\d{3} (?:Client|Server) Error: [^\"')]+? for url",
    r"certificate verify failed[^\"')]*",
)
_NOT_FOUND = "Dependency not found on PyPI"


def _reason(kind: str, message: str) -> str:
    for pattern in _DETAILS:
        found = re.search(pattern, message)
        if found:
            return f"{kind}: {found.group(0).removesuffix(' for url').strip()}"
    message = " ".join(message.split())
    return f"{kind}: {message[:160]}" if message else kind


def unreachable_reason(stderr: str) -> str | None:
    """Why pip-audit could not reach its database, from its stderr; None when what it
    says is something else (or nothing)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return None
    last = _UNREACHABLE.match(lines[-1])
    if last:
        return _reason(last.group(1), last.group(2))
    for line in lines:
        logged = _PIP_AUDIT_UNREACHABLE.match(line)
        if logged:
            return logged.group(1)
    return None


def _not_checked(reason: str) -> Verdict:
    return Verdict(
        0, (f"dependency audit: NOT CHECKED (cannot reach the vulnerability database: {reason})",)
    )


def _failed(what: str, stderr: str) -> Verdict:
    # pip-audit's own lines, but never its "No known vulnerabilities found": nothing was.
    tail = [
        line
        for line in stderr.strip().splitlines()
        if line.strip() and "no known vulnerabilities" not in line.lower()
    ][-5:]
    return Verdict(2, (f"dependency audit: FAILED ({what})", *(f"  {line}" for line in tail)))


def interpret(
    returncode: int | None,
    stdout: str,
    stderr: str,
    locked: Mapping[str, str],
    database: str,
) -> Verdict:
    """The verdict on one pip-audit run (`--format json`) over the lock.

    `returncode` None: the run was stopped at its time limit. `locked`: canonical name
    to version, every package the lock ships, each of which must have been checked
    before anything is said to have no known vulnerabilities."""
    if returncode is None:
        return _not_checked(f"no answer within {RUN_TIMEOUT:.0f} s")
    try:
        dependencies: list[dict[str, Any]] = json.loads(stdout)["dependencies"]
        if not isinstance(dependencies, list) or not all(isinstance(d, dict) for d in dependencies):
            raise TypeError(dependencies)
    except (ValueError, KeyError, TypeError):
        reason = unreachable_reason(stderr)
        if reason is not None:
            return _not_checked(reason)
        return _failed(f"pip-audit exited {returncode} without a report", stderr)

    checked: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for dependency in dependencies:
        name = str(canonicalize_name(str(dependency.get("name", ""))))
        if "skip_reason" in dependency or "version" not in dependency:
            skipped[name] = str(dependency.get("skip_reason", "no version"))
        else:
            checked[name] = dependency
    vulnerable = [
        (name, str(dependency["version"]), vuln)
        for name, dependency in sorted(checked.items())
        for vuln in dependency.get("vulns") or []
    ]
    left_out = sorted(set(locked) - set(checked) - set(skipped))
    if left_out:  # pip-audit read the lock differently: a tool problem, not the database's
        return _failed(f"pip-audit's report leaves out {', '.join(left_out)}", stderr)
    if returncode not in (0, 1) or (returncode == 1) != bool(vulnerable):
        return _failed(
            f"pip-audit exited {returncode} with {len(vulnerable)} vulnerabilities", stderr
        )
    if not checked and not skipped:
        return _failed("pip-audit's report holds no package", stderr)
    if skipped and not checked and all(_NOT_FOUND in reason for reason in skipped.values()):
        return _not_checked(
            f"{database} answered 'not found' for all {len(skipped)} packages "
            "(a registry mirror without the per-release JSON API?)"
        )

    lines: list[str] = []
    if vulnerable:
        packages = len({name for name, _, _ in vulnerable})
        lines.append(
            f"dependency audit: {len(vulnerable)} known "
            f"{'vulnerability' if len(vulnerable) == 1 else 'vulnerabilities'} in {packages} of "
            f"{len(checked)} packages checked (database: {database}):"
        )
        for name, version, vuln in vulnerable:
            aliases = ", ".join(vuln.get("aliases") or [])
            fixed = ", ".join(vuln.get("fix_versions") or [])
            lines.append(
                f"  {name}=={version}: {vuln.get('id')}"
                + (f" ({aliases})" if aliases else "")
                + (f"; fixed in {fixed}" if fixed else "; no fixed version yet")
            )
    if skipped:
        lines.append(
            f"dependency audit: NOT CHECKED for {len(skipped)} of {len(checked) + len(skipped)} "
            f"packages ({', '.join(sorted(skipped))}): {'; '.join(sorted(set(skipped.values())))}"
        )
        if checked and not vulnerable:
            lines.append(
                f"dependency audit: {len(checked)} packages checked, none with a known "
                f"vulnerability (database: {database})"
            )
    elif not vulnerable:
        lines.append(
            f"dependency audit: no known vulnerabilities in {len(checked)} packages "
            f"(database: {database})"
        )
    return Verdict(1 if vulnerable else 0, tuple(lines))


# --------------------------------------------------------------------------- the run

Runner = Callable[[Sequence[str], float], tuple[int | None, str, str]]


def run(command: Sequence[str], timeout: float) -> tuple[int | None, str, str]:
    """`(returncode, stdout, stderr)`, returncode None when stopped at `timeout`."""
    try:
        done = subprocess.run(
            list(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None, "", ""
    return done.returncode, done.stdout, done.stderr


def command(lock: Path, service: str) -> list[str]:
    return [
        sys.executable, "-m", "pip_audit",
        "--requirement", str(lock),
        "--require-hashes",  # every entry has its hashes: no resolution, so no pip
        "--disable-pip",
        "--vulnerability-service", service,
        "--format", "json",
        "--progress-spinner", "off",
        "--timeout", str(SOCKET_TIMEOUT),
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None, runner: Runner = run) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.audit", description=__doc__)
    parser.add_argument("--lock", type=Path, default=LOCK, help="the hash-locked requirements")
    parser.add_argument("--service", choices=sorted(DATABASES), default="pypi")
    args = parser.parse_args(argv)
    lock = read_lock(args.lock)
    locked = {name: req.version or "" for name, req in lock.requirements.items()}
    returncode, stdout, stderr = runner(command(args.lock, args.service), RUN_TIMEOUT)
    verdict = interpret(returncode, stdout, stderr, locked, DATABASES[args.service])
    print(verdict.text, flush=True)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
