"""Resource kinds registered by name (Cloud Custodian style)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from driftguard.arns import Arn
from driftguard.errors import UnknownResourceKindError

if TYPE_CHECKING:
    from driftguard.kinds.base import ResourceKind, Target
    from driftguard.quotas import Quota

_KINDS: dict[str, ResourceKind] = {}
K = TypeVar("K", bound="type[ResourceKind]")


def register(cls: K) -> K:
    instance = cls()
    if instance.name in _KINDS:
        raise ValueError(f"resource kind {instance.name!r} registered twice")
    _KINDS[instance.name] = instance
    return cls


def get(name: str) -> ResourceKind:
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS))
        raise UnknownResourceKindError(f"unknown resource kind {name!r} (known: {known})") from None


def for_arn(arn: Arn) -> ResourceKind:
    for kind in _KINDS.values():
        if kind.handles(arn):
            return kind
    raise UnknownResourceKindError(f"no resource kind handles {arn.text}")


def for_event_source(event_source: str) -> ResourceKind | None:
    return next((k for k in _KINDS.values() if k.event_source == event_source), None)


def all_kinds() -> tuple[ResourceKind, ...]:
    return tuple(_KINDS[name] for name in sorted(_KINDS))


def quotas() -> dict[tuple[str, str], Quota]:
    """Every kind's request quotas, by (service, operation)."""
    return {
        (kind.service, operation): quota
        for kind in _KINDS.values()
        for operation, quota in kind.quotas.items()
    }


def target(arn_text: str, kind_name: str | None = None) -> Target:
    """The resource an ARN names: parsed once, its kind given by name or found."""
    from driftguard.kinds.base import Target

    arn = Arn.parse(arn_text)
    return Target(arn, get(kind_name) if kind_name else for_arn(arn))
