"""The README's walkthrough, step by step, as a new user runs it: nothing in-process.

`driftguard sandbox --story` runs in its own process, as in a first shell; every other
step runs the installed `driftguard` and the aws CLI (make tools installs it) in a
second, clean environment holding only what the sandbox's `export` line gives (and a
fresh HOME: no ~/.aws of the machine's). Each step is one test, in the README's order;
a step that fails leaves the later ones failing with it.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shlex
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.support.browser import ARTIFACTS, chromium

pytestmark = [pytest.mark.sandbox, pytest.mark.heavy(60)]

ROOT = Path(__file__).resolve().parents[2]
DRIFTGUARD = Path(sys.executable).parent / "driftguard"
AWS = ROOT / ".venv-aws" / "bin" / "aws"
VENDOR = "arn:aws:iam::444455556666:root"
RED = "\x1b[31m"  # rich's "red" (and "bold red" starts with it after the bold code)


@dataclass
class Walkthrough:
    """The sandbox's process and what it printed; the second shell's environment."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    home: Path = Path()
    key_arn: str = ""
    reader: threading.Thread = field(default_factory=threading.Thread)

    def printed(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 60.0, after: int = 0) -> str:
        """The first line (from line `after` on) matching `pattern`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if re.search(pattern, line):
                    return line
            assert self.process.poll() is None, f"sandbox exited:\n{self.printed()}"
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} in:\n{self.printed()}")

    def run(self, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*argv],
            env=self.env,
            cwd=cwd or self.home,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def driftguard(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(DRIFTGUARD), *argv)


def _read_into(stream: Iterator[str], lines: list[str]) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walkthrough]:
    home = tmp_path_factory.mktemp("home")
    clean = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}
    process = subprocess.Popen(
        [str(DRIFTGUARD), "sandbox", "--story"],
        env=clean | {"PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    walk = Walkthrough(process, home=home)
    assert process.stdout is not None
    walk.reader = threading.Thread(
        target=_read_into, args=(process.stdout, walk.lines), daemon=True
    )
    walk.reader.start()
    try:
        yield walk
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_1_the_sandbox_prints_one_line_to_export(walk: Walkthrough) -> None:
    line = walk.wait_for(r"^export AWS_ENDPOINT_URL=", timeout=120)
    words = shlex.split(line)
    assert words[0] == "export"
    exported = dict(word.split("=", 1) for word in words[1:])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", exported["AWS_ENDPOINT_URL"])
    assert exported["DRIFTGUARD_STACK"] == "driftguard"
    walk.env = {
        "PATH": os.environ["PATH"],
        "HOME": str(walk.home),
        "LANG": "C.UTF-8",
        "NO_PROXY": "127.0.0.1,localhost",
    } | exported
    walk.key_arn = walk.wait_for(r"holds its key arn:aws:kms:").split("holds its key ")[1][:-1]
    # The aws CLI reaches the same local AWS with it.
    seen = walk.run(str(AWS), "sts", "get-caller-identity", "--output", "json")
    assert seen.returncode == 0, seen.stderr
    assert json.loads(seen.stdout)["Account"] == "333333333333"


def test_2_export_writes_the_declarations_as_files(walk: Walkthrough) -> None:
    done = walk.driftguard("export", "declarations")
    assert done.returncode == 0, done.stderr
    files = sorted((walk.home / "declarations").rglob("*.yaml"))
    arns = {yaml.safe_load(f.read_text())["arn"] for f in files}
    assert walk.key_arn in arns and len(arns) == 2


def _key_file(walk: Walkthrough) -> Path:
    for path in (walk.home / "declarations").rglob("*.yaml"):
        if yaml.safe_load(path.read_text())["arn"] == walk.key_arn:
            return path
    raise AssertionError("the key's file is gone")


def test_3_plan_shows_the_widening_in_red_and_exits_1(walk: Walkthrough) -> None:
    path = _key_file(walk)
    declaration = yaml.safe_load(path.read_text())
    declaration["policy"]["Statement"].append(
        {
            "Sid": "VendorDecrypts",
            "Effect": "Allow",
            "Principal": {"AWS": VENDOR},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    path.write_text(yaml.safe_dump(declaration, sort_keys=False))
    planned = walk.driftguard("plan", "declarations", "--color", "always")
    assert planned.returncode == 1, planned.stdout + planned.stderr
    added = f"+ principal {VENDOR}"  # against the declaration: the widening
    assert [RED in line for line in planned.stdout.splitlines() if added in line] == [True]
    assert "widens access" in planned.stdout


def test_4_apply_declares_it_and_slack_hears_of_it(walk: Walkthrough) -> None:
    before = len(walk.lines)
    applied = walk.driftguard("apply", "declarations", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    walk.wait_for(
        r"SLACK .*CRITICAL · Declaration widened: " + re.escape(walk.key_arn), after=before
    )
    assert walk.driftguard("plan", "declarations").returncode == 0


def test_5_a_policy_widened_with_the_aws_cli_is_put_back(walk: Walkthrough) -> None:
    live = json.loads(
        walk.run(
            str(AWS),
            "kms",
            "get-key-policy",
            "--key-id",
            walk.key_arn,
            "--policy-name",
            "default",
            "--output",
            "json",
        ).stdout
    )
    policy = json.loads(live["Policy"])
    policy["Statement"].append(
        {
            "Sid": "Everyone",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    before = len(walk.lines)
    put = walk.run(
        str(AWS),
        "kms",
        "put-key-policy",
        "--key-id",
        walk.key_arn,
        "--policy-name",
        "default",
        "--policy",
        json.dumps(policy),
    )
    assert put.returncode == 0, put.stderr
    walk.wait_for(r"SLACK .*" + re.escape(walk.key_arn.split(":")[-1]), after=before)
    deadline = time.monotonic() + 60
    while walk.driftguard("drift", walk.key_arn).returncode != 0:
        assert time.monotonic() < deadline, walk.printed()
        time.sleep(0.5)


def _at_80_columns(walk: Walkthrough, *argv: str) -> str:
    """What a terminal 80 columns wide shows."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(
        [str(DRIFTGUARD), *argv],
        env=walk.env | {"TERM": "xterm", "COLUMNS": "80"},
        cwd=walk.home,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower closed: the command is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", b"".join(chunks).decode())


def test_6_status_reads_at_80_columns(walk: Walkthrough) -> None:
    shown = _at_80_columns(walk, "status")
    lines = shown.replace("\r\n", "\n").splitlines()
    assert lines and max(len(line) for line in lines) <= 80, shown
    for word in ("kms-key", "secret", "333333333333", "222222222222", "enforce", "in-sync"):
        assert word in shown, (word, shown)
    assert walk.key_arn.split("/")[-1] in shown, shown


def test_7_the_report_opens_in_a_browser(walk: Walkthrough, tmp_path: Path) -> None:
    done = walk.driftguard("report", "--html", "driftguard.html")
    assert done.returncode == 0, done.stderr
    page = walk.home / "driftguard.html"
    dom = chromium(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    assert walk.key_arn in dom
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "walkthrough-report.png"
    chromium(
        tmp_path / "profile-shot",
        "--window-size=1280,2000",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert shot.stat().st_size > 10_000


def test_8_ctrl_c_stops_the_sandbox(walk: Walkthrough) -> None:
    walk.process.send_signal(signal.SIGINT)
    assert walk.process.wait(timeout=60) == 0
    walk.reader.join(timeout=10)
    assert walk.lines[-1] == "sandbox stopped.", walk.printed()
