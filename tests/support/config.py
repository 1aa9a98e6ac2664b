"""A complete, valid functions' environment (what template.yaml's Globals set)."""

from __future__ import annotations

from typing import Final

VALID_ENV: Final = {
    "TABLE_NAME": "driftguard-state",
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:333333333333:driftguard-alerts",
    "REMEDIATION_ROLE_NAME": "driftguard-remediation",
    "DEFAULT_MODE": "enforce",
    "DEAD_LETTER_QUEUE_URL": "http://127.0.0.1/333333333333/dlq",
    "RECHECK_QUEUE_URL": "http://127.0.0.1/333333333333/rechecks",
    "SWEEP_QUEUE_URL": "http://127.0.0.1/333333333333/sweep",
    "SWEEP_THREADS": "16",
    "SWEEP_CONCURRENCY": "20",
    "QUOTA_SHARE": "0.5",
    "PROPAGATION_TIMEOUT_SECONDS": "120",
    "LEASE_WAIT_SECONDS": "2",
    "PUT_RETRY_SECONDS": "3",
    "VERIFY_SECONDS": "8",
    "LEASE_SECONDS": "330",
    "QUARANTINE_THRESHOLD": "3",
    "QUARANTINE_WINDOW_SECONDS": "3600",
    "AUDIT_RETENTION_DAYS": "400",
    "MEMBER_ACCOUNT_IDS": "333333333333,111111111111,222222222222",
    "SIGNING_KEY_ID": "arn:aws:kms:us-east-1:333333333333:key/declarations",
}
