"""Ids CloudFormation would keep for a stack's life, kept across the sandbox's resets.

The sandbox redeploys the hub on every `reset()` while the functions' warm containers
keep their configuration, which names resources by ARN. moto gives a new KMS key a
random id and a new stream the time as its label; these pin both to what
`driftguard_sandbox.template.default_physical_ids` says, the same on every deploy.
"""

from __future__ import annotations

from moto.dynamodb.models import dynamodb_backends
from moto.kms.models import kms_backends


def pin_key_id(account: str, region: str, created: str, wanted: str) -> None:
    backend = kms_backends[account][region]
    key = backend.keys.pop(created)
    key.id = wanted
    key.arn = key.arn.rsplit("/", 1)[0] + f"/{wanted}"
    backend.keys[wanted] = key


def pin_stream_label(account: str, region: str, table_name: str, label: str) -> None:
    table = dynamodb_backends[account][region].tables[table_name]
    table.latest_stream_label = label
