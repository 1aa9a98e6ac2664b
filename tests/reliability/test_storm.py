"""A storm: more than a thousand deliveries of mixed events (policy edits in enforce,
detect and undeclared resources, the pod role deleted and recreated, driftguard's
own restores) delivered ten times each, late and out of order, while AWS throttles,
fails and denies hundreds of driftguard's calls. No event is lost, and after one
clean sweep every enforce-mode resource is as declared and nothing else was written."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from driftguard_sandbox.chaos import Fault
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import Story
from tests.support.fleet import Fleet, build_fleet
from tests.support.writes import REMEDIATION_ROLE, policy_writes

pytestmark = pytest.mark.heavy(40)

FUNCTIONS_ROLE = "driftguard-functions"  # what the hub functions run as
CHANGES, ROLE_CYCLE_EVERY = 100, 50
COPIES = 10  # each event delivered ten times: the duplicates are cheap, the faults not
MIN_DELIVERIES, MIN_FAULTS = 1000, 300


def storm_faults(sandbox: Sandbox) -> list[Fault]:
    """Throttling, 5xx and AccessDenied on every service driftguard calls; only on
    driftguard's calls, so the people making the changes are not slowed down."""
    faults = [
        ("kms", "*", 0.2, None),
        ("kms", "GetKeyPolicy", 0.05, "KMSInternalException"),
        ("kms", "PutKeyPolicy", 0.03, "AccessDeniedException"),
        ("secretsmanager", "*", 0.2, None),
        ("secretsmanager", "PutResourcePolicy", 0.05, "InternalServiceError"),
        ("iam", "GetRole", 0.2, None),
        ("sts", "AssumeRole", 0.2, None),
        ("dynamodb", "*", 0.15, None),
        ("dynamodb", "Query", 0.02, "InternalServerError"),
        ("sns", "Publish", 0.2, None),
    ]
    return [
        sandbox.fail(
            service,
            operation,
            error=error,
            rate=rate,
            principal=FUNCTIONS_ROLE if service in {"sts", "dynamodb", "sns"} else REMEDIATION_ROLE,
            seed=seed,
        )
        for seed, (service, operation, rate, error) in enumerate(faults)
    ]


def ended(sandbox: Sandbox) -> tuple[int, int, int]:
    """(deliveries, dead-lettered, lost): a delivery is lost when it failed and nothing
    took it back (Lambda's dead-letter queue, or SQS for a re-check)."""
    everything = sandbox.deliveries
    dead = sum(1 for d in everything if not d.ok and d.dead_lettered)
    lost = sum(1 for d in everything if not d.ok and not d.dead_lettered)
    return len(everything), dead, lost


@pytest.fixture
def fleet(sandbox: Sandbox, story: Story) -> Fleet:
    return build_fleet(sandbox, story, enforced=6, detected=3, undeclared=3)


@pytest.mark.usefixtures("fast")
def test_a_storm_of_events_and_faults_loses_nothing_and_writes_only_what_is_enforced(
    sandbox: Sandbox, fleet: Fleet, figures: Callable[[str, object], None]
) -> None:
    sandbox.unreliable_delivery(duplicates=COPIES - 1, max_delay=5, seed=8)
    faults = storm_faults(sandbox)
    pick = random.Random(8)

    for n in range(1, CHANGES + 1):
        fleet.widen(pick.choice(fleet.everything), account=str(444455550000 + n))
        if n % ROLE_CYCLE_EVERY == 0:
            fleet.story.delete_pod_role()
            fleet.story.recreate_pod_role()
    sandbox.wait_idle(timeout=300)
    injected = sum(fault.count for fault in faults)
    sandbox.clear_faults()
    sandbox.sweep()  # the one clean sweep
    sandbox.wait_idle(timeout=60)

    fed, dead_lettered, lost = ended(sandbox)
    by_function = Counter(d.function for d in sandbox.deliveries)
    figures("distinct events", len({d.event.get("id") for d in sandbox.deliveries}))
    figures("deliveries fed", fed)
    figures("deliveries by function", dict(by_function))
    figures("faults injected", injected)
    figures("dead-lettered", dead_lettered)
    figures("lost", lost)
    figures("writes (restores made)", len(policy_writes(sandbox)))
    assert fed >= MIN_DELIVERIES and injected >= MIN_FAULTS
    assert lost == 0
    assert [arn for arn in fleet.enforced if not fleet.as_declared(arn)] == []
    untouchable = [*fleet.detected, *fleet.undeclared]
    assert [arn for arn in untouchable if policy_writes(sandbox, arn, attempts=True)] == []
    assert not any(fleet.as_declared(arn) for arn in untouchable)  # still as someone left it
