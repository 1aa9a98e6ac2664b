"""Figure 6: a detection sweep, side by side: driftguard's read-only `driftguard scan`,
Cloud Custodian, and a plain sequential boto3 loop, over the same resources on the
same local AWS, without and with AWS's latency.

The resources live in one member account (half keys, half secrets; one in a hundred
widened to an outside account, which every tool must find): one Cloud Custodian run
covers one account, as `custodian run` does. The three take turns, run after run (A B
C A B C ...), so whatever else the machine does slows them alike; medians.

- driftguard: `driftguard scan --json` in this process (the CLI's entry point), as the
  hub's functions' role: shards, batched state reads, threads under the quota limiter.
- Cloud Custodian: `custodian run` in its own venv (.venv-c7n), a subprocess pointed at
  the sandbox with AWS_ENDPOINT_URL and an admin's credentials of that account; one
  policy per kind with the `cross-account` filter, which reads each policy. Its time
  includes its interpreter's start-up, as a person or pipeline running it pays.
- the loop: list the keys and secrets, read each policy, compare it with the declared
  one (one scan of the state table), one call after another.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftguard.policy import Policy
from driftguard_sandbox.sandbox import Sandbox
from tests.bench import lab
from tests.bench.population import Population
from tests.bench.report import Row, Section, median, spread
from tests.support.cli import run_cli

ACCOUNT = lab.MEMBERS[-1]
FASTER_THAN_C7N = 5.0  # with latency
C7N_POLICIES = """\
policies:
  - name: kms-keys
    resource: kms-key
    filters:
      - type: cross-account
  - name: secrets
    resource: secrets-manager
    filters:
      - type: cross-account
"""
TOOLS = ("driftguard scan", "Cloud Custodian", "sequential loop")


@dataclass
class Runs:
    """One size at one latency: each tool's wall times, what it found, its calls."""

    size: int
    latency: float
    walls: dict[str, list[float]] = field(default_factory=lambda: {t: [] for t in TOOLS})
    found: dict[str, set[int]] = field(default_factory=lambda: {t: set() for t in TOOLS})
    calls: dict[str, int] = field(default_factory=dict)


def run(
    sandbox: Sandbox, sizes: list[int], reps: int, custodian: Path
) -> tuple[Section, list[Row]]:
    sandbox.reset()
    population = Population(sandbox, (ACCOUNT,))
    tools = {
        "driftguard scan": _driftguard,
        "Cloud Custodian": _c7n(sandbox, custodian),
        "sequential loop": _loop(sandbox),
    }
    measured: list[Runs] = []
    for size in sizes:
        population.grow(size)
        population.widen_to(max(1, size // 100))
        for latency in (0.0, lab.LATENCY):
            runs = _interleaved(sandbox, tools, Runs(size, latency), reps)
            expected = {len(population.widened)}
            if any(found != expected for found in runs.found.values()):
                raise RuntimeError(f"the tools disagree on {expected}: {runs.found}")
            measured.append(runs)
    return _report(measured)


Tool = Callable[[], int]  # runs once; how many resources it found drifted


def _interleaved(sandbox: Sandbox, tools: dict[str, Tool], runs: Runs, reps: int) -> Runs:
    sandbox.meter.latency = runs.latency
    try:
        for _ in range(reps):
            for name, tool in tools.items():
                sandbox.meter.reset()
                started = time.monotonic()
                runs.found[name].add(tool())
                runs.walls[name].append(time.monotonic() - started)
                runs.calls[name] = len(sandbox.meter.calls(_caller(sandbox, name)))
    finally:
        sandbox.meter.latency = 0.0
    return runs


def _caller(sandbox: Sandbox, tool: str) -> Callable[[Any], bool]:
    if tool == "driftguard scan":
        return lab.by_driftguard(sandbox)
    return lab.by_session(SESSIONS[tool])


SESSIONS = {"Cloud Custodian": "c7n", "sequential loop": "bench-loop"}


# -- the three tools ----------------------------------------------------------------


def _driftguard() -> int:
    code, output = run_cli("scan", "--json")
    if code not in (0, 1):  # 1: drift found
        raise RuntimeError(f"driftguard scan exited {code}: {output[-500:]}")
    return sum(1 for row in json.loads(output) if row["status"] != "in-sync")


def _c7n(sandbox: Sandbox, custodian: Path) -> Tool:
    work = Path(tempfile.mkdtemp(prefix="bench-c7n-"))
    (work / "policies.yml").write_text(C7N_POLICIES)
    credentials = sandbox.session(ACCOUNT, "Admin", SESSIONS["Cloud Custodian"]).get_credentials()
    frozen = credentials.get_frozen_credentials()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work),  # its cache and config, not the user's
        "AWS_ENDPOINT_URL": sandbox.endpoint_url,
        "AWS_ACCESS_KEY_ID": frozen.access_key,
        "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
        "AWS_SESSION_TOKEN": frozen.token,
        "AWS_DEFAULT_REGION": sandbox.region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    command = [str(custodian), "run", "--cache-period", "0", "-r", sandbox.region]

    def run_c7n() -> int:
        out = Path(tempfile.mkdtemp(dir=work))
        subprocess.run(
            [*command, "-s", str(out), str(work / "policies.yml")],
            env=env,
            capture_output=True,
            check=True,
            timeout=1800,
        )
        return sum(
            len(json.loads((out / p / "resources.json").read_text()))
            for p in ("kms-keys", "secrets")
        )

    return run_c7n


def _loop(sandbox: Sandbox) -> Tool:
    admin = sandbox.session(ACCOUNT, "Admin", SESSIONS["sequential loop"])
    hub = sandbox.session(sandbox.hub_account, "Admin", SESSIONS["sequential loop"])
    kms, sm = admin.client("kms"), admin.client("secretsmanager")
    dynamodb, table = hub.client("dynamodb"), sandbox.hub.table_name

    def loop() -> int:
        declared = {}
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=table,
            FilterExpression="sk = :d",
            ExpressionAttributeValues={":d": {"S": "DECLARED"}},
        ):
            for item in page["Items"]:
                declared[item["arn"]["S"]] = Policy.parse(item["policy"]["S"])
        live = {}
        for page in kms.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                live[key["KeyArn"]] = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")[
                    "Policy"
                ]
        for page in sm.get_paginator("list_secrets").paginate():
            for secret in page["SecretList"]:
                live[secret["ARN"]] = sm.get_resource_policy(SecretId=secret["ARN"]).get(
                    "ResourcePolicy"
                )
        return sum(
            1
            for arn, wanted in declared.items()
            if not live.get(arn) or not Policy.parse(live[arn]).semantically_equal(wanted)
        )

    return loop


# -- the table ----------------------------------------------------------------------


def _report(measured: list[Runs]) -> tuple[Section, list[Row]]:
    section = Section(
        f"6. Detection sweep, one account: driftguard vs Cloud Custodian vs a loop ({ACCOUNT})",
        ("resources", "latency", "tool", "wall", "calls/run", "found"),
        notes=[
            "Interleaved runs (A B C A B C ...), median (min-max); calls/run: the last run's.",
            "found: resources reported drifted (every tool must find the widened ones, 1 in 100).",
            "driftguard's scan stays under half of each quota: at most 25 secret policy reads "
            "a second per account-region, whatever the latency (half the resources here are "
            "secrets: N / 50 seconds at least). The other two have no limiter.",
            "Cloud Custodian's times include its interpreter's start-up.",
        ],
    )
    rows = []
    for runs in measured:
        for tool in TOOLS:
            section.lines.append(
                (
                    str(runs.size),
                    f"{runs.latency * 1000:.0f} ms",
                    tool,
                    spread(runs.walls[tool]),
                    str(runs.calls[tool]),
                    ", ".join(map(str, sorted(runs.found[tool]))),
                )
            )
        rows.append(_ratio_row(runs))
    return section, rows


def _ratio_row(runs: Runs) -> Row:
    ours = median(runs.walls["driftguard scan"])
    if runs.latency:
        ratio = median(runs.walls["Cloud Custodian"]) / ours
        return Row(
            f"6. Detection {runs.size} at {runs.latency * 1000:.0f} ms: c7n / driftguard",
            f"{ratio:.2f}x (driftguard {ours:.1f} s)",
            f">= {FASTER_THAN_C7N:.0f}x",
            ratio >= FASTER_THAN_C7N,
        )
    ratio = median(runs.walls["sequential loop"]) / ours
    return Row(
        f"6. Detection {runs.size}, no latency: loop / driftguard",
        f"{ratio:.2f}x (driftguard {ours:.1f} s)",
        ">= 1x (no slower)",
        ratio >= 1.0,
    )
