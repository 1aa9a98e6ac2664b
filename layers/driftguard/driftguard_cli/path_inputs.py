"""What `declare-path` and `adopt-path` accept, checked at the edge (argparse types,
pure): a path's name, and the ARN of each thing a path names. A value of the wrong
shape is a usage error (exit 2) before anything is read or signed."""

from __future__ import annotations

import argparse
import re
from typing import Final

from driftguard.arns import Arn, role_account
from driftguard.errors import UnknownResourceKindError
from driftguard_cli.resources import is_alias, is_arn, is_key_id

__all__ = [
    "NAME_RE",
    "cluster_arn",
    "key_reference",
    "namespace",
    "oidc_provider_arn",
    "path_name",
    "path_role_arn",
    "policy_arn",
    "secret_arn",
    "service_account",
]

# A short slug: it is a table key (DECLARED#<name>), a history (path/<name>) and what
# people type; lower case, so two paths never differ by case alone.
NAME_RE: Final = re.compile(r"\A[a-z0-9](?:[a-z0-9._/-]{0,62}[a-z0-9])?\Z")
# IAM policy ARNs; AWS managed policies have "aws" for an account.
_POLICY_RE: Final = re.compile(r"\Aarn:aws(?:-[a-z]+)*:iam::(?:\d{12}|aws):policy/\S+\Z")
_CLUSTER_NAME_RE: Final = re.compile(r"\A[0-9A-Za-z][A-Za-z0-9_-]{0,99}\Z")


def _refuse(what: str, value: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"not {what}: {value!r}")


def _arn(value: str, service: str, prefix: str, *, regional: bool) -> Arn | None:
    """The ARN when it is of `service` with a resource after `prefix` (and a region
    when `regional`, none otherwise), else None."""
    try:
        arn = Arn.parse(value)
    except UnknownResourceKindError:
        return None
    if arn.service != service or not arn.account or bool(arn.region) is not regional:
        return None
    rest = arn.resource.removeprefix(prefix)
    return arn if arn.resource.startswith(prefix) and rest else None


def path_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise argparse.ArgumentTypeError(
            f"not a path name: {value!r} (1 to 64 of a-z, 0-9, '.', '_', '-', '/', "
            "starting and ending with a letter or digit, e.g. payments-db)"
        )
    return value


def path_role_arn(value: str) -> str:
    """An IAM role ARN with its account and a valid role name."""
    if role_account(value) is None:
        raise _refuse("an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", value)
    return value


def secret_arn(value: str) -> str:
    if _arn(value, "secretsmanager", "secret:", regional=True) is None:
        raise _refuse(
            "a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)",
            value,
        )
    return value


def key_reference(value: str) -> str:
    """A KMS key ARN, or a key ID or alias (resolved to the key's ARN later, as KMS in
    the hub's account and region knows it)."""
    if is_arn(value):
        if _arn(value, "kms", "key/", regional=True) or _arn(value, "kms", "alias/", regional=True):
            return value
    elif is_key_id(value) or (is_alias(value) and len(value) > len("alias/")):
        return value
    raise _refuse("a KMS key ARN, key ID or alias", value)


def oidc_provider_arn(value: str) -> str:
    if _arn(value, "iam", "oidc-provider/", regional=False) is None:
        raise _refuse(
            "an IAM OIDC provider ARN (arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION."
            "amazonaws.com/id/ID)",
            value,
        )
    return value


def cluster_arn(value: str) -> str:
    arn = _arn(value, "eks", "cluster/", regional=True)
    if arn is None or not _CLUSTER_NAME_RE.match(arn.resource.removeprefix("cluster/")):
        raise _refuse("an EKS cluster ARN (arn:aws:eks:REGION:ACCOUNT:cluster/NAME)", value)
    return value


def policy_arn(value: str) -> str:
    if not _POLICY_RE.match(value):
        raise _refuse("an IAM policy ARN (arn:aws:iam::ACCOUNT:policy/NAME)", value)
    return value


# Kubernetes names: a namespace is a DNS label, a service account a DNS subdomain.
_NAMESPACE_RE: Final = re.compile(r"\A[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_SERVICE_ACCOUNT_RE: Final = re.compile(r"\A[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?\Z")


def namespace(value: str) -> str:
    if not _NAMESPACE_RE.match(value):
        raise _refuse("a Kubernetes namespace (a-z, 0-9 and '-', at most 63)", value)
    return value


def service_account(value: str) -> str:
    if not _SERVICE_ACCOUNT_RE.match(value):
        raise _refuse("a Kubernetes service account name (a-z, 0-9, '-' and '.')", value)
    return value
