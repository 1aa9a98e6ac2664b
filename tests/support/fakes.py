"""In-memory fakes for unit tests of the service: no sockets, no real time.

They stand in for the adapters around the decision (the state table, the resource
kinds' AWS calls, IAM lookups, the alert topic, the clock), never for the decision
itself, which the tests run for real.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from driftguard.alerts import Alert
from driftguard.arns import Arn, role_key
from driftguard.aws import AwsClients
from driftguard.errors import (
    AlreadyHandledError,
    LeaseBusyError,
    PrincipalNotReadyError,
    ResourceNotFoundError,
    SigningError,
)
from driftguard.events import CloudTrailDetail
from driftguard.kinds import ResourceKind
from driftguard.model import AuditEntry, Declared, Inventory, StatusRecord, TrustRecord, sha256
from driftguard.rechecks import Recheck
from driftguard.signing import Record, Signed, signed_message
from driftguard.vocabulary import Mode, Status

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    """Time that moves only when something sleeps (or a test says so)."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._monotonic = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


class FakeStore:
    """The StateStore's interface over dictionaries; leases honour the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.declared: dict[str, Declared] = {}
        self.statuses: dict[str, StatusRecord] = {}
        self.audit: list[AuditEntry] = []
        self.leases: dict[str, tuple[str, float]] = {}
        self.unique_ids: dict[str, str] = {}
        self.links: dict[str, set[str]] = {}
        self.trusts: dict[str, TrustRecord] = {}  # approved identities, by role
        self.writes: list[str] = []  # what was written, in order ("status arn", "audit arn")
        self.batch_reads = 0
        self.last_events: dict[str, str] = {}  # the lease's memory of the last event
        self.inventories: dict[tuple[str, str, str], Inventory] = {}  # by account, region, kind
        self._tokens = 0

    def declare(self, declared: Declared, status: StatusRecord | None = None) -> None:
        self.declared[declared.arn] = declared
        if status is not None:
            self.statuses[declared.arn] = status
        for principal in declared.principals:
            self.links.setdefault(role_key(principal), set()).add(declared.arn)

    def load(self, arn: str) -> tuple[Declared | None, StatusRecord | None]:
        return self.declared.get(arn), self.statuses.get(arn)

    def get_status(self, arn: str) -> StatusRecord | None:
        return self.statuses.get(arn)

    def put_status(self, status: StatusRecord) -> None:
        self.writes.append(f"status {status.arn}")
        self.statuses[status.arn] = status

    def append_audit(self, entry: AuditEntry) -> None:
        self.writes.append(f"audit {entry.arn}")
        self.audit.append(entry)

    def iter_statuses(self, **_: Any) -> Iterator[StatusRecord]:
        yield from list(self.statuses.values())

    def shards(self) -> Counter[tuple[str, str]]:
        return Counter((s.account, s.region) for s in self.statuses.values())

    def resources_in(self, account: str, region: str, kinds: list[str]) -> list[tuple[str, str]]:
        return [
            (s.arn, s.kind)
            for s in self.statuses.values()
            if (s.account, s.region) == (account, region) and s.kind in kinds
        ]

    def load_many(self, arns: list[str]) -> dict[str, tuple[Declared | None, StatusRecord | None]]:
        self.batch_reads += 1
        return {arn: self.load(arn) for arn in arns}

    def take_shard_lease(self, account: str, region: str, seconds: int) -> str:
        return self.take_lease(f"SWEEP#{account}#{region}", seconds)

    def put_inventory(self, item: Inventory) -> None:
        self.inventories[(item.account, item.region, item.kind)] = item

    def inventory(self) -> list[Inventory]:
        return [self.inventories[key] for key in sorted(self.inventories)]

    def release_shard_lease(self, account: str, region: str, owner: str) -> None:
        self.release_lease(f"SWEEP#{account}#{region}", owner)

    def resources_naming(self, principal_arn: str) -> list[str]:
        return sorted(self.links.get(role_key(principal_arn), set()))

    def record_unique_id(self, unique_id: str, principal_arn: str, source: str) -> None:
        self.unique_ids[unique_id] = role_key(principal_arn)

    def principal_for_unique_id(self, unique_id: str) -> str | None:
        return self.unique_ids.get(unique_id)

    def get_trust(self, principal_arn: str) -> TrustRecord | None:
        return self.trusts.get(role_key(principal_arn))

    def put_trust(self, record: TrustRecord) -> None:
        self.trusts[role_key(record.principal_arn)] = record

    def take_lease(self, arn: str, seconds: int, event_id: str | None = None) -> str:
        now = self.clock.now().timestamp()
        held = self.leases.get(arn)
        if held is not None and held[1] >= now:
            raise LeaseBusyError(f"{arn} is being handled by another invocation")
        if event_id is not None and self.last_events.get(arn) == event_id:
            raise AlreadyHandledError(f"event {event_id} was handled already")
        self._tokens += 1
        token = f"owner-{self._tokens}"
        self.leases[arn] = (token, now + seconds)
        return token

    def release_lease(self, arn: str, owner: str, event_id: str | None = None) -> None:
        if self.leases.get(arn, ("",))[0] == owner:
            del self.leases[arn]
            if event_id is not None:
                self.last_events[arn] = event_id

    def history(self, arn: str) -> list[AuditEntry]:
        return [entry for entry in self.audit if entry.arn == arn]


class FakePolicies(ResourceKind):
    """A resource kind whose live policies are a dictionary. `reject_puts` makes the
    next puts fail as AWS does while a principal has not propagated; `stale_reads`
    makes the next reads after a put still show the old policy."""

    name: ClassVar[str] = "fake"
    service: ClassVar[str] = "fake"
    event_source: ClassVar[str] = "fake.amazonaws.com"
    policy_event_names: ClassVar[frozenset[str]] = frozenset({"PutFakePolicy"})
    iam_actions: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self.live: dict[str, str | None] = {}
        self.puts: list[tuple[str, str]] = []
        self.reads = 0
        self.reject_puts = 0
        self.stale_reads = 0
        self.throttled: set[str] = set()  # ARNs whose every call is throttled
        self._before_put: dict[str, str | None] = {}

    def read_policy(self, clients: AwsClients, arn: Arn) -> str | None:
        self.reads += 1
        if arn.text in self.throttled:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                "GetPolicy",
            )
        if arn.text not in self.live:
            raise ResourceNotFoundError(f"{arn.text} not found")
        if self.stale_reads and arn.text in self._before_put:
            self.stale_reads -= 1
            return self._before_put[arn.text]
        return self.live[arn.text]

    def write_policy(self, clients: AwsClients, arn: Arn, policy_json: str) -> None:
        if self.reject_puts:
            self.reject_puts -= 1
            raise PrincipalNotReadyError(f"rejected the policy of {arn.text}")
        self._before_put[arn.text] = self.live.get(arn.text)
        self.puts.append((arn.text, policy_json))
        self.live[arn.text] = policy_json

    def arn_from_event(self, detail: CloudTrailDetail, clients: AwsClients) -> str | None:
        resources = detail.resources or []
        return str(resources[0]["ARN"]) if resources else None

    def console_url(self, arn: Arn) -> str:
        return f"https://console.example/{arn.resource}"

    def count_existing(self, clients: AwsClients, account: str, region: str) -> int:
        return sum(
            (parsed.account, parsed.region) == (account, region)
            for parsed in map(Arn.parse, self.live)
        )


# A role's trust policy, as GetRole gives it (boto3 decodes it).
TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111111111111:oidc-provider/oidc.eks"},
            "Action": "sts:AssumeRoleWithWebIdentity",
        }
    ],
}


def approved(role_arn: str, unique_id: str, trust: dict[str, Any] = TRUST) -> TrustRecord:
    """The identity `declare` records for a role that exists (signed with SIGNATURES)."""
    record = TrustRecord(
        principal_arn=role_key(role_arn),
        unique_id=unique_id,
        policy=json.dumps(trust, sort_keys=True),
        recorded_by="arn:aws:iam::333333333333:role/security",
        recorded_at=START,
    )
    return SIGNATURES.sign(record)


@dataclass
class FakeIam:
    """`get_role` / `get_user` of the accounts' IAM: names that exist, with their ids."""

    roles: dict[str, str] = field(default_factory=dict)  # role ARN -> unique ID
    users: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    account: str = ""
    trusts: dict[str, dict[str, Any]] = field(default_factory=dict)  # role ARN -> trust

    def get_role(self, RoleName: str) -> dict[str, Any]:
        self.calls.append(f"GetRole {RoleName}")
        for arn, role_id in self.roles.items():
            if arn.split(":")[4] == self.account and arn.rsplit("/", 1)[-1] == RoleName:
                trust = self.trusts.get(arn, TRUST)
                return {"Role": {"Arn": arn, "RoleId": role_id, "AssumeRolePolicyDocument": trust}}
        raise _no_such_entity()

    def get_paginator(self, operation: str) -> Any:
        """ListRoles (the role-trust kind counts what exists), one page."""
        assert operation == "list_roles", operation
        iam, account = self, self.account

        class _Roles:
            def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
                iam.calls.append("ListRoles")
                yield {"Roles": [{"Arn": arn} for arn in iam.roles if arn.split(":")[4] == account]}

        return _Roles()

    def get_user(self, UserName: str) -> dict[str, Any]:
        self.calls.append(f"GetUser {UserName}")
        for arn in self.users:
            if arn.split(":")[4] == self.account and arn.rsplit("/", 1)[-1] == UserName:
                return {"User": {"Arn": arn}}
        raise _no_such_entity()


def _no_such_entity() -> ClientError:
    return ClientError({"Error": {"Code": "NoSuchEntity", "Message": "not found"}}, "GetRole")


class FakeListings:
    """The list calls that count what exists (KMS ListKeys and ListAliases, Secrets
    Manager ListSecrets), through boto3's paginators, over lists per account and region.
    `denied` holds the operations that answer AccessDeniedException."""

    PAGES: ClassVar[dict[str, str]] = {
        "list_keys": "Keys",
        "list_aliases": "Aliases",
        "list_secrets": "SecretList",
    }

    def __init__(self, page_size: int = 2) -> None:
        self.entries: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.denied: set[str] = set()
        self.calls: list[str] = []
        self.page_size = page_size  # small, so that counting has to follow the pages

    def add(self, account: str, region: str, operation: str, *entries: dict[str, Any]) -> None:
        self.entries.setdefault((account, region, operation), []).extend(entries)

    def client(self, account: str, region: str) -> Any:
        listings = self

        class _Paginator:
            def __init__(self, operation: str) -> None:
                self.operation = operation

            def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
                entries = listings.entries.get((account, region, self.operation), [])
                for start in range(0, max(len(entries), 1), listings.page_size):
                    listings.calls.append(self.operation)
                    if self.operation in listings.denied:
                        raise ClientError(
                            {"Error": {"Code": "AccessDeniedException", "Message": "denied"}},
                            self.operation,
                        )
                    page = entries[start : start + listings.page_size]
                    yield {listings.PAGES[self.operation]: page}

        class _Client:
            def get_paginator(self, operation: str) -> _Paginator:
                return _Paginator(operation)

        return _Client()


class FakeClients:
    """AwsClients for the fakes: `in_account(account, "iam")` is the shared FakeIam;
    the list calls of KMS and Secrets Manager are `listings`."""

    def __init__(self, iam: FakeIam, listings: FakeListings | None = None) -> None:
        self.iam = iam
        self.listings = listings or FakeListings()

    def in_account(self, account: str, service: str, region: str | None = None) -> Any:
        if service in {"kms", "secretsmanager"}:
            return self.listings.client(account, region or "us-east-1")
        assert service == "iam", service
        self.iam.account = account
        return self.iam


class FakeRechecks:
    """The re-check queue: what was scheduled, and in how many seconds."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[Recheck, int]] = []

    def schedule(self, recheck: Recheck, delay_seconds: int) -> None:
        self.scheduled.append((recheck, delay_seconds))

    def take(self) -> list[Recheck]:
        taken = [recheck for recheck, _ in self.scheduled]
        self.scheduled.clear()
        return taken


class FakePublisher:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def publish(self, alert: Alert) -> str:
        self.alerts.append(alert)
        return f"message-{len(self.alerts)}"


class FakeSignatures:
    """The KMS HMAC key in memory: the same message and checks as driftguard.signing's
    KmsSignatures, which the sandbox tests run against moto's KMS."""

    def __init__(self, key: bytes = b"the declarer's key") -> None:
        self._key = key
        self.verified = 0

    def sign(self, declared: Signed) -> Signed:
        mac = hmac.new(self._key, signed_message(declared), hashlib.sha256).digest()
        return replace(declared, signature=base64.b64encode(mac).decode("ascii"))

    def verify(self, declared: Record) -> None:
        self.verified += 1
        mac = hmac.new(self._key, signed_message(declared), hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(mac).decode("ascii"), declared.signature):
            raise SigningError("the declaration's signature does not verify")


SIGNATURES = FakeSignatures()


def declaration(
    arn: str, policy: str, *, principals: tuple[str, ...], mode: Mode = Mode.ENFORCE
) -> Declared:
    """What `driftguard declare` stores for `policy` (the fake kind, version 1, signed
    with SIGNATURES)."""
    parsed = Arn.parse(arn)
    return SIGNATURES.sign(
        Declared(
            arn=arn,
            kind=FakePolicies.name,
            account=parsed.account,
            region=parsed.region,
            policy=policy,
            digest=sha256(policy),
            mode=mode,
            version=1,
            declared_by="arn:aws:iam::333333333333:role/security",
            declared_at=START,
            principals=principals,
        )
    )


def in_sync_status(declared: Declared, at: datetime = START) -> StatusRecord:
    """The status `declare` records when the live policy is the declared text."""
    return StatusRecord(
        arn=declared.arn,
        kind=declared.kind,
        account=declared.account,
        region=declared.region,
        mode=declared.mode,
        status=Status.IN_SYNC,
        updated_at=at,
        live_digest=declared.digest,
    )
