"""A complete, valid functions' environment (what template.yaml's Globals set)."""

from __future__ import annotations

from typing import Final

from driftguard_cli.stack import TUNABLES

# The template's fixed tunables (held to Globals by tests/contract/test_stack_outputs.py).
VALID_ENV: Final = dict(TUNABLES) | {
    "TABLE_NAME": "driftguard-state",
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:333333333333:driftguard-alerts",
    "REMEDIATION_ROLE_NAME": "driftguard-remediation",
    "DEFAULT_MODE": "enforce",
    "DEAD_LETTER_QUEUE_URL": "http://127.0.0.1/333333333333/dlq",
    "RECHECK_QUEUE_URL": "http://127.0.0.1/333333333333/rechecks",
    "SWEEP_QUEUE_URL": "http://127.0.0.1/333333333333/sweep",
    "SWEEP_CONCURRENCY": "20",
    "QUOTA_SHARE": "0.5",
    "PROPAGATION_TIMEOUT_SECONDS": "120",
    "MEMBER_ACCOUNT_IDS": "333333333333,111111111111,222222222222",
    "SIGNING_KEY_ID": "arn:aws:kms:us-east-1:333333333333:key/declarations",
}
