"""Reading the state table in assertions."""

from __future__ import annotations

from driftguard.state import StateStore
from driftguard.vocabulary import Status
from driftguard_sandbox.sandbox import Sandbox


def status_of(store: StateStore, arn: str) -> Status:
    record = store.get_status(arn)
    assert record is not None, f"no status recorded for {arn}"
    return record.status


def set_declared(sandbox: Sandbox, arn: str, **attributes: str) -> None:
    """Overwrite attributes of the DECLARED item directly, as no driftguard code would."""
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    values = {f":v{i}": {"S": value} for i, value in enumerate(attributes.values())}
    assignments = ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes)))
    sandbox.hub_client("dynamodb").update_item(
        TableName=sandbox.hub.table_name,
        Key={"pk": {"S": f"RES#{arn}"}, "sk": {"S": "DECLARED"}},
        UpdateExpression=f"SET {assignments}",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ConditionExpression="attribute_exists(pk)",
    )
