"""driftguard never acts on its own writes: 100 events made by its remediation role, on
a key that has drifted meanwhile (so acting would mean writing), give 0 writes, both
through the buses (the rules leave them out) and handed straight to the handler."""

from __future__ import annotations

import json
from collections.abc import Callable

from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import Story, key_policy, secret_policy
from tests.support.events import captured, copy_of
from tests.support.writes import REMEDIATION_ROLE, policy_writes

POLICY_FUNCTION = "PolicyEventsFunction"
OWN_EVENTS = 100


def test_a_hundred_of_driftguards_own_changes_make_no_write(
    sandbox: Sandbox, story: Story, figures: Callable[[str, object], None]
) -> None:
    key_account, secret_account = story.key_arn.split(":")[4], story.secret_arn.split(":")[4]
    kms = sandbox.session(key_account, REMEDIATION_ROLE, "driftguard").client("kms")
    secrets = sandbox.session(secret_account, REMEDIATION_ROLE, "driftguard").client(
        "secretsmanager"
    )
    own = captured(
        sandbox,
        lambda: (
            kms.put_key_policy(
                KeyId=story.key_arn, PolicyName="default", Policy=json.dumps(key_policy())
            ),
            secrets.put_resource_policy(
                SecretId=story.secret_arn, ResourcePolicy=json.dumps(secret_policy())
            ),
        ),
    )
    assert [e["detail"]["eventName"] for e in own] == ["PutKeyPolicy", "PutResourcePolicy"]
    with sandbox.events_paused():
        story.widen_key_policy()  # drifted: anything that acted on an event would write
    writes_before = len(policy_writes(sandbox))

    routed, answers, emitted = [], [], set()
    for n in range(OWN_EVENTS):
        event = copy_of(own[n % 2])
        emitted.add(event["detail"]["eventID"])
        routed += sandbox.emit(event)
        answers.append(sandbox.invoke(POLICY_FUNCTION, event))
    sandbox.wait_idle()

    writes = len(policy_writes(sandbox, emitted=emitted)) - writes_before
    figures("own events", OWN_EVENTS)
    figures("writes", writes)
    assert routed == []  # the rules keep them off both buses
    assert {result["outcome"] for answer in answers for result in answer["results"]} == {"ignored"}
    assert writes == 0
    assert not story.restored()  # still drifted: the sweep, not an echo, fixes that
