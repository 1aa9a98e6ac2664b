"""ARN parsing: the owner account and region of a resource come from its ARN."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from driftguard.errors import UnknownResourceKindError

_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws(?:-[a-z]+)*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
    r"(?P<account>\d{12})?:(?P<resource>.+)$"
)
_ROLE_RE = re.compile(
    r"^arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):role/(?P<path_name>.+)$"
)

# AWS's own bound; a longer one would not even fit a DynamoDB key (2,048 bytes).
MAX_ARN_LENGTH: Final = 2048
# IAM role names: 1 to 64 of these (IAM API reference, CreateRole RoleName).
ROLE_NAME_RE: Final = re.compile(r"\A[\w+=,.@-]{1,64}\Z")
# IAM unique ids: a four-letter prefix and 17 more characters.
UNIQUE_ID_RE: Final = re.compile(r"\A[A-Z]{4}[A-Z0-9]{17}\Z")

# Each partition has a console of its own; only the commercial one is linked per region.
_CONSOLE_DOMAINS: Final = {
    "aws-us-gov": "console.amazonaws-us-gov.com",
    "aws-cn": "console.amazonaws.cn",
}


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str
    text: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        if isinstance(text, str) and len(text) > MAX_ARN_LENGTH:
            raise UnknownResourceKindError(f"not an ARN: {len(text)} characters long")
        match = _ARN_RE.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise UnknownResourceKindError(f"not an ARN: {text!r}")
        return cls(
            partition=match["partition"],
            service=match["service"],
            region=match["region"],
            account=match["account"] or "",
            resource=match["resource"],
            text=text.strip(),
        )


def role_key(principal_arn: str) -> str:
    """The identity of a role ARN for matching: path dropped.

    Role names are unique per account whatever the path, and the DeleteRole event
    carries only the name, so links are keyed by `arn:...:role/<name>`.
    """
    match = _ROLE_RE.match(principal_arn)
    if match is None:
        return principal_arn
    name = match["path_name"].rsplit("/", 1)[-1]
    return f"arn:{match['partition']}:iam::{match['account']}:role/{name}"


def role_account(text: str) -> str | None:
    """The account of a role ARN, or None when `text` is not one."""
    if len(text) > MAX_ARN_LENGTH:
        return None
    match = _ROLE_RE.match(text)
    if match is None or not ROLE_NAME_RE.match(match["path_name"].rsplit("/", 1)[-1]):
        return None
    return match["account"]


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def principal_account(principal_arn: str) -> str | None:
    parts = principal_arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


def console_origin(arn: Arn) -> str:
    """The console that shows this ARN's resource (its region chosen by `?region=`)."""
    domain = _CONSOLE_DOMAINS.get(arn.partition)
    if domain:
        return f"https://{domain}"
    return f"https://{arn.region}.console.aws.amazon.com"
