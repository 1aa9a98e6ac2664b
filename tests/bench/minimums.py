"""The fewest API calls each scenario needs: the figures figure 3 (and the sweeps of
figure 4) compare driftguard's measured calls with, by "service:Operation".

"Per container" calls are made once by a cold container and not again while it is
warm; the benchmark cold-starts the functions before each scenario, so they count.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping


def in_sync_event(accounts: int = 1, declarations: int = 1) -> Counter[str]:
    """(a) A policy event on an in-sync resource: its declared state and status in one
    read, under a lease taken and given back, and one read of the live policy."""
    return Counter(
        {
            "dynamodb:Query": 1,  # declared + status
            "dynamodb:PutItem": 1,  # the resource's lease
            "dynamodb:DeleteItem": 1,  # the lease released
            "kms:GetKeyPolicy": 1,
            # per container: the remediation role in the key's account, the signature
            "sts:AssumeRole": accounts,
            "kms:VerifyMac": declarations,
        }
    )


def widened_event(accounts: int = 1, declarations: int = 1) -> Counter[str]:
    """(b) (a), then the declared policy put back, read back to verify, recorded
    (status and audit) and alerted once. Before it puts a policy back, driftguard
    makes sure each role it names is still the identity the team approved (the
    security issue's role-squatting check): GetRole in the role's account (AssumeRole
    there, per container), its signed trust record (one GetItem, VerifyMac per
    container), and its unique ID recorded for `whois` (one BatchWriteItem, per
    container)."""
    return in_sync_event(accounts, declarations) + Counter(
        {
            "kms:PutKeyPolicy": 1,
            "kms:GetKeyPolicy": 1,  # the verifying read
            "dynamodb:PutItem": 2,  # status, audit
            "sns:Publish": 1,
            "iam:GetRole": 1,
            "sts:AssumeRole": 1,  # the role's account (the workload's)
            "dynamodb:GetItem": 1,  # the trust record
            "kms:VerifyMac": 1,  # its signature
            "dynamodb:BatchWriteItem": 1,  # the unique ID, both directions
        }
    )


POLICY_READ = {"kms-key": "kms:GetKeyPolicy", "secret": "secretsmanager:GetResourcePolicy"}


def sweep(shards: Mapping[str, Mapping[str, int]], kinds: int = 2) -> Counter[str]:
    """(c) A sweep of in-sync resources. `shards`: account -> kind -> resources (one
    region). The planner: one page of the index, one message batch (ten shards a
    batch); per shard: its lease taken and given back, one index query per kind, the
    state in batches of 100 keys (2 per resource), and the coverage count (one page each
    of ListKeys, ListAliases, ListSecrets; one inventory item per kind); per resource: one
    policy read. Nothing else written. Per container: AssumeRole per account, VerifyMac
    per declaration."""
    total = sum(sum(kinds_.values()) for kinds_ in shards.values())
    calls: Counter[str] = Counter(
        {
            "dynamodb:Scan": 1,
            "sqs:SendMessageBatch": math.ceil(len(shards) / 10),
            "dynamodb:PutItem": len(shards) * (1 + kinds),
            "dynamodb:DeleteItem": len(shards),
            "dynamodb:Query": kinds * len(shards),
            "sts:AssumeRole": len(shards),
            "kms:VerifyMac": total,
            "kms:ListKeys": len(shards),
            "kms:ListAliases": len(shards),
            "secretsmanager:ListSecrets": len(shards),
        }
    )
    for per_kind in shards.values():
        calls["dynamodb:BatchGetItem"] += math.ceil(2 * sum(per_kind.values()) / 100)
        for kind, count in per_kind.items():
            calls[POLICY_READ[kind]] += count
    return calls


def role_created(role: str, resources: Mapping[str, str]) -> Counter[str]:
    """(d) CreateRole of a role that declared policies name, recreated as approved.
    `resources`: ARN -> kind. Derived from driftguard.service (on_role_created, check,
    _restore) and driftguard.principals, keeping only what the design needs:

    - which resources name the role: one Query of its principal links;
    - the new role as IAM shows it (a CreateRole event is never trusted on its word):
      one GetRole in the role's account, and its unique ID recorded for `whois` (one
      BatchWriteItem: both directions);
    - is it the identity the team approved: its signed trust record, read once per
      trigger (one GetItem) and verified (VerifyMac, per container);
    - per resource, as (b): lease taken and released, declared + status in one Query,
      the live policy read, the declared one put back and read back, status and audit
      written; the declaration's signature verified (per container);
    - one alert for every resource the event restored;
    - AssumeRole once per account: the role's and each resource's (per container).
    """
    accounts = {role.split(":")[4]} | {arn.split(":")[4] for arn in resources}
    calls: Counter[str] = Counter(
        {
            # The IAM events function keeps Powertools' idempotency record (a fan-out
            # has no one lease to fold it into): in progress, then done.
            "dynamodb:PutItem": 1,
            "dynamodb:UpdateItem": 1,
            "dynamodb:Query": 1,
            "iam:GetRole": 1,
            "dynamodb:BatchWriteItem": 1,
            # the role's trust record, and whose the orphaned unique ID was (the alert
            # names the role): the registry, once per ID and trigger
            "dynamodb:GetItem": 2,
            "kms:VerifyMac": 1,
            "sns:Publish": 1,
        }
    )
    for kind in resources.values():
        read = POLICY_READ[kind]
        put = "kms:PutKeyPolicy" if kind == "kms-key" else "secretsmanager:PutResourcePolicy"
        calls += Counter(
            {
                "dynamodb:PutItem": 3,  # lease, status, audit
                "dynamodb:DeleteItem": 1,
                "dynamodb:Query": 1,
                read: 2,
                put: 1,
                "kms:VerifyMac": 1,
            }
        )
    calls["sts:AssumeRole"] = len(accounts)
    return calls
