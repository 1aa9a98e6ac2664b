"""Resource kinds. Importing this package registers every kind; adding a kind
means adding a module here and importing it below, nothing else."""

from driftguard.kinds import kms_key, role_trust, secret  # noqa: F401  (registration)
from driftguard.kinds.base import ResourceKind, Target
from driftguard.kinds.registry import all_kinds, for_arn, for_event_source, get, quotas, target

__all__ = [
    "ResourceKind",
    "Target",
    "all_kinds",
    "for_arn",
    "for_event_source",
    "get",
    "quotas",
    "target",
]
