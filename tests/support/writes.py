"""What driftguard wrote, read from the CloudTrail events the sandbox records for every
call (failed ones too, with their `errorCode`): the proof of "no writes"."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from driftguard_sandbox.router import Event
from driftguard_sandbox.sandbox import Sandbox

POLICY_WRITES = frozenset({"PutKeyPolicy", "PutResourcePolicy", "DeleteResourcePolicy"})
REMEDIATION_ROLE = "driftguard-remediation"


def by_driftguard(event: Event) -> bool:
    issuer = event["detail"]["userIdentity"].get("sessionContext", {}).get("sessionIssuer", {})
    return str(issuer.get("arn", "")).endswith(f":role/{REMEDIATION_ROLE}")


def names(event: Event, resource: str) -> bool:
    """Whether the call was about `resource` (an ARN, or a key id)."""
    detail = event["detail"]
    asked: Any = [detail.get("requestParameters"), event.get("resources"), detail.get("resources")]
    return resource in json.dumps(asked) or resource.rsplit("/", 1)[-1] in json.dumps(asked)


def policy_writes(
    sandbox: Sandbox,
    resource: str | None = None,
    *,
    attempts: bool = False,
    emitted: Collection[str] = (),
) -> list[Event]:
    """driftguard's policy writes (with `attempts`, the failed ones too), of one resource
    or of all; events a test `emitted` itself (their eventIDs) are not calls."""
    return [
        event
        for event in sandbox.events
        if event.get("detail", {}).get("eventName") in POLICY_WRITES
        and event["detail"].get("eventID") not in emitted
        and by_driftguard(event)
        and (attempts or "errorCode" not in event["detail"])
        and (resource is None or names(event, resource))
    ]
