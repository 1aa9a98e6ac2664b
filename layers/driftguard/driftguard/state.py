"""The state table: declared state, status, principal registry, audit, leases.

Key design (one table, see docs/queries.md):

    pk                      sk                        what
    RES#<arn>               DECLARED                  declared policy, mode, version, digest
    RES#<arn>               STATUS                    status now   (GSI ByStatus, GSI ByAccount)
    RES#<arn>               LEASE                     per-resource lease, and the last event handled
    RES#<arn>               AUDIT#<time>#<id>         audit history, newest last (TTL expires_at)
    SWEEP#<account>#<region> LEASE                    the sweep worker on that shard
    PRINCIPAL#<role arn>    RES#<arn>                 resources whose declared policy names it
    PRINCIPAL#<role arn>    UID#<unique id>           unique ids the role has had
    PRINCIPAL#<role arn>    TRUST                     its approved identity (signed)
    UID#<unique id>         PRINCIPAL                 unique id -> role ARN (IAM has no API for it)
    INVENTORY               <account>#<region>#<kind> how many of a kind exist there (the sweep)
    PATH                    DECLARED#<name>, STATUS#<name>  access paths (driftguard.path_store)

    ByStatus:  gsi1pk = STATUS#<status>,  gsi1sk = <updated_at>#<arn>   (newest first)
    ByAccount: gsi2pk = ACCOUNT#<account>, gsi2sk = <kind>#<region>#<arn>

Role ARNs are keyed without their path (driftguard.arns.role_key) because the
DeleteRole event carries only the role name.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, TypeAdapter

from driftguard.arns import role_key
from driftguard.errors import (
    AlreadyHandledError,
    DeclarationError,
    LeaseBusyError,
    StoreBusyError,
)
from driftguard.model import AuditEntry, Declared, Inventory, StatusRecord, TrustRecord
from driftguard.retry import SYSTEM_CLOCK, Clock
from driftguard.vocabulary import LEGACY_AUDIT_ACTIONS, LEGACY_STATUSES, Status

T = TypeVar("T")
STATUS_INDEX = "ByStatus"
_BATCH_ATTEMPTS = 8
# How long a released lease remembers the last event it handled (a redelivery of a
# CloudTrail event comes within hours; Powertools' idempotency records kept a day).
_LEASE_MEMORY_SECONDS = 24 * 3600
ACCOUNT_INDEX = "ByAccount"
# Every inventory item in one partition: the report reads them all with one paginated
# Query instead of a Scan of the whole table (audit history included). The partition
# stays small (accounts x regions x kinds, ~150 bytes an item: 10,000 shards are a
# few MB) and is written once per shard and kind per sweep, far under a partition's
# 1,000 writes a second; the table has no local index, so no 10 GB collection limit.
INVENTORY_PK = "INVENTORY"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def inventory_sort_key(account: str, region: str, kind: str) -> str:
    """Sorted by account, then region: one account's counts are one `begins_with`."""
    return f"{account}#{region}#{kind}"


# DynamoDB items are validated by pydantic on the way in and out (the edge) and
# are the domain's frozen dataclasses inside; key attributes are ignored on load.
# Built on first use, not at import: a cold start pays only for what it reads.
_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(record: type[T]) -> TypeAdapter[T]:
    if record not in _ADAPTERS:
        _ADAPTERS[record] = TypeAdapter(record)
    return _ADAPTERS[record]


class UniqueIdItem(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    unique_id: str
    principal_arn: str
    seen_at: datetime
    source: str


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB rejects empty strings in keys and has no None; drop both where unset."""
    return {k: v for k, v in item.items() if v is not None and v != ""}


def declared_from_item(item: dict[str, Any]) -> Declared:
    """A DECLARED item as read (key attributes ignored); pydantic's ValidationError when
    it is not one."""
    return _adapter(Declared).validate_python(item)


def _status(item: dict[str, Any]) -> StatusRecord:
    status = item.get("status")
    if isinstance(status, str) and status in LEGACY_STATUSES:
        item = item | {"status": LEGACY_STATUSES[status].value}
    return _adapter(StatusRecord).validate_python(item)


def _audit(item: dict[str, Any]) -> AuditEntry:
    action = item.get("action")
    if isinstance(action, str) and action in LEGACY_AUDIT_ACTIONS:
        item = item | {"action": LEGACY_AUDIT_ACTIONS[action].value}
    return _adapter(AuditEntry).validate_python(item)


def _to_dynamo(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return _clean(value.model_dump(mode="json"))
    return _clean(_adapter(type(value)).dump_python(value, mode="json"))


class StateStore:
    def __init__(
        self, table: Any, *, audit_retention_days: int = 400, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._table = table
        self._audit_retention = timedelta(days=audit_retention_days)
        self._clock = clock

    @property
    def table(self) -> Any:
        """The boto3 Table (driftguard.path_store keeps its items in it too)."""
        return self._table

    @classmethod
    def for_table(cls, session: Any, table_name: str, **kwargs: Any) -> StateStore:
        return cls(session.resource("dynamodb").Table(table_name), **kwargs)

    # -- one resource ---------------------------------------------------------------

    def load(self, arn: str) -> tuple[Declared | None, StatusRecord | None]:
        """The declared state and the status in one request (they share a partition:
        DECLARED < LEASE < STATUS, so the range holds nothing else of interest)."""
        items = self.query(
            KeyConditionExpression=Key("pk").eq(f"RES#{arn}")
            & Key("sk").between("DECLARED", "STATUS"),
            ConsistentRead=True,
        )
        by_sort_key = {item["sk"]: item for item in items}
        declared = by_sort_key.get("DECLARED")
        status = by_sort_key.get("STATUS")
        return (
            _adapter(Declared).validate_python(declared) if declared else None,
            _status(status) if status else None,
        )

    # -- declared state -------------------------------------------------------------

    def load_many(self, arns: list[str]) -> dict[str, tuple[Declared | None, StatusRecord | None]]:
        """`load` for many resources in batched, consistent reads (BatchGetItem takes
        100 keys: 50 resources a request). What DynamoDB leaves unprocessed (throttling)
        is asked for again after a short pause; a resource missing from the answer is
        not declared."""
        client = self._table.meta.client
        found: dict[str, dict[str, dict[str, Any]]] = {arn: {} for arn in arns}
        keys = [{"pk": f"RES#{arn}", "sk": sk} for arn in arns for sk in ("DECLARED", "STATUS")]
        for start in range(0, len(keys), 100):
            request = {"Keys": keys[start : start + 100], "ConsistentRead": True}
            for attempt in range(_BATCH_ATTEMPTS):
                page = client.batch_get_item(RequestItems={self._table.name: request})
                # The resource's client speaks Python values, both ways.
                for item in page.get("Responses", {}).get(self._table.name, []):
                    found[str(item["pk"])[4:]][str(item["sk"])] = item
                pending = page.get("UnprocessedKeys", {}).get(self._table.name)
                if not pending:
                    break
                request = pending
                self._clock.sleep(0.05 * 2**attempt)
            else:
                raise StoreBusyError("DynamoDB left a batch read unprocessed after retries")
        return {
            arn: (
                _adapter(Declared).validate_python(items["DECLARED"])
                if "DECLARED" in items
                else None,
                _status(items["STATUS"]) if "STATUS" in items else None,
            )
            for arn, items in found.items()
        }

    def get_declared(self, arn: str) -> Declared | None:
        item = self._table.get_item(
            Key={"pk": f"RES#{arn}", "sk": "DECLARED"}, ConsistentRead=True
        ).get("Item")
        return _adapter(Declared).validate_python(item) if item else None

    def put_declared(self, declared: Declared, status: StatusRecord, audit: AuditEntry) -> None:
        """Write a declaration, its principal links, its first status and an audit
        entry in one transaction; `declared.version` must be the stored version + 1."""
        previous = self.get_declared(declared.arn)
        expected = previous.version if previous else 0
        if declared.version != expected + 1:
            raise DeclarationError(
                f"{declared.arn} was declared concurrently (version {expected} now); retry"
            )
        old_links = {role_key(p) for p in previous.principals} if previous else set()
        new_links = {role_key(p) for p in declared.principals}
        client = self._table.meta.client  # serializes Python values itself
        table = self._table.name
        declared_item = {"pk": f"RES#{declared.arn}", "sk": "DECLARED"} | _to_dynamo(declared)
        condition = "attribute_not_exists(pk)" if previous is None else "version = :expected"
        put_declared: dict[str, Any] = {
            "Put": {
                "TableName": table,
                "Item": declared_item,
                "ConditionExpression": condition,
            }
        }
        if previous is not None:
            put_declared["Put"]["ExpressionAttributeValues"] = {":expected": expected}
        actions: list[dict[str, Any]] = [put_declared]
        actions.append({"Put": {"TableName": table, "Item": self._status_item(status)}})
        actions.append({"Put": {"TableName": table, "Item": self.audit_item(audit)}})
        for link in sorted(old_links - new_links):
            actions.append(
                {
                    "Delete": {
                        "TableName": table,
                        "Key": {"pk": f"PRINCIPAL#{link}", "sk": f"RES#{declared.arn}"},
                    }
                }
            )
        for link in sorted(new_links):
            link_item = {
                "pk": f"PRINCIPAL#{link}",
                "sk": f"RES#{declared.arn}",
                "arn": declared.arn,
                "kind": declared.kind,
                "principal_arn": link,
            }
            actions.append({"Put": {"TableName": table, "Item": link_item}})
        try:
            client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                raise DeclarationError(
                    f"{declared.arn} was declared concurrently; read it again and retry"
                ) from exc
            raise

    def delete_declaration(self, declared: Declared, audit: AuditEntry) -> None:
        """Remove a declaration, its status and principal links, and record why, in one
        transaction; only if it is still `declared.version` (a declaration written since
        is never lost). The resource's history stays."""
        client = self._table.meta.client
        table, resource = self._table.name, f"RES#{declared.arn}"
        actions: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": table,
                    "Key": {"pk": resource, "sk": "DECLARED"},
                    "ConditionExpression": "version = :seen",
                    "ExpressionAttributeValues": {":seen": declared.version},
                }
            },
            {"Delete": {"TableName": table, "Key": {"pk": resource, "sk": "STATUS"}}},
            {"Put": {"TableName": table, "Item": self.audit_item(audit)}},
        ]
        for link in sorted({role_key(p) for p in declared.principals}):
            key = {"pk": f"PRINCIPAL#{link}", "sk": resource}
            actions.append({"Delete": {"TableName": table, "Key": key}})
        try:
            client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                raise DeclarationError(
                    f"{declared.arn} changed since version {declared.version} was read; "
                    "nothing removed: plan again"
                ) from exc
            raise

    # -- status ---------------------------------------------------------------------

    def get_status(self, arn: str) -> StatusRecord | None:
        item = self._table.get_item(
            Key={"pk": f"RES#{arn}", "sk": "STATUS"}, ConsistentRead=True
        ).get("Item")
        return _status(item) if item else None

    def put_status(self, status: StatusRecord) -> None:
        self._table.put_item(Item=self._status_item(status))

    def _status_item(self, status: StatusRecord) -> dict[str, Any]:
        return {
            "pk": f"RES#{status.arn}",
            "sk": "STATUS",
            "gsi1pk": f"STATUS#{status.status.value}",
            "gsi1sk": f"{_iso(status.updated_at)}#{status.arn}",
            "gsi2pk": f"ACCOUNT#{status.account}",
            "gsi2sk": f"{status.kind}#{status.region}#{status.arn}",
        } | _to_dynamo(status)

    def iter_statuses(
        self,
        *,
        status: Status | None = None,
        account: str | None = None,
        kind: str | None = None,
    ) -> Iterator[StatusRecord]:
        """Resources by status (newest first), by account (and kind), or all."""
        if account is not None:
            condition = Key("gsi2pk").eq(f"ACCOUNT#{account}")
            if kind is not None:
                condition = condition & Key("gsi2sk").begins_with(f"{kind}#")
            records = self.query(IndexName=ACCOUNT_INDEX, KeyConditionExpression=condition)
            for item in records:
                record = _status(item)
                if status is None or record.status == status:
                    yield record
            return
        for partition in _status_partitions(status):
            for item in self.query(
                IndexName=STATUS_INDEX,
                KeyConditionExpression=Key("gsi1pk").eq(f"STATUS#{partition}"),
                ScanIndexForward=False,
            ):
                record = _status(item)
                if kind is None or record.kind == kind:
                    yield record

    def shards(self) -> Counter[tuple[str, str]]:
        """How many declared resources each account and region holds (the sweep's plan):
        one pass over the ByAccount index, its keys only."""
        counts: Counter[tuple[str, str]] = Counter()
        kwargs: dict[str, Any] = {
            "IndexName": ACCOUNT_INDEX,
            "ProjectionExpression": "gsi2pk, gsi2sk",
        }
        while True:
            page = self._table.scan(**kwargs)
            for item in page.get("Items", []):
                _, region, _ = str(item["gsi2sk"]).split("#", 2)  # <kind>#<region>#<arn>
                counts[(str(item["gsi2pk"]).removeprefix("ACCOUNT#"), region)] += 1
            if "LastEvaluatedKey" not in page:
                return counts
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def resources_in(self, account: str, region: str, kinds: list[str]) -> list[tuple[str, str]]:
        """(arn, kind) of every declared resource of those kinds in the account and region."""
        found = []
        for kind in kinds:
            condition = Key("gsi2pk").eq(f"ACCOUNT#{account}") & Key("gsi2sk").begins_with(
                f"{kind}#{region}#"
            )
            for item in self.query(
                IndexName=ACCOUNT_INDEX,
                KeyConditionExpression=condition,
                ProjectionExpression="arn, kind",
            ):
                found.append((str(item["arn"]), str(item["kind"])))
        return found

    # -- inventory ------------------------------------------------------------------

    def put_inventory(self, item: Inventory) -> None:
        """What the sweep counted in an account and region, replacing the last count."""
        key = {"pk": INVENTORY_PK, "sk": inventory_sort_key(item.account, item.region, item.kind)}
        self._table.put_item(Item=key | _to_dynamo(item))

    def inventory(self) -> list[Inventory]:
        """Every count the sweep recorded, by account, region and kind."""
        return [
            _adapter(Inventory).validate_python(item)
            for item in self.query(KeyConditionExpression=Key("pk").eq(INVENTORY_PK))
        ]

    # -- principals -----------------------------------------------------------------

    def resources_naming(self, principal_arn: str) -> list[str]:
        return [
            item["arn"]
            for item in self.query(
                KeyConditionExpression=Key("pk").eq(f"PRINCIPAL#{role_key(principal_arn)}")
                & Key("sk").begins_with("RES#")
            )
        ]

    def record_unique_id(self, unique_id: str, principal_arn: str, source: str) -> None:
        """Both directions: unique id -> role (whois) and role -> its unique ids."""
        item = UniqueIdItem(
            unique_id=unique_id,
            principal_arn=role_key(principal_arn),
            seen_at=self._clock.now(),
            source=source,
        )
        with self._table.batch_writer() as batch:
            batch.put_item(Item={"pk": f"UID#{unique_id}", "sk": "PRINCIPAL"} | _to_dynamo(item))
            batch.put_item(
                Item={"pk": f"PRINCIPAL#{item.principal_arn}", "sk": f"UID#{unique_id}"}
                | _to_dynamo(item)
            )

    def principal_for_unique_id(self, unique_id: str) -> str | None:
        base = unique_id.split(":", 1)[0]
        item = self._table.get_item(Key={"pk": f"UID#{base}", "sk": "PRINCIPAL"}).get("Item")
        return UniqueIdItem.model_validate(item).principal_arn if item else None

    def unique_ids_of(self, principal_arn: str) -> list[str]:
        return [
            item["unique_id"]
            for item in self.query(
                KeyConditionExpression=Key("pk").eq(f"PRINCIPAL#{role_key(principal_arn)}")
                & Key("sk").begins_with("UID#")
            )
        ]

    def get_trust(self, principal_arn: str) -> TrustRecord | None:
        """The role's approved identity (None: none recorded)."""
        key = {"pk": f"PRINCIPAL#{role_key(principal_arn)}", "sk": "TRUST"}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return _adapter(TrustRecord).validate_python(item) if item else None

    def put_trust(self, record: TrustRecord) -> None:
        key = {"pk": f"PRINCIPAL#{role_key(record.principal_arn)}", "sk": "TRUST"}
        self._table.put_item(Item=key | _to_dynamo(record))

    # -- audit ----------------------------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> None:
        self._table.put_item(Item=self.audit_item(entry))

    def audit_item(self, entry: AuditEntry) -> dict[str, Any]:
        expires = int((entry.at + self._audit_retention).timestamp())
        return {
            "pk": f"RES#{entry.arn}",
            "sk": f"AUDIT#{_iso(entry.at)}#{secrets.token_hex(4)}",
            "expires_at": expires,
        } | _to_dynamo(fit_audit(entry))

    def history(self, arn: str, *, newest_first: bool = False) -> list[AuditEntry]:
        return [
            _audit(item)
            for item in self.query(
                KeyConditionExpression=Key("pk").eq(f"RES#{arn}") & Key("sk").begins_with("AUDIT#"),
                ScanIndexForward=not newest_first,
            )
        ]

    # -- lease ----------------------------------------------------------------------

    def take_lease(self, arn: str, seconds: int, event_id: str | None = None) -> str:
        """Take the per-resource lease (one conditional write) so that two invocations
        never act on one resource at once; LeaseBusyError while someone holds it.
        Returns the owner token `release_lease` needs.

        With `event_id` the lease is also the event's idempotency record: released,
        it remembers the last event handled on the resource (for a day), and that
        event redelivered is AlreadyHandledError instead of a second run."""
        return self._take(
            f"RES#{arn}", seconds, event_id, f"{arn} is being handled by another invocation"
        )

    def release_lease(self, arn: str, owner: str, event_id: str | None = None) -> None:
        self._release(f"RES#{arn}", owner, event_id)

    def take_shard_lease(self, account: str, region: str, seconds: int) -> str:
        """One sweep worker per account and region at a time (their quotas are shared)."""
        return self._take(
            f"SWEEP#{account}#{region}", seconds, None, f"{account}/{region} is being swept already"
        )

    def release_shard_lease(self, account: str, region: str, owner: str) -> None:
        self._release(f"SWEEP#{account}#{region}", owner, None)

    def _take(self, pk: str, seconds: int, event_id: str | None, busy: str) -> str:
        owner = secrets.token_hex(8)
        moment = int(self._clock.now().timestamp())
        free = Attr("pk").not_exists() | Attr("lease_until").lt(moment)
        if event_id is not None:
            free = free & (Attr("last_event").not_exists() | Attr("last_event").ne(event_id))
        try:
            # An update, not a put: the lease item keeps the last event it handled.
            self._table.update_item(
                Key={"pk": pk, "sk": "LEASE"},
                UpdateExpression="SET #owner = :owner, lease_until = :until, expires_at = :expires",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":until": moment + seconds,
                    ":expires": moment + seconds + _LEASE_MEMORY_SECONDS,
                },
                ConditionExpression=free,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            if event_id is not None and self._last_event(pk) == event_id:
                raise AlreadyHandledError(f"event {event_id} was handled already") from None
            raise LeaseBusyError(busy) from None
        return owner

    def _last_event(self, pk: str) -> str | None:
        item = self._table.get_item(Key={"pk": pk, "sk": "LEASE"}, ConsistentRead=True)
        last = item.get("Item", {}).get("last_event")
        return str(last) if last is not None else None

    def _release(self, pk: str, owner: str, event_id: str | None) -> None:
        moment = int(self._clock.now().timestamp())
        update = "SET lease_until = :free, expires_at = :expires"
        values: dict[str, Any] = {
            ":free": 0,
            ":expires": moment + _LEASE_MEMORY_SECONDS,
            ":owner": owner,
        }
        if event_id is not None:
            update += ", last_event = :event"
            values[":event"] = event_id
        try:
            self._table.update_item(
                Key={"pk": pk, "sk": "LEASE"},
                UpdateExpression=update + " REMOVE #owner",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            # Lost the lease to expiry: nothing of ours to release.
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # -- helpers --------------------------------------------------------------------

    def query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = self._table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# DynamoDB refuses an item over 400 KB; an audit entry keeps well under it.
MAX_AUDIT_BYTES = 200_000
MAX_DIFF_LINES = 200


def fit_audit(entry: AuditEntry) -> AuditEntry:
    """The entry, with its diff cut to what fits an item: the summary lines first (as
    many as fit), the full statements only when there is room. Says what it cut."""
    if len(json.dumps(entry.diff, default=str)) <= MAX_AUDIT_BYTES:
        return entry
    lines = [str(line) for line in entry.diff.get("summary", [])]
    kept: list[str] = []
    size = 0
    for line in lines[:MAX_DIFF_LINES]:
        size += len(line) + 4
        if size > MAX_AUDIT_BYTES // 2:
            break
        kept.append(line[:2000])
    cut = {"summary": kept, "truncated": True, "omitted_lines": len(lines) - len(kept)}
    return replace(entry, diff=cut)


def _status_partitions(status: Status | None) -> list[str]:
    """ByStatus partitions to read: one status, or every status and the legacy ones."""
    if status is not None:
        return [status.value]
    return [s.value for s in Status] + sorted(LEGACY_STATUSES)
