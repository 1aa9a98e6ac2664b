"""More than the story's two resources, for the tests that need a sweep or a fan-out of
several: keys in the security account and secrets in the data account that name
pod-role (as the story's do), declared in enforce or detect mode or not at all."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from driftguard.arns import Arn
from driftguard.policy import Policy
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import Story, key_policy, secret_policy
from tests.support.cli import run_cli

OUTSIDER = "444455556666"


@dataclass
class Fleet:
    story: Story
    enforced: list[str] = field(default_factory=list)  # the story's two among them
    detected: list[str] = field(default_factory=list)
    undeclared: list[str] = field(default_factory=list)

    @property
    def everything(self) -> list[str]:
        return [*self.enforced, *self.detected, *self.undeclared]

    def declared_policy(self, arn: str) -> dict[str, Any]:
        return key_policy() if _is_key(arn) else secret_policy()

    def live_policy(self, arn: str) -> str | None:
        if _is_key(arn):
            kms = self.story.kms
            return str(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
        policy = self.story.secrets.get_resource_policy(SecretId=arn).get("ResourcePolicy")
        return str(policy) if policy else None

    def as_declared(self, arn: str) -> bool:
        live = self.live_policy(arn)
        wanted = Policy.parse(json.dumps(self.declared_policy(arn)))
        return live is not None and Policy.parse(live).semantically_equal(wanted)

    def widen(self, arn: str, account: str = OUTSIDER) -> None:
        """Someone grants an outside account access to it (a drift to restore)."""
        policy = self.declared_policy(arn)
        action = "kms:Decrypt" if _is_key(arn) else "secretsmanager:GetSecretValue"
        policy["Statement"].append(
            {
                "Sid": f"Widened{uuid.uuid4().hex[:8]}",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": action,
                "Resource": "*",
            }
        )
        if _is_key(arn):
            self.story.mallory_kms.put_key_policy(
                KeyId=arn, PolicyName="default", Policy=json.dumps(policy)
            )
        else:
            self.story.secrets.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(policy))


def build_fleet(
    sandbox: Sandbox,
    story: Story,
    *,
    enforced: int = 4,
    detected: int = 2,
    undeclared: int = 2,
) -> Fleet:
    """`enforced` more resources in enforce mode, `detected` in detect mode, and
    `undeclared` ones nobody declared; alternately keys and secrets. Made without
    CloudTrail events (set-up is not what is tested)."""
    fleet = Fleet(story, enforced=[story.key_arn, story.secret_arn])
    with sandbox.events_paused():
        fleet.enforced += _create(story, enforced, "enforced")
        fleet.detected += _create(story, detected, "detected")
        fleet.undeclared += _create(story, undeclared, "undeclared")
    for mode, arns in (("enforce", fleet.enforced[2:]), ("detect", fleet.detected)):
        for arn in arns:
            code, output = run_cli("adopt", arn, "--mode", mode)
            assert code == 0, output
    story.sandbox.wait_idle()  # each declaration alerted and checked
    return fleet


def _create(story: Story, count: int, label: str) -> list[str]:
    return [
        _create_key(story, f"{label}-{n}") if n % 2 == 0 else _create_secret(story, f"{label}-{n}")
        for n in range(count)
    ]


def _create_key(story: Story, name: str) -> str:
    key = story.kms.create_key(Description=name, Policy=json.dumps(key_policy()))
    return str(key["KeyMetadata"]["Arn"])


def _create_secret(story: Story, name: str) -> str:
    arn = str(story.secrets.create_secret(Name=name, SecretString="never-read")["ARN"])
    story.secrets.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(secret_policy()))
    return arn


def _is_key(arn: str) -> bool:
    return Arn.parse(arn).service == "kms"


def key_ids(arns: Iterable[str]) -> list[str]:
    return [Arn.parse(arn).resource.removeprefix("key/") for arn in arns if _is_key(arn)]
