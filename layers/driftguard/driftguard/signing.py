"""Signed declarations: a KMS HMAC key (HMAC_SHA_256) in the security account.

Only the declarer role may call GenerateMac (the key policy says so); the functions
may only call VerifyMac. Whoever can write the state table can therefore write a
declaration, but not one that driftguard applies: a declaration whose signature does
not verify is refused (status `error`, a critical alert), never put.

The MAC covers every field that decides what is written, or where: ARN, kind,
account, region, mode, version, policy, the principals the fan-out follows, who
declared it and when. GenerateMac takes at most 4,096 bytes and a key policy may be
32 KB, so the message is the SHA-256 of the fields' canonical JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final, Protocol, TypeVar

from botocore.exceptions import ClientError

from driftguard.errors import SigningError
from driftguard.model import Declared, TrustRecord
from driftguard.path_model import PathDeclaration
from driftguard.quotas import Quota

MAC_ALGORITHM: Final = "HMAC_SHA_256"
# VerifyMac's answer for a MAC that does not match: a forgery, not a failure to check.
INVALID_MAC: Final = "KMSInvalidMacException"


Signed = TypeVar("Signed", Declared, TrustRecord, PathDeclaration)
Record = Declared | TrustRecord | PathDeclaration


def signed_message(record: Record) -> bytes:
    """The 32 bytes the MAC is computed over."""
    if isinstance(record, PathDeclaration):
        return _digest(record.fields())
    if isinstance(record, TrustRecord):
        return _digest(
            {
                "what": "role-trust",
                "principal_arn": record.principal_arn,
                "unique_id": record.unique_id,
                "policy": record.policy,
                "recorded_by": record.recorded_by,
                "recorded_at": record.recorded_at.isoformat(),
            }
        )
    declared = record
    return _digest(
        {
            "arn": declared.arn,
            "kind": declared.kind,
            "account": declared.account,
            "region": declared.region,
            "mode": declared.mode.value,
            "version": declared.version,
            "policy": declared.policy,
            "principals": sorted(declared.principals),
            "declared_by": declared.declared_by,
            "declared_at": declared.declared_at.isoformat(),
        }
    )


def _digest(fields: dict[str, Any]) -> bytes:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).digest()


class Verifier(Protocol):
    def verify(self, declared: Record) -> None:
        """Return if the signature verifies; raise SigningError if it does not, or
        ClientError when KMS could not be asked (transient or not)."""


# KMS request quotas, "Cryptographic operations (HMAC) request rate": GenerateMac and
# VerifyMac share 2,000 a second per account and region (UNVERIFIED: adjustable; check
# Service Quotas). Only driftguard uses the signing key, so the hub's quota is its own:
# the functions split it between the sweep workers that may run at once.
HMAC_QUOTA: Final = Quota("kms:hmac", 2000)


class KmsSignatures:
    """GenerateMac (the declarer) and VerifyMac (everyone) with the signing key.

    A verified (message, MAC) pair is remembered for the container's life: the same
    bytes verify the same way, and an in-sync check then costs no KMS call."""

    def __init__(self, kms: Callable[[], Any], key_id: str, *, remember: int = 10_000) -> None:
        self._kms = kms
        self._key_id = key_id
        self._verified: dict[tuple[bytes, str], None] = {}
        self._remember = remember
        self._lock = threading.Lock()

    def sign(self, declared: Signed) -> Signed:
        """The declaration with its signature; SigningError when this caller may not sign."""
        try:
            response = self._kms().generate_mac(
                KeyId=self._key_id, MacAlgorithm=MAC_ALGORITHM, Message=signed_message(declared)
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            raise SigningError(
                f"cannot sign the declaration with {self._key_id} ({code}); only the "
                "declarer role may sign (DeclarerRoleArn in the hub stack's outputs)"
            ) from None
        signature = base64.b64encode(response["Mac"]).decode("ascii")
        signed = replace(declared, signature=signature)
        self._remember_verified(signed_message(signed), signature)
        return signed

    def verify(self, declared: Record) -> None:
        message = signed_message(declared)
        # Names what was refused, so each forgery is an incident of its own.
        if isinstance(declared, Declared):
            what, which = "declaration", f"version {declared.version}, content {message.hex()[:12]}"
        elif isinstance(declared, PathDeclaration):
            what = "access path declaration"
            which = f"{declared.name} version {declared.version}, content {message.hex()[:12]}"
        else:
            what, which = (
                "recorded identity",
                f"of {declared.principal_arn}, content {message.hex()[:12]}",
            )
        if not declared.signature:
            raise SigningError(f"the {what} ({which}) is not signed; declare it again")
        with self._lock:
            if (message, declared.signature) in self._verified:
                return
        try:
            mac = base64.b64decode(declared.signature, validate=True)
        except ValueError:
            raise SigningError(f"the {what}'s signature ({which}) is not base64") from None
        try:
            self._kms().verify_mac(
                KeyId=self._key_id, MacAlgorithm=MAC_ALGORITHM, Message=message, Mac=mac
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == INVALID_MAC:
                raise SigningError(
                    f"the {what}'s signature ({which}) does not verify: it was written "
                    "or changed by someone who cannot sign (not the declarer role)"
                ) from None
            raise
        self._remember_verified(message, declared.signature)

    def _remember_verified(self, message: bytes, signature: str) -> None:
        with self._lock:
            if len(self._verified) >= self._remember:
                self._verified.pop(next(iter(self._verified)))
            self._verified[(message, signature)] = None
