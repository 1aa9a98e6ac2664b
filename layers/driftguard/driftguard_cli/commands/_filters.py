"""The resource filters `status` and `scan` share: --account, --kind, --resource-region
and --state, each repeatable and taking comma-separated values, checked as they are
parsed (a wrong one is a usage error, exit 2)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Final

from driftguard import kinds
from driftguard.sweep import ResourceFilter
from driftguard.vocabulary import Status

_ACCOUNT: Final = re.compile(r"^\d{12}$")
_REGION: Final = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")  # as a sweep shard's


def _values(check: Callable[[str], str | None]) -> Callable[[str], list[str]]:
    """argparse type: "a,b" -> ["a", "b"], each checked (`check`: what is wrong, or None)."""

    def parse(value: str) -> list[str]:
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"no value in {value!r}")
        for item in items:
            if problem := check(item):
                raise argparse.ArgumentTypeError(problem)
        return items

    return parse


def _account(value: str) -> str | None:
    return None if _ACCOUNT.match(value) else f"not an AWS account id (12 digits): {value!r}"


def _region(value: str) -> str | None:
    return None if _REGION.match(value) else f"not an AWS region (e.g. us-east-1): {value!r}"


def _kind(value: str) -> str | None:
    names = [kind.name for kind in kinds.all_kinds()]
    return None if value in names else f"unknown kind {value!r} (one of: {', '.join(names)})"


def _state(value: str) -> str | None:
    names = [status.value for status in Status]
    return None if value in names else f"unknown status {value!r} (one of: {', '.join(names)})"


def filter_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "filters (each repeatable, or comma-separated: --account 111111111111,222222222222)"
    )

    def option(flag: str, dest: str, check: Callable[[str], str | None], help_: str) -> None:
        metavar = dest.upper()
        group.add_argument(
            flag, dest=dest, type=_values(check), action="extend", metavar=metavar, help=help_
        )

    option("--account", "account", _account, "only resources in these accounts")
    option(
        "--kind",
        "kind",
        _kind,
        f"only these kinds ({', '.join(k.name for k in kinds.all_kinds())})",
    )
    # Not --region: that one, on every command, is the hub's region (AWS's meaning).
    option("--resource-region", "resource_region", _region, "only resources in these regions")
    option(
        "--state",
        "state",
        _state,
        f"only resources recorded in these statuses ({', '.join(s.value for s in Status)})",
    )


def resource_filter(args: argparse.Namespace) -> ResourceFilter:
    return ResourceFilter(
        accounts=frozenset(args.account or ()),
        regions=frozenset(args.resource_region or ()),
        kinds=frozenset(args.kind or ()),
        statuses=frozenset(Status(value) for value in args.state or ()),
    )
