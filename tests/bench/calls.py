"""Figure 3: driftguard's API calls per scenario, by service and operation, against
the minimum each scenario needs (tests/bench/minimums.py).

On the sandbox, in the story's world: the meter counts every call the local AWS
answers; only driftguard's own are kept (the functions' role and the remediation
role; the people in the story call under other roles). Each scenario starts on cold
containers, so what a container does once shows, and ends when everything it set
off is done (`wait_idle`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import POD_ROLE_ARN, Story, key_policy
from tests.bench import lab, minimums
from tests.bench.report import Row, Section
from tests.support.cli import run_cli
from tests.support.fleet import build_fleet

SWEPT = 20  # (c): the story's two and 18 more, all in sync


def run(sandbox: Sandbox) -> tuple[Section, list[Row]]:
    sandbox.reset()
    story = _declared_story(sandbox)
    measured = {
        "(a) in-sync event": _scenario(sandbox, lambda: _put_declared_again(story)),
        "(b) widened -> restored": _scenario(sandbox, story.widen_key_policy),
    }
    minimum = {
        "(a) in-sync event": minimums.in_sync_event(),
        "(b) widened -> restored": minimums.widened_event(),
    }
    # (d) before the fleet of (c): every fleet resource names pod-role too.
    story.delete_pod_role()
    sandbox.wait_idle()
    measured["(d) CreateRole restoring 2"] = _scenario(sandbox, story.recreate_pod_role)
    minimum["(d) CreateRole restoring 2"] = minimums.role_created(
        POD_ROLE_ARN, {story.key_arn: "kms-key", story.secret_arn: "secret"}
    )
    fleet = build_fleet(sandbox, story, enforced=SWEPT - 2, detected=0, undeclared=0)
    measured[f"(c) sweep, {SWEPT} in sync"] = _scenario(sandbox, sandbox.sweep)
    minimum[f"(c) sweep, {SWEPT} in sync"] = minimums.sweep(_shards(fleet.enforced))
    if not story.restored():  # the scenarios must have done what they say
        raise RuntimeError("the story's policies are not as declared after figure 3")
    return _report(measured, minimum)


def _declared_story(sandbox: Sandbox) -> Story:
    story = Story.create(sandbox)
    sandbox.wait_idle()
    for arn in (story.key_arn, story.secret_arn):
        code, output = run_cli("adopt", arn, "--mode", "enforce")
        if code != 0:
            raise RuntimeError(f"adopt {arn}: {output}")
    sandbox.wait_idle()
    return story


def _put_declared_again(story: Story) -> None:
    """The security admin puts the declared key policy again: nothing drifted."""
    story.kms.put_key_policy(
        KeyId=story.key_arn, PolicyName="default", Policy=json.dumps(key_policy())
    )


def _scenario(sandbox: Sandbox, act: Callable[[], object]) -> Counter[str]:
    lab.cold_start(sandbox)
    sandbox.meter.reset()
    act()
    return lab.counted(sandbox, lab.by_driftguard(sandbox))


def _shards(arns: list[str]) -> dict[str, dict[str, int]]:
    shards: dict[str, dict[str, int]] = {}
    for arn in arns:
        kind = "kms-key" if ":kms:" in arn else "secret"
        per_kind = shards.setdefault(arn.split(":")[4], {})
        per_kind[kind] = per_kind.get(kind, 0) + 1
    return shards


# The same write under another operation: driftguard takes and releases a lease with
# conditional UpdateItems (the lease item keeps the last event it handled), where the
# minimum counts a PutItem and a DeleteItem.
UPDATE = "dynamodb:UpdateItem"
REPLACED = ("dynamodb:PutItem", "dynamodb:DeleteItem")


def compare(measured: Counter[str], minimum: Counter[str]) -> list[tuple[str, int, int, int]]:
    """(operation, measured, minimum, calls above the minimum) for every operation
    either names; UpdateItems first make up for missing PutItems and DeleteItems."""
    missing = sum(max(0, minimum[op] - measured[op]) for op in REPLACED)
    rows = []
    for operation in sorted(set(measured) | set(minimum)):
        got, least = measured[operation], minimum[operation]
        above = max(0, got - least)
        if operation == UPDATE:
            above = max(0, above - missing)
        rows.append((operation, got, least, above))
    return rows


def flag(operation: str, got: int, least: int, above: int) -> str:
    if above:
        return f"ABOVE +{above}"
    if operation == UPDATE and got > least:
        return "instead of Put/DeleteItem"
    if got < least:
        return "below" + (" (UpdateItem instead)" if operation in REPLACED else "")
    return ""


def _report(
    measured: dict[str, Counter[str]], minimum: dict[str, Counter[str]]
) -> tuple[Section, list[Row]]:
    section = Section(
        "3. API calls per scenario vs the minimum (driftguard's own calls, cold containers)",
        ("scenario", "service:Operation", "measured", "minimum", ""),
        notes=[
            "Minimums: tests/bench/minimums.py (each scenario's derivation in its docstring).",
            "ABOVE +n: n calls more than the minimum. Leases are taken and released with "
            "UpdateItem where the minimum counts a PutItem and a DeleteItem: counted as the same.",
            "Each scenario on cold containers: once-per-container calls (AssumeRole per "
            "account, VerifyMac per declaration) count.",
        ],
    )
    rows = []
    for scenario in sorted(measured):
        lines = compare(measured[scenario], minimum[scenario])
        section.lines += [
            (scenario, op, str(got), str(least), flag(op, got, least, above))
            for op, got, least, above in lines
        ]
        total, least = sum(measured[scenario].values()), sum(minimum[scenario].values())
        section.lines.append((scenario, "total", str(total), str(least), ""))
        above = [f"{op.split(':')[1]} +{extra}" for op, _, _, extra in lines if extra]
        rows.append(
            Row(
                f"3. Calls {scenario}",
                f"{total} (minimum {least})" + (f"; above: {', '.join(above)}" if above else ""),
                "no operation above its minimum",
                not above,
            )
        )
    return section, rows
