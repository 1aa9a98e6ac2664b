"""Reading the state table in assertions."""

from __future__ import annotations

import os

from boto3.dynamodb.types import TypeDeserializer

from driftguard.signing import KmsSignatures
from driftguard.state import StateStore, declared_from_item
from driftguard.vocabulary import Status
from driftguard_sandbox.sandbox import Sandbox


def status_of(store: StateStore, arn: str) -> Status:
    record = store.get_status(arn)
    assert record is not None, f"no status recorded for {arn}"
    return record.status


def set_declared(sandbox: Sandbox, arn: str, *, sign: bool = False, **attributes: str) -> None:
    """Overwrite attributes of the DECLARED item directly, as no driftguard code would:
    the signature left as it was, or (`sign`) made anew with the signing key, as the
    declarer role could with a tool of its own."""
    if sign:
        item = sandbox.hub_client("dynamodb").get_item(
            TableName=sandbox.hub.table_name,
            Key={"pk": {"S": f"RES#{arn}"}, "sk": {"S": "DECLARED"}},
        )["Item"]
        plain = {k: TypeDeserializer().deserialize(v) for k, v in item.items()}
        declared = declared_from_item(plain | attributes)
        signatures = KmsSignatures(lambda: sandbox.hub_client("kms"), os.environ["SIGNING_KEY_ID"])
        attributes = attributes | {"signature": signatures.sign(declared).signature}
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
