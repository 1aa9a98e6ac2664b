"""Configuration is validated once, names what is wrong, and has no silent defaults."""

from __future__ import annotations

import pytest

from driftguard.aws import AwsClients
from driftguard.config import Config, PartitionConfig, StoreConfig
from driftguard.errors import AccountNotAllowedError, ConfigError
from driftguard.vocabulary import Mode
from tests.support.config import VALID_ENV

VALID = VALID_ENV


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


def test_partition_is_the_commercial_one_unless_set() -> None:
    """Templates always set PARTITION; a CLI shell that predates it keeps working."""
    assert Config.from_env(VALID).partition == "aws"
    assert PartitionConfig.from_env({}).partition == "aws"


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov", "aws-cn", "aws-iso-b"])
def test_every_partition_is_accepted(partition: str) -> None:
    assert Config.from_env(VALID | {"PARTITION": partition}).partition == partition
    assert PartitionConfig.from_env({"PARTITION": partition}).partition == partition


@pytest.mark.parametrize("partition", ["", "AWS", "aws-", "aws_cn", "azure", "aws-cn "])
def test_a_malformed_partition_is_named(partition: str) -> None:
    with pytest.raises(ConfigError, match="PARTITION"):
        Config.from_env(VALID | {"PARTITION": partition})
    with pytest.raises(ConfigError, match="PARTITION"):
        PartitionConfig.from_env({"PARTITION": partition})


def test_member_accounts_are_the_listed_ones_or_the_organization() -> None:
    assert Config.from_env(VALID).member_accounts == frozenset(
        {
            "333333333333",
            "111111111111",
            "222222222222",
        }
    )
    assert Config.from_env({**VALID, "MEMBER_ACCOUNT_IDS": ""}).member_accounts is None
    with pytest.raises(ConfigError, match="MEMBER_ACCOUNT_IDS"):
        Config.from_env({**VALID, "MEMBER_ACCOUNT_IDS": "12345,*"})


def test_driftguard_never_assumes_into_an_account_it_does_not_guard() -> None:
    clients = AwsClients(
        remediation_role_name="driftguard-remediation", member_accounts=frozenset({"111111111111"})
    )
    with pytest.raises(AccountNotAllowedError, match="444455556666"):
        clients.in_account("444455556666", "kms", "us-east-1")  # before any call: no sockets here
