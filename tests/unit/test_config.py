"""Configuration is validated once, names what is wrong, and has no silent defaults."""

from __future__ import annotations

import pytest

from driftguard.config import Config, StoreConfig
from driftguard.errors import ConfigError
from driftguard.vocabulary import Mode

VALID = {
    "TABLE_NAME": "driftguard-state",
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:333333333333:driftguard-alerts",
    "REMEDIATION_ROLE_NAME": "driftguard-remediation",
    "DEFAULT_MODE": "enforce",
    "DEAD_LETTER_QUEUE_URL": "http://127.0.0.1/333333333333/dlq",
    "PROPAGATION_TIMEOUT_SECONDS": "120",
    "LEASE_SECONDS": "330",
    "QUARANTINE_THRESHOLD": "3",
    "QUARANTINE_WINDOW_SECONDS": "3600",
    "AUDIT_RETENTION_DAYS": "400",
}


def test_valid_environment_parses() -> None:
    config = Config.from_env(VALID)
    assert config.default_mode is Mode.ENFORCE
    assert config.propagation_timeout_seconds == 120


@pytest.mark.parametrize("missing", sorted(VALID))
def test_every_setting_is_required(missing: str) -> None:
    environ = {k: v for k, v in VALID.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        Config.from_env(environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_MODE", "fix-it"),
        ("LEASE_SECONDS", "-1"),
        ("QUARANTINE_THRESHOLD", "1"),
        ("TABLE_NAME", ""),
    ],
)
def test_malformed_settings_are_named(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config.from_env(VALID | {name: value})


def test_store_config_needs_only_the_table() -> None:
    assert StoreConfig.from_env({"TABLE_NAME": "t"}).table_name == "t"
    with pytest.raises(ConfigError, match="TABLE_NAME"):
        StoreConfig.from_env({})
