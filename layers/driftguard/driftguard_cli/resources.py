"""A resource as people name it: an ARN, a KMS key ID, a key alias (or alias ARN), or a
secret's name, turned into the ARN driftguard keys everything by.

`match_declared` is pure (tested as a table); `Resolver` adds the two lookups AWS can
answer: a key ID or alias driftguard has not declared yet (KMS DescribeKey).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from driftguard.errors import DriftguardError, ResourceNotFoundError

_KEY_ID: Final = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12})$")
# Secrets Manager appends a hyphen and six random characters to a secret's name.
_SECRET_SUFFIX: Final = re.compile(r"-[A-Za-z0-9]{6}$")


class AmbiguousNameError(DriftguardError):
    """A name that more than one declared resource answers to."""


def is_arn(text: str) -> bool:
    return text.startswith("arn:")


def is_key_id(text: str) -> bool:
    return bool(_KEY_ID.match(text))


def is_alias(text: str) -> bool:
    return text.startswith("alias/") or (is_arn(text) and ":alias/" in text)


def _secret_name(arn: str) -> str:
    return _SECRET_SUFFIX.sub("", arn.split(":secret:", 1)[1])


def match_declared(text: str, declared: Iterable[str]) -> list[str]:
    """The declared ARNs `text` names: a key ID names the key of that ID in any account
    or region; any other text, the secrets of that name (with or without the suffix)."""
    if is_key_id(text):
        return sorted(arn for arn in declared if arn.endswith(f":key/{text}"))
    return sorted(
        arn
        for arn in declared
        if ":secret:" in arn and text in (_secret_name(arn), arn.split(":secret:", 1)[1])
    )


@dataclass(frozen=True)
class Resolver:
    """`declared`: every declared ARN (read once, when a name needs it);
    `describe_key(key_id_or_alias)`: the key's ARN as KMS in the hub's account and region
    answers, None when KMS knows no such key; `where`: that account and region, for the
    error message."""

    declared: Callable[[], Iterable[str]]
    describe_key: Callable[[str], str | None]
    where: Callable[[], str]

    def arn(self, text: str) -> str:
        text = text.strip()
        if is_arn(text) and not is_alias(text):
            return text
        if is_alias(text):
            return self._from_kms(text, "key alias")
        found = match_declared(text, self.declared())
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise AmbiguousNameError(
                f"{text} names {len(found)} declared resources; give the ARN: {', '.join(found)}"
            )
        if is_key_id(text):
            return self._from_kms(text, "key")
        raise ResourceNotFoundError(
            f"{text} is not an ARN, a key ID or alias, or the name of a declared secret "
            "(for a secret driftguard does not know yet, give its ARN)"
        )

    def _from_kms(self, text: str, what: str) -> str:
        arn = self.describe_key(text)
        if arn is None:
            raise ResourceNotFoundError(f"{what} {text} not found in {self.where()}")
        return arn
