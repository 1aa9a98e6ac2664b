"""Declared access paths and their last verdicts in the state table (docs/queries.md).

    pk      sk                  what
    PATH    DECLARED#<name>     the signed path declaration
    PATH    STATUS#<name>       its last verification: which link broke first, since when

All paths share one partition: an event that touches a role, secret, key or OIDC
provider finds the paths it breaks with one paginated Query (a path item is ~1 KB; ten
thousand paths are a few pages). Their history is audit entries under
`RES#path/<name>`, read like any resource's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from driftguard.errors import DeclarationError
from driftguard.model import AuditEntry
from driftguard.path_model import AccessPath, Irsa, PathDeclaration, PodIdentity
from driftguard.state import StateStore
from driftguard.vocabulary import Link, Mode

__all__ = ["PATH_PK", "PathStatus", "PathStore", "audit_arn"]

PATH_PK: Final = "PATH"
_DECLARED: Final = "DECLARED#"
_STATUS: Final = "STATUS#"


def audit_arn(name: str) -> str:
    """Where a path's history is kept (the audit entries' `arn`)."""
    return f"path/{name}"


@dataclass(frozen=True)
class PathStatus:
    """A path's last verdict. `broken` is the first broken link (None: it works); an
    alert goes out only when that changes (driftguard.path_watch)."""

    name: str
    broken: Link | None
    reason: str  # the broken link's reason, or "every link holds"
    fix: str
    version: int  # the declaration version verified
    since: datetime  # when `broken` last changed
    checked_at: datetime
    failing: tuple[Link, ...] = ()  # every broken link, in chain order (the report shows each)

    @property
    def ok(self) -> bool:
        return self.broken is None


def _declaration_item(declaration: PathDeclaration) -> dict[str, Any]:
    fields = declaration.fields()
    access = fields.pop("access")
    fields.pop("what")
    item = {k: v for k, v in (fields | access).items() if v is not None}
    return (
        {"pk": PATH_PK, "sk": _DECLARED + declaration.name}
        | item
        | {"signature": declaration.signature}
    )


def declaration_from_item(item: dict[str, Any]) -> PathDeclaration:
    access: Irsa | PodIdentity
    if item["via"] == "irsa":
        access = Irsa(item["oidc_provider_arn"], item["namespace"], item["service_account"])
    else:
        access = PodIdentity(item["cluster_arn"], item["namespace"], item["service_account"])
    return PathDeclaration(
        name=str(item["name"]),
        path=AccessPath(item["role_arn"], item["secret_arn"], item["key_arn"], access),
        mode=Mode(item["mode"]),
        version=int(item["version"]),
        declared_by=str(item["declared_by"]),
        declared_at=datetime.fromisoformat(item["declared_at"]),
        boundary_arn=item.get("boundary_arn"),
        signature=str(item.get("signature", "")),
    )


def _status_item(status: PathStatus) -> dict[str, Any]:
    item = {
        "pk": PATH_PK,
        "sk": _STATUS + status.name,
        "name": status.name,
        "reason": status.reason,
        "fix": status.fix,
        "version": status.version,
        "since": status.since.isoformat(),
        "checked_at": status.checked_at.isoformat(),
    }
    if status.broken is not None:
        item["broken"] = status.broken.value
    if status.failing:
        item["failing"] = [link.value for link in status.failing]
    return item


def status_from_item(item: dict[str, Any]) -> PathStatus:
    broken = item.get("broken")
    return PathStatus(
        name=str(item["name"]),
        broken=Link(broken) if broken else None,
        reason=str(item["reason"]),
        fix=str(item.get("fix", "")),
        version=int(item["version"]),
        since=datetime.fromisoformat(item["since"]),
        checked_at=datetime.fromisoformat(item["checked_at"]),
        failing=tuple(Link(link) for link in item.get("failing", ())),
    )


class PathStore:
    """Path declarations and verdicts, beside the policy declarations (one table)."""

    def __init__(self, states: StateStore) -> None:
        self._states = states
        self._table = states.table

    def get(self, name: str) -> PathDeclaration | None:
        key = {"pk": PATH_PK, "sk": _DECLARED + name}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return declaration_from_item(item) if item else None

    def declarations(self) -> list[PathDeclaration]:
        return [declaration_from_item(item) for item in self._items(_DECLARED)]

    def statuses(self) -> dict[str, PathStatus]:
        return {s.name: s for s in map(status_from_item, self._items(_STATUS))}

    def status(self, name: str) -> PathStatus | None:
        key = {"pk": PATH_PK, "sk": _STATUS + name}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return status_from_item(item) if item else None

    def put(self, declaration: PathDeclaration, audit: AuditEntry) -> None:
        """Write a declaration and its audit entry in one transaction; its version must be
        the stored version + 1 (two declarers at once: one wins, the other is told)."""
        expected = declaration.version - 1
        put: dict[str, Any] = {
            "TableName": self._table.name,
            "Item": _declaration_item(declaration),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if expected:
            put["ConditionExpression"] = "version = :expected"
            put["ExpressionAttributeValues"] = {":expected": expected}
        audit_put = {"TableName": self._table.name, "Item": self._states.audit_item(audit)}
        self._transact([{"Put": put}, {"Put": audit_put}], declaration, "declared concurrently")

    def delete(self, declaration: PathDeclaration, audit: AuditEntry) -> None:
        """Remove a declaration and its verdict, only if it is still that version."""
        table = self._table.name
        actions: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": table,
                    "Key": {"pk": PATH_PK, "sk": _DECLARED + declaration.name},
                    "ConditionExpression": "version = :seen",
                    "ExpressionAttributeValues": {":seen": declaration.version},
                }
            },
            {
                "Delete": {
                    "TableName": table,
                    "Key": {"pk": PATH_PK, "sk": _STATUS + declaration.name},
                }
            },
            {"Put": {"TableName": table, "Item": self._states.audit_item(audit)}},
        ]
        self._transact(actions, declaration, "changed since it was read")

    def record(self, status: PathStatus) -> bool:
        """Store a verdict. True only for the one write that changed which link is broken
        (a path that works from its first check changed nothing): under at-least-once
        delivery and concurrent checks, exactly one caller alerts per change."""
        if status.broken is None:
            changed, values = "attribute_exists(broken)", {}
        else:
            changed = "attribute_not_exists(broken) OR broken <> :broken"
            values = {":broken": status.broken.value}
        try:
            self._table.put_item(
                Item=_status_item(status),
                ConditionExpression=changed,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            self._refresh(status)
            return False
        return True

    def _refresh(self, status: PathStatus) -> None:
        """The same verdict as stored (or a first one that works): only when it was
        checked, and its words, change; `since` stays."""
        self._table.update_item(
            Key={"pk": PATH_PK, "sk": _STATUS + status.name},
            UpdateExpression=(
                "SET #name = :name, since = if_not_exists(since, :since), checked_at = :at, "
                "reason = :reason, fix = :fix, version = :version, failing = :failing"
            ),
            ExpressionAttributeNames={"#name": "name"},
            ExpressionAttributeValues={
                ":name": status.name,
                ":since": status.since.isoformat(),
                ":at": status.checked_at.isoformat(),
                ":reason": status.reason,
                ":fix": status.fix,
                ":version": status.version,
                ":failing": [link.value for link in status.failing],
            },
        )

    def _items(self, prefix: str) -> Iterator[dict[str, Any]]:
        condition = Key("pk").eq(PATH_PK) & Key("sk").begins_with(prefix)
        yield from self._states.query(KeyConditionExpression=condition, ConsistentRead=True)

    def _transact(
        self, actions: list[dict[str, Any]], declaration: PathDeclaration, what: str
    ) -> None:
        try:
            self._table.meta.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                raise DeclarationError(
                    f"access path {declaration.name} was {what} (version "
                    f"{declaration.version}); read it again and retry"
                ) from exc
            raise
