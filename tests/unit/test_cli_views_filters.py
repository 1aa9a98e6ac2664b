"""The filters of `status`, `scan` and `scan --remediate`: how they are typed (repeated,
comma-separated, checked), what they match, and that the sweep's shard reading keeps
only that (and everything without a filter)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from driftguard.model import StatusRecord
from driftguard.sweep import ResourceFilter, Shard, Sweeper, position, read_shard
from driftguard.vocabulary import Mode, Status
from driftguard_cli.commands._filters import resource_filter
from driftguard_cli.exit_codes import EXIT_USAGE
from driftguard_cli.main import build_parser, main
from tests.support.fakes import FakeClock, FakeStore

A, B, C = "111111111111", "222222222222", "333333333333"
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def filter_of(*argv: str) -> ResourceFilter:
    return resource_filter(build_parser().parse_args(argv))


def test_each_filter_repeats_and_takes_comma_separated_values() -> None:
    for command in ("status", "scan"):
        assert filter_of(command) == ResourceFilter()
        assert not filter_of(command).narrows
        assert filter_of(
            command,
            "--account",
            f"{A}, {B}",
            "--account",
            C,
            "--kind",
            "secret",
            "--state",
            "drifted,error",
            "--resource-region",
            "eu-west-1,us-east-1",
        ) == ResourceFilter(
            accounts=frozenset({A, B, C}),
            regions=frozenset({"eu-west-1", "us-east-1"}),
            kinds=frozenset({"secret"}),
            statuses=frozenset({Status.DRIFTED, Status.ERROR}),
        )
    # --region stays the hub's region (every command's), not a filter.
    args = build_parser().parse_args(["scan", "--region", "eu-west-1"])
    assert args.region == "eu-west-1" and resource_filter(args) == ResourceFilter()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scan", "--account", "12345"], "not an AWS account id (12 digits): '12345'"),
        (["scan", "--remediate", "--yes", "--account", f"{A},x"], "not an AWS account id"),
        (["status", "--account", ","], "no value in ','"),
        (["status", "--kind", "bucket"], "unknown kind 'bucket' (one of: "),
        (["scan", "--kind", "secret,s3"], "unknown kind 's3'"),
        (["status", "--state", "remediated"], "unknown status 'remediated'"),
        (["scan", "--resource-region", "nowhere"], "not an AWS region (e.g. us-east-1)"),
    ],
)
def test_a_wrong_filter_is_a_usage_error_before_anything_is_read(
    argv: list[str], message: str
) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(argv, out=out, err=err) == EXIT_USAGE
    assert message in err.getvalue() and out.getvalue() == ""


@pytest.mark.parametrize(
    ("only", "account", "region", "kind", "status", "matches"),
    [
        (ResourceFilter(), A, "us-east-1", "secret", None, True),
        (ResourceFilter(accounts=frozenset({A, B})), B, "us-east-1", "secret", None, True),
        (ResourceFilter(accounts=frozenset({A})), C, "us-east-1", "secret", None, False),
        (ResourceFilter(regions=frozenset({"eu-west-1"})), A, "us-east-1", "secret", None, False),
        (ResourceFilter(kinds=frozenset({"kms-key"})), A, "us-east-1", "secret", None, False),
        (ResourceFilter(statuses=frozenset({Status.DRIFTED})), A, "x", "secret", None, False),
        (
            ResourceFilter(statuses=frozenset({Status.DRIFTED, Status.ERROR})),
            A,
            "us-east-1",
            "secret",
            Status.ERROR,
            True,
        ),
        (
            ResourceFilter(frozenset({A}), frozenset({"us-east-1"}), frozenset({"secret"})),
            A,
            "us-east-1",
            "secret",
            Status.IN_SYNC,
            True,
        ),
    ],
)
def test_what_a_filter_matches(
    only: ResourceFilter,
    account: str,
    region: str,
    kind: str,
    status: Status | None,
    matches: bool,
) -> None:
    assert only.matches(account, region, kind, status) is matches


def record(account: str, kind: str, name: str, status: Status) -> StatusRecord:
    service = "kms" if kind == "kms-key" else "secretsmanager"
    arn = f"arn:aws:{service}:us-east-1:{account}:{name}"
    return StatusRecord(arn, kind, account, "us-east-1", Mode.ENFORCE, status, T0)


@pytest.fixture
def store() -> FakeStore:
    store = FakeStore(FakeClock())
    for r in (
        record(A, "kms-key", "key/k1", Status.IN_SYNC),
        record(A, "secret", "secret:s1", Status.DRIFTED),
        record(A, "secret", "secret:s2", Status.IN_SYNC),
        record(B, "secret", "secret:s3", Status.DRIFTED),
    ):
        store.statuses[r.arn] = r
    return store


def test_a_shard_read_with_a_filter_keeps_only_what_it_matches(store: FakeStore) -> None:
    shard = Shard(A, "us-east-1", 3)

    def read(only: ResourceFilter | None = None) -> list[str]:
        state = read_shard(store, shard, only)  # type: ignore[arg-type]
        return [arn.rsplit(":", 1)[-1].removeprefix("key/") for arn, _ in state.resources]

    everything = read()
    assert sorted(everything) == ["k1", "s1", "s2"]
    assert everything == sorted(everything, key=lambda n: position(*_item(store, n)))
    assert read(ResourceFilter()) == everything  # an empty filter leaves nothing out
    assert sorted(read(ResourceFilter(kinds=frozenset({"secret"})))) == ["s1", "s2"]
    assert read(ResourceFilter(statuses=frozenset({Status.DRIFTED}))) == ["s1"]
    kms_drifted = ResourceFilter(kinds=frozenset({"kms-key"}), statuses=frozenset({Status.DRIFTED}))
    assert read(kms_drifted) == []
    assert read(ResourceFilter(accounts=frozenset({B}))) == []


def _item(store: FakeStore, name: str) -> tuple[str, str]:
    (r,) = [r for r in store.statuses.values() if r.arn.endswith(name)]
    return r.arn, r.kind


def test_the_sweep_plans_only_the_shards_a_filter_selects(store: FakeStore) -> None:
    sweeper = Sweeper(None, store, threads=1, lease_seconds=60)  # type: ignore[arg-type]
    assert [s.account for s in sweeper.plan()] == [A, B]
    assert [s.account for s in sweeper.plan(ResourceFilter(accounts=frozenset({B})))] == [B]
    assert sweeper.plan(ResourceFilter(regions=frozenset({"eu-west-1"}))) == []
    # A kind or status filter keeps every shard: it narrows what is read inside each.
    assert len(sweeper.plan(ResourceFilter(kinds=frozenset({"kms-key"})))) == 2
