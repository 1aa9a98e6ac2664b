"""The dependency audit's verdict (tests/support/audit.py), a pure function of what
pip-audit returned: it says "no known vulnerabilities" only when every locked package
was checked, and "NOT CHECKED" (exit 0) when the database could not be reached.

The stderr samples are the last lines pip-audit 2.10 printed here, run against a
closed proxy port, a proxy that never answers, an unresolvable host, and the registry
mirror of this machine (which answers 404 for every per-release JSON document).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.audit import LOCK, RUN_TIMEOUT, interpret, main, read_lock

DATABASE = "PyPI's JSON API"
LOCKED = {"boto3": "1.44.8", "urllib3": "2.8.0", "six": "1.17.0"}
NO_KNOWN = "no known vulnerabilities"

REFUSED = (
    "Traceback (most recent call last):\n"
    '  File ".../requests/adapters.py", line 723, in send\n'
    "    raise ProxyError(e, request=request)\n"
    "requests.exceptions.ProxyError: HTTPSConnectionPool(host='pypi.org', port=443): Max "
    "retries exceeded with url: /pypi/annotated-types/0.8.0/json (Caused by ProxyError("
    "'Unable to connect to proxy', NewConnectionError(\"HTTPSConnection(host='127.0.0.1', "
    'port=9): Failed to establish a new connection: [Errno 111] Connection refused")))\n'
)
TIMED_OUT = (
    "Traceback (most recent call last):\n"
    "    raise ReadTimeout(e, request=request)\n"
    "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='pypi.org', port=443): Read "
    "timed out. (read timeout=3)\n"
)
UNRESOLVED = (
    "urllib3.exceptions.NameResolutionError: HTTPSConnection(host='api.osv.dev', port=443): "
    "Failed to resolve 'api.osv.dev' ([Errno -2] Name or service not known)\n"
    "\nThe above exception was the direct cause of the following exception:\n\n"
    "Traceback (most recent call last):\n"
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev', port=443): "
    'Max retries exceeded with url: /v1/query (Caused by NameResolutionError("HTTPSConnection('
    "host='api.osv.dev', port=443): Failed to resolve 'api.osv.dev' ([Errno -2] Name or "
    'service not known)"))\n'
)
CONNECT_TIMEOUT = (  # pip-audit's own ConnectionError: logged, then a tip
    "ERROR:pip_audit._cli:Could not connect to PyPI's vulnerability feed\n"
    "ERROR:pip_audit._cli:Tip: your network may be blocking this service. Try another "
    "service with `-s SERVICE`\n"
)
SERVER_ERROR = (
    "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: "
    "https://pypi.org/pypi/boto3/1.44.8/json\n"
    "\nThe above exception was the direct cause of the following exception:\n\n"
    "pip_audit._service.interface.ServiceError\n"
)
BROKEN_LOCK = "ERROR:pip_audit._cli:invalid requirements input: boto3>=1\n"
A_BUG = (
    "Traceback (most recent call last):\n"
    "requests.exceptions.ConnectionError: earlier, handled\n"
    "\nDuring handling of the above exception, another exception occurred:\n\n"
    "KeyError: 'vulns'\n"
)


def report(*dependencies: dict[str, Any]) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def clean(name: str) -> dict[str, Any]:
    return {"name": name, "version": LOCKED[name], "vulns": []}


def not_found(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} (1)",
    }


VULN = {
    "id": "GHSA-xxxx-yyyy-zzzz",
    "fix_versions": ["2.9.0"],
    "aliases": ["CVE-2099-0001"],
    "description": "...",
}


def verdict(returncode: int | None, stdout: str = "", stderr: str = "") -> tuple[int, str]:
    found = interpret(returncode, stdout, stderr, LOCKED, DATABASE)
    return found.exit_code, found.text


# --------------------------------------------------------------------------- it ran


def test_every_package_checked_and_clean_is_the_one_no_known_vulnerabilities() -> None:
    stdout = report(clean("boto3"), clean("urllib3"), clean("six"))
    assert verdict(0, stdout, "No known vulnerabilities found\n") == (
        0,
        f"dependency audit: no known vulnerabilities in 3 packages (database: {DATABASE})",
    )


def test_known_vulnerabilities_are_listed_and_fail() -> None:
    urllib3 = {"name": "urllib3", "version": "2.8.0", "vulns": [VULN]}
    code, text = verdict(1, report(clean("boto3"), urllib3, clean("six")))
    assert code == 1
    assert text.splitlines() == [
        f"dependency audit: 1 known vulnerability in 1 of 3 packages checked (database: "
        f"{DATABASE}):",
        "  urllib3==2.8.0: GHSA-xxxx-yyyy-zzzz (CVE-2099-0001); fixed in 2.9.0",
    ]


def test_a_vulnerability_without_a_fix_says_so() -> None:
    vuln = {"id": "PYSEC-2099-1", "fix_versions": []}
    six = {"name": "six", "version": "1.17.0", "vulns": [vuln]}
    code, text = verdict(1, report(clean("boto3"), clean("urllib3"), six))
    assert code == 1 and text.endswith("six==1.17.0: PYSEC-2099-1; no fixed version yet")


# --------------------------------------------------------------------------- it could not


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        (REFUSED, "ProxyError: [Errno 111] Connection refused"),
        (TIMED_OUT, "ReadTimeout: Read timed out"),
        (UNRESOLVED, "ConnectionError: Failed to resolve 'api.osv.dev'"),
        (CONNECT_TIMEOUT, "Could not connect to PyPI's vulnerability feed"),
        (SERVER_ERROR, "ServiceError"),
    ],
    ids=["refused", "timed-out", "unresolved", "connect-timeout", "server-error"],
)
def test_an_unreachable_database_is_not_checked_and_does_not_fail(stderr: str, reason: str) -> None:
    assert verdict(1, "", stderr) == (
        0,
        f"dependency audit: NOT CHECKED (cannot reach the vulnerability database: {reason})",
    )


def test_a_run_stopped_at_its_time_limit_is_not_checked() -> None:
    code, text = verdict(None)
    assert code == 0 and text == (
        "dependency audit: NOT CHECKED (cannot reach the vulnerability database: no answer "
        f"within {RUN_TIMEOUT:.0f} s)"
    )


def test_not_found_for_every_package_is_not_checked_though_pip_audit_says_none_found() -> None:
    """What this machine's registry mirror does: pip-audit skips every package, exits 0
    and prints "No known vulnerabilities found"."""
    stdout = report(not_found("boto3"), not_found("urllib3"), not_found("six"))
    code, text = verdict(0, stdout, "No known vulnerabilities found\n")
    assert code == 0
    assert text.startswith("dependency audit: NOT CHECKED (cannot reach the vulnerability")
    assert "answered 'not found' for all 3 packages" in text


def test_packages_left_unchecked_are_named_and_nothing_is_said_clean() -> None:
    invalid = {"name": "urllib3", "skip_reason": "invalid version"}
    code, text = verdict(0, report(clean("boto3"), not_found("six"), invalid))
    assert code == 0
    first, second = text.splitlines()
    assert first.startswith("dependency audit: NOT CHECKED for 2 of 3 packages (six, urllib3): ")
    assert "Dependency not found on PyPI" in first and "invalid version" in first
    assert second == (
        f"dependency audit: 1 packages checked, none with a known vulnerability (database: "
        f"{DATABASE})"
    )


def test_vulnerabilities_found_with_packages_unchecked_fail_and_say_both() -> None:
    urllib3 = {"name": "urllib3", "version": "2.8.0", "vulns": [VULN]}
    code, text = verdict(1, report(urllib3, not_found("six"), clean("boto3")))
    assert code == 1
    assert "1 known vulnerability" in text and "NOT CHECKED for 1 of 3 packages (six)" in text


# --------------------------------------------------------------------------- it broke


@pytest.mark.parametrize(
    ("returncode", "stdout", "stderr"),
    [
        (1, "", BROKEN_LOCK),
        (1, "", A_BUG),  # a network error earlier in the chain does not excuse a bug
        (1, "", ""),
        (0, "not json", ""),
        (0, json.dumps({"dependencies": "?"}), ""),
        (2, report(clean("boto3"), clean("urllib3"), clean("six")), "usage: ..."),
        (1, report(clean("boto3"), clean("urllib3"), clean("six")), ""),  # 1 yet no finding
        (0, report(clean("boto3"), clean("urllib3")), ""),  # six left out of the report
        (0, report(), ""),
    ],
    ids=[
        *("broken-lock", "a-bug", "silent", "not-json", "bad-shape", "exit-2", "exit-1-clean"),
        *("left-out", "empty"),
    ],
)
def test_any_other_failure_fails_loudly(returncode: int, stdout: str, stderr: str) -> None:
    code, text = verdict(returncode, stdout, stderr)
    assert code == 2 and text.startswith("dependency audit: FAILED (pip-audit")


# --------------------------------------------------------------------------- never clean


UNCLEAN = [
    (1, "", REFUSED),
    (1, "", TIMED_OUT),
    (1, "", UNRESOLVED),
    (1, "", CONNECT_TIMEOUT),
    (1, "", SERVER_ERROR),
    (None, "", ""),
    (0, report(not_found("boto3"), not_found("urllib3"), not_found("six")), ""),
    (0, report(clean("boto3"), clean("urllib3")), ""),
    (0, report(), "No known vulnerabilities found"),
    (1, "", BROKEN_LOCK),
    (0, "", "No known vulnerabilities found"),
]


@pytest.mark.parametrize(("returncode", "stdout", "stderr"), UNCLEAN)
def test_unless_every_package_was_checked_it_never_says_no_known_vulnerabilities(
    returncode: int | None, stdout: str, stderr: str
) -> None:
    _, text = verdict(returncode, stdout, stderr)
    assert NO_KNOWN not in text.lower()


# --------------------------------------------------------------------------- the run


def test_main_audits_the_lock_by_its_hashes_without_pip_and_prints_the_verdict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[Sequence[str]] = []

    def runner(command: Sequence[str], timeout: float) -> tuple[int | None, str, str]:
        seen.append(command)
        return 1, "", REFUSED

    assert main([], runner=runner) == 0
    (command,) = seen
    assert command[command.index("--requirement") + 1] == str(LOCK)
    assert {"--require-hashes", "--disable-pip"} <= set(command)
    assert command[command.index("--format") + 1] == "json"
    assert capsys.readouterr().out == (
        "dependency audit: NOT CHECKED (cannot reach the vulnerability database: "
        "ProxyError: [Errno 111] Connection refused)\n"
    )


def test_main_counts_every_package_of_the_lock(capsys: pytest.CaptureFixture[str]) -> None:
    lock = read_lock()
    everything = report(
        *({"name": n, "version": r.version, "vulns": []} for n, r in lock.requirements.items())
    )
    assert main([], runner=lambda command, timeout: (0, everything, "")) == 0
    assert f"{NO_KNOWN} in {len(lock.requirements)} packages" in capsys.readouterr().out
    missing_one = report(
        *(
            {"name": n, "version": r.version, "vulns": []}
            for n, r in list(lock.requirements.items())[1:]
        )
    )
    assert main([], runner=lambda command, timeout: (0, missing_one, "")) == 2
    assert NO_KNOWN not in capsys.readouterr().out


def test_read_lock_joins_continuations_and_keeps_hashes_markers_and_options(
    tmp_path: Path,
) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "# header\n"
        "--index-url https://example.invalid/simple\n"
        "Typing_Extensions==4.16.0 ; python_version < '3.13' \\\n"
        "    --hash=sha256:aa \\\n"
        "    --hash=sha256:bb\n"
        "    # via pydantic\n"
        "boto3>=1.40  # not pinned\n"
        "six==1.*\n"
        "urllib3==2.8.0\n",
        encoding="utf-8",
    )
    read = read_lock(lock)
    assert read.options == ("--index-url https://example.invalid/simple",)
    typing = read.requirements["typing-extensions"]
    assert typing.version == "4.16.0" and typing.hashes == ("sha256:aa", "sha256:bb")
    assert read.requirements["boto3"].version is None
    assert read.requirements["six"].version is None
    assert read.requirements["urllib3"].hashes == ()
