"""Many declared resources, made fast and honestly.

Keys and secrets are created by each account's admin (without CloudTrail events:
set-up is not what is measured), then declared through driftguard's own declaration
service: `Declarations.apply`, what `driftguard declare` runs after showing its plan
(signed with the hub's HMAC key, the live policy read once, written with the status
that look gives, in one transaction).

Two of moto's costs that AWS does not have are left out while setting up, or
declaring 5,000 resources would take most of an hour: moto makes an RSA key pair for
every key, symmetric ones included (90 ms each), and copies the whole table before
each transaction (so declaring grows with the square of the table). Neither touches
what the benchmark measures: sweeps make no transaction and create no key.

What the declarations watcher would do with each new declaration (an alert and a
check at once) is not delivered either: the benchmark measures the sweep.
"""

from __future__ import annotations

import copy
import json
import os
import types
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from moto.dynamodb.models.table import Table
from moto.kms.utils import generate_private_key

from driftguard import kinds
from driftguard.aws import AwsClients, new_session
from driftguard.classify import classify
from driftguard.model import Declared, sha256
from driftguard.policy import Policy
from driftguard.signing import KmsSignatures
from driftguard.state import StateStore
from driftguard.vocabulary import Mode
from driftguard_cli.declarations import Declarations, Plan
from driftguard_sandbox.sandbox import Sandbox

OUTSIDER = "444455556666"  # the account a widening lets in
WATCHER = "DeclarationWatchFunction"
# Set-up threads: moto answers in this process, so more would only queue on the GIL.
SETUP_THREADS = 4


def policy_text(account: str, kind: str, *, widened: bool = False) -> str:
    """The declared policy: the account's root administers the key (which passes
    KMS's lockout check) or reads the secret; `widened` also lets an outsider in."""
    action = "kms:*" if kind == "kms-key" else "secretsmanager:GetSecretValue"
    statements = [_grant("Owner", account, action)]
    if widened:
        statements.append(_grant("Vendor", OUTSIDER, action.replace("kms:*", "kms:Decrypt")))
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _grant(sid: str, account: str, action: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": action,
        "Resource": "*",
    }


@dataclass
class Population:
    """Declared keys and secrets spread evenly over `accounts` (the sandbox's region)."""

    sandbox: Sandbox
    accounts: tuple[str, ...]
    arns: dict[str, list[str]] = field(default_factory=dict)  # kind -> ARNs
    widened: set[str] = field(default_factory=set)

    @property
    def size(self) -> int:
        return sum(map(len, self.arns.values()))

    def per_shard(self) -> dict[str, dict[str, int]]:
        """account -> kind -> how many (the sweep's shards, one region)."""
        shards: dict[str, dict[str, int]] = {}
        for kind, arns in self.arns.items():
            for arn in arns:
                counts = shards.setdefault(arn.split(":")[4], {})
                counts[kind] = counts.get(kind, 0) + 1
        return shards

    def grow(self, total: int) -> None:
        """Create and declare resources until there are `total`: keys and secrets in
        turn, the accounts in turn."""
        wanted = [
            (self.accounts[(n // 2) % len(self.accounts)], "kms-key" if n % 2 == 0 else "secret")
            for n in range(self.size, total)
        ]
        with _moto_setup_shortcuts(), self.sandbox.events_paused():
            made = list(_in_threads(self._create, wanted))
        with _moto_setup_shortcuts(), self._watcher_muted():
            declare = self._declarer()
            list(_in_threads(declare, made))
            self.sandbox.wait_idle(timeout=600)
        for kind, arn in made:
            self.arns.setdefault(kind, []).append(arn)

    def widen_to(self, count: int) -> None:
        """Widen resources (keys and secrets in turn) until `count` are."""
        keys, secrets = (
            [arn for arn in self.arns.get(kind, []) if arn not in self.widened]
            for kind in ("kms-key", "secret")
        )
        turns = [arn for pair in zip(keys, secrets, strict=False) for arn in pair]
        self.widen(turns[: max(0, count - len(self.widened))])

    def widen(self, arns: list[str]) -> None:
        """An outside account let in: drift every tool must find. No CloudTrail event,
        so no function restores it before the tools look."""
        self.widened.update(arns)
        with self.sandbox.events_paused():
            for arn in arns:
                account, kind = arn.split(":")[4], kinds.target(arn).kind.name
                text = policy_text(account, kind, widened=True)
                if kind == "kms-key":
                    self._admin(account, "kms").put_key_policy(
                        KeyId=arn, PolicyName="default", Policy=text
                    )
                else:
                    self._admin(account, "secretsmanager").put_resource_policy(
                        SecretId=arn, ResourcePolicy=text
                    )

    # -- set-up -------------------------------------------------------------------

    def _admin(self, account: str, service: str) -> Any:
        return self.sandbox.session(account, "Admin", "bench-setup").client(service)

    def _create(self, item: tuple[str, str]) -> tuple[str, str]:
        account, kind = item
        text = policy_text(account, kind)
        if kind == "kms-key":
            created = self._admin(account, "kms").create_key(Policy=text)
            return kind, str(created["KeyMetadata"]["Arn"])
        sm = self._admin(account, "secretsmanager")
        name = f"bench-{uuid.uuid4().hex[:12]}"
        arn = str(sm.create_secret(Name=name, SecretString="never-read")["ARN"])
        sm.put_resource_policy(SecretId=arn, ResourcePolicy=text)
        return kind, arn

    def _declarer(self) -> Callable[[tuple[str, str]], Declared]:
        """`driftguard declare`'s service as the hub's role (which may sign in the
        sandbox, as the declarer role may on AWS). The plan is the one `declare` would
        show for a first declaration of the live policy; `apply` signs, reads the live
        policy and writes. No quota limiter: this is set-up."""
        session = new_session()
        clients = AwsClients(remediation_role_name="driftguard-remediation", session=session)
        store = StateStore.for_table(session, self.sandbox.hub.table_name)
        signatures = KmsSignatures(lambda: clients.hub("kms"), os.environ["SIGNING_KEY_ID"])
        service = Declarations(clients, store, signatures)
        declarer = str(clients.hub("sts").get_caller_identity()["Arn"])

        def declare(made: tuple[str, str]) -> Declared:
            kind, arn = made
            target = kinds.target(arn, kind)
            text = policy_text(target.arn.account, kind)
            policy = Policy.parse(text)
            unsigned = Declared(
                arn=arn,
                kind=kind,
                account=target.arn.account,
                region=target.arn.region,
                policy=text,
                digest=sha256(text),
                mode=Mode.ENFORCE,
                version=1,
                declared_by=declarer,
                declared_at=store._clock.now(),
                principals=tuple(sorted(policy.principal_arns())),
            )
            plan = Plan(target, unsigned, None, (), None, classify(policy, policy))
            return service.apply(plan)

        return declare

    @contextmanager
    def _watcher_muted(self) -> Iterator[None]:
        real = self.sandbox.invoker

        def invoke(spec: Any, event: Any) -> Any:
            if spec.logical_id == WATCHER:
                return {"batchItemFailures": []}  # taken, not handled
            return real(spec, event)

        self.sandbox.invoker = invoke
        try:
            yield
        finally:
            self.sandbox.invoker = real


@contextmanager
def _moto_setup_shortcuts() -> Iterator[None]:
    """moto without its two set-up costs AWS does not have (see the module's doc)."""
    pair = generate_private_key("SYMMETRIC_DEFAULT")  # only asymmetric keys ever use it

    def no_table_copy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    shallow = types.SimpleNamespace(deepcopy=no_table_copy)
    with (
        mock.patch("moto.kms.models.generate_private_key", lambda spec: pair),
        mock.patch("moto.dynamodb.models.copy", shallow),
    ):
        yield


def _in_threads(work: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        yield from pool.map(work, items)
