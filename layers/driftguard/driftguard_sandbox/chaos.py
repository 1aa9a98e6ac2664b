"""AWS on a bad day: behaviours 7 to 9 of `aws_gaps` (its docstring lists them all).

Each is off until a test switches it on through `Sandbox` and off again with
`Sandbox.reset()`; `AwsGaps` calls in here at the points named below. Waits are
AWS seconds, run at the pace of `time` (`SandboxTime`).

7. Consistency delays (IAM User Guide, troubleshooting, "Changes that I make are
   not always immediately visible"; KMS API reference, PutKeyPolicy, "Eventual
   consistency"). `getrole_delay`: after CreateRole (CreateUser), GetRole (GetUser)
   of that name answers `NoSuchEntity` for that long. `rewrite_delay`: after
   DeleteRole, policies keep showing the role's ARN for that long and only then
   show its unique ID (IAM forgets the role at once). `stale_reads`: after
   PutKeyPolicy (PutResourcePolicy), GetKeyPolicy (GetResourcePolicy) of that
   resource answers the policy it replaced for that long.
8. Faults (AWS General Reference, "Error retries and exponential backoff in
   AWS"; the API references' "Common Errors"): a `Fault` answers matching calls
   with the error AWS would send, in the service's protocol, before moto sees
   them: throttling by default, 5xx, or denials.
9. Put-time policy rules (`strict_policies`), none of which moto has. KMS
   PutKeyPolicy/CreateKey (API reference, PutKeyPolicy `Policy`; KMS quotas, "Key
   policy document size"): over 32,768 bytes is `LimitExceededException`;
   characters outside `[\\u0009\\u000A\\u000D\\u0020-\\u00FF]` or a statement without
   a principal are `MalformedPolicyDocumentException`; an explicit Deny of
   kms:PutKeyPolicy to the caller fails the lockout check (in `aws_gaps`).
   Secrets Manager PutResourcePolicy (API reference: `ResourcePolicy` is at most
   20,480 characters; `BlockPublicPolicy`): too long is the generic
   `ValidationException` every AWS JSON API answers for a length constraint (the
   model has no error of its own for it); a statement allowing `*` without a
   condition under BlockPublicPolicy is `PublicPolicyException`.
"""

from __future__ import annotations

import fnmatch
import json
import random
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from moto.kms.models import KmsBackend, kms_backends
from moto.secretsmanager.models import FakeSecret, secretsmanager_backends

from driftguard_sandbox.clock import SandboxTime
from driftguard_sandbox.wire import (
    XML_NAMESPACES,
    ApiRequest,
    Response,
    as_list,
    json_error,
    statements,
    xml_error,
)

if TYPE_CHECKING:
    from driftguard_sandbox.aws_gaps import Caller, Rewrite

__all__ = ["FAULT_SERVICES", "Chaos", "Fault"]

# Services whose requests the middleware parses, so a fault can answer them.
FAULT_SERVICES: Final = frozenset({"iam", "kms", "secretsmanager", "dynamodb", "sts", "sns", "sqs"})

# -- 8: default errors (the API references' Common Errors and each service's
# throttling error; the query-protocol services say `Throttling`).
_THROTTLING: Final = {"iam": "Throttling", "sts": "Throttling", "sns": "Throttling"}
_THROTTLING_DEFAULT: Final = "ThrottlingException"
_SERVER_ERRORS: Final = {
    "InternalFailure": 500,
    "InternalServerError": 500,
    "InternalServiceError": 500,
    "KMSInternalException": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
}
_MESSAGES: Final = {
    "Throttling": "Rate exceeded",
    "ThrottlingException": "Rate exceeded",
    "RequestThrottled": "Rate exceeded",
    "ProvisionedThroughputExceededException": (
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API."
    ),
}
_INTERNAL: Final = (
    "The request processing has failed because of an unknown error, exception or failure."
)
_UNAVAILABLE: Final = "The request has failed due to a temporary failure of the server."
_OTHER: Final = "The request was rejected."  # UNVERIFIED: a code the sandbox has no text for

# -- 9: limits and messages
KMS_POLICY_BYTES: Final = 32768
SECRETS_POLICY_CHARS: Final = 20480
KMS_TOO_LARGE: Final = (  # UNVERIFIED wording: the API reference's description of the error
    "The request was rejected because a length constraint or quota was exceeded."
)
KMS_BAD_CHARACTERS: Final = "The key policy contains characters that are not allowed."  # UNVERIFIED
KMS_NO_PRINCIPAL: Final = "Policy contains a statement with no principal."  # UNVERIFIED
SECRETS_TOO_LONG: Final = (
    "1 validation error detected: Value at 'resourcePolicy' failed to satisfy constraint: "
    f"Member must have length less than or equal to {SECRETS_POLICY_CHARS}"
)
SECRETS_PUBLIC: Final = (  # API reference, PutResourcePolicy errors
    "The BlockPublicPolicy parameter is set to true, and the resource policy did not "
    "prevent broad access to the secret."
)
_KMS_CHARACTERS = re.compile("[\u0009\u000a\u000d\u0020-\u00ff]*")

_POLICY_MEMBERS: Final = {  # the policy's member name in both the put and the get
    ("kms", "PutKeyPolicy"): "Policy",
    ("kms", "GetKeyPolicy"): "Policy",
    ("secretsmanager", "PutResourcePolicy"): "ResourcePolicy",
    ("secretsmanager", "GetResourcePolicy"): "ResourcePolicy",
}
_DYNAMODB_KEYS: Final = ("pk", "sk")  # driftguard's table (template.yaml KeySchema)
_BIRTHS: Final = {"CreateRole": "role", "CreateUser": "user"}
_DEATHS: Final = {"DeleteRole": "role", "DeleteUser": "user"}
_LOOKUPS: Final = {"GetRole": "role", "GetUser": "user"}


@dataclass
class Fault:
    """Matching calls fail with an AWS error until cleared; see `Sandbox.fail`.

    `count` is how many calls it failed so far.
    """

    service: str
    operation: str = "*"
    error: str | None = None
    status: int | None = None
    message: str | None = None
    times: int | None = None
    rate: float | None = None
    principal: str | None = None
    resource: str | None = None
    seed: int = 0
    count: int = field(default=0, init=False)
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.service not in FAULT_SERVICES:
            raise ValueError(f"faults apply to {sorted(FAULT_SERVICES)}, not {self.service!r}")
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate is a probability, not {self.rate}")
        self._random = random.Random(self.seed)

    @property
    def code(self) -> str:
        return self.error or _THROTTLING.get(self.service, _THROTTLING_DEFAULT)

    @property
    def http_status(self) -> int:
        return self.status or _SERVER_ERRORS.get(self.code, 400)

    def fires(self, request: ApiRequest, who: Callable[[], Caller]) -> bool:
        """Whether this call fails (counted); the caller holds the lock."""
        if request.service != self.service or not fnmatch.fnmatchcase(
            request.action, self.operation
        ):
            return False
        if self.times is not None and self.count >= self.times:
            return False
        if self.principal is not None and self.principal not in _names(who()):
            return False
        if self.resource is not None and self.resource not in _named(request):
            return False
        if self.rate is not None and self._random.random() >= self.rate:
            return False
        self.count += 1
        return True

    def answer(self, request: ApiRequest, who: Callable[[], Caller]) -> Response:
        """The error, in the protocol the request came in."""
        code, status = self.code, self.http_status
        message = self.message
        if message is None and code.startswith("AccessDenied"):
            action = f"{request.service}:{request.action}"
            message = f"User: {who().arn} is not authorized to perform: {action}"
        if message is None:
            default = _UNAVAILABLE if status == 503 else _INTERNAL if status >= 500 else _OTHER
            message = _MESSAGES.get(code, default)
        if request.protocol == "json":
            key = "Message" if request.service == "secretsmanager" else "message"
            return json_error(code, message, message_key=key, status=status)
        namespace = XML_NAMESPACES.get(request.service, "")
        return xml_error(code, message, namespace=namespace, status=status)


def _named(request: ApiRequest) -> str:
    """What a call is about, for `Fault.resource`: its parameters; for DynamoDB only the
    keys of the items it touches (a hot partition throttles the calls that reach it,
    not every call whose payload mentions it)."""
    params = request.params
    if request.service != "dynamodb":
        return json.dumps(params)
    touched: list[Any] = [params.get("Key")]
    item = params.get("Item") or {}
    touched += [item.get(name) for name in _DYNAMODB_KEYS]
    if request.action == "Query":
        touched.append(params.get("ExpressionAttributeValues"))
    for batch in (params.get("RequestItems") or {}).values():
        touched.append(batch)
    return json.dumps(touched)


def _names(caller: Caller) -> set[str]:
    """What a fault's `principal` may say to mean this caller."""
    names = {caller.arn, caller.role_arn, caller.role_name, caller.user_name}
    return {name for name in names if name}


@dataclass(frozen=True)
class _Replaced:
    previous: str | None  # the policy before the put (None: a secret had none)
    moment: float


@dataclass(frozen=True)
class _PendingRewrite:
    moment: float
    delay: float
    rewrites: Sequence[Rewrite]


class Chaos:
    """The knobs and state of behaviours 7 to 9 (all off until set)."""

    def __init__(self) -> None:
        self.time = SandboxTime()  # `AwsGaps.time`; the sandbox hands over its own
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._born: dict[tuple[str, str, str], float] = {}  # (account, kind, name)
        self._replaced: dict[str, _Replaced] = {}  # by resource ARN
        self._pending: list[_PendingRewrite] = []
        self.reset()

    def reset(self) -> None:
        """Every knob off, no faults, nothing remembered."""
        self.getrole_delay = 0.0
        self.rewrite_delay = 0.0
        self.stale_reads = 0.0
        self.strict_policies = False
        self.clear_faults()
        self.forget()

    def forget(self) -> None:
        """Drop what was remembered of moto's world (after moto was reset)."""
        with self._lock:
            self._born.clear()
            self._replaced.clear()
            self._pending.clear()

    # -- 8: faults --------------------------------------------------------------
    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def fault(self, request: ApiRequest, who: Callable[[], Caller]) -> Response | None:
        """The injected error for this call, if a fault fires (the first one added wins)."""
        with self._lock:
            fired = next((f for f in self._faults if f.fires(request, who)), None)
        return fired.answer(request, who) if fired is not None else None

    # -- 9: put-time rules ------------------------------------------------------
    def rules(self, request: ApiRequest) -> Response | None:
        """The error KMS or Secrets Manager gives a policy breaking their rules."""
        if not self.strict_policies:
            return None
        key = (request.service, request.action)
        if key in (("kms", "PutKeyPolicy"), ("kms", "CreateKey")):
            return _kms_rules(request.params.get("Policy"))
        if key == ("secretsmanager", "PutResourcePolicy"):
            return _secrets_rules(
                request.params.get("ResourcePolicy"), bool(request.params.get("BlockPublicPolicy"))
            )
        return None

    # -- 7: consistency ---------------------------------------------------------
    def around(
        self, request: ApiRequest, caller: Caller, forward: Callable[[], Response]
    ) -> Response:
        """moto's answer (`forward`) as an eventually consistent AWS would give it."""
        hidden = self._not_yet_visible(request, caller)
        if hidden is not None:
            return hidden
        member = _POLICY_MEMBERS.get((request.service, request.action))
        before = (
            _policy_of(request, caller) if member and request.action.startswith("Put") else None
        )
        response = forward()
        if response.ok:
            self._remember(request, caller, before)
        if member and request.action.startswith("Get") and response.ok:
            return self._stale(request, caller, response, member)
        return response

    def rewrite(self, rewrites: Sequence[Rewrite]) -> None:
        """Behaviour 1's rewrites of a deleted role: now, or after `rewrite_delay`."""
        if self.rewrite_delay <= 0:
            for rewrite in rewrites:
                rewrite.apply()
            return
        with self._lock:
            self._pending.append(_PendingRewrite(self.time.now(), self.rewrite_delay, rewrites))

    def settle(self) -> None:
        """Apply the rewrites whose delay is over (before any IAM/KMS/Secrets Manager call)."""
        with self._lock:
            due = [p for p in self._pending if self.time.since(p.moment) >= p.delay]
            self._pending = [p for p in self._pending if p not in due]
        for pending in due:
            for rewrite in pending.rewrites:
                rewrite.apply()

    def long_visible(self, arn: str) -> None:
        """GetRole/GetUser see the role or user `arn` at once (sandbox infrastructure)."""
        _, _, _, _, account, resource = arn.split(":", 5)
        kind, _, path = resource.partition("/")
        with self._lock:
            self._born.pop((account, kind, path.rpartition("/")[2]), None)

    def _not_yet_visible(self, request: ApiRequest, caller: Caller) -> Response | None:
        kind = _LOOKUPS.get(request.action) if request.service == "iam" else None
        if kind is None or self.getrole_delay <= 0:
            return None
        name = str(request.params.get(f"{kind.title()}Name"))
        with self._lock:
            born = self._born.get((caller.account_id, kind, name))
        if born is None or self.time.since(born) >= self.getrole_delay:
            return None
        return xml_error(
            "NoSuchEntity",
            f"The {kind} with name {name} cannot be found.",
            namespace=XML_NAMESPACES["iam"],
            status=404,
        )

    def _remember(
        self, request: ApiRequest, caller: Caller, before: tuple[str, str | None] | None
    ) -> None:
        with self._lock:
            if before is not None:
                self._replaced[before[0]] = _Replaced(before[1], self.time.now())
                return
            kind = _BIRTHS.get(request.action) or _DEATHS.get(request.action)
            if request.service != "iam" or kind is None:
                return
            key = (caller.account_id, kind, str(request.params.get(f"{kind.title()}Name")))
            if request.action in _BIRTHS:
                self._born[key] = self.time.now()
            else:
                self._born.pop(key, None)

    def _stale(
        self, request: ApiRequest, caller: Caller, response: Response, member: str
    ) -> Response:
        if self.stale_reads <= 0:
            return response
        found = _policy_of(request, caller)
        with self._lock:
            replaced = self._replaced.get(found[0]) if found else None
        if replaced is None or self.time.since(replaced.moment) >= self.stale_reads:
            return response
        payload = response.json()
        payload.pop(member, None)
        if replaced.previous is not None:
            payload[member] = replaced.previous
        return response.with_json(payload)


def _policy_of(request: ApiRequest, caller: Caller) -> tuple[str, str | None] | None:
    """(ARN, policy) of the key or secret a policy call names, read from moto."""
    identifier = str(request.params.get("KeyId" if request.service == "kms" else "SecretId"))
    account, region = caller.account_id, request.region
    parts = identifier.split(":")
    if identifier.startswith("arn:") and len(parts) > 5:
        account, region = parts[4], parts[3]
    if request.service == "kms":
        if account not in kms_backends:  # never create accounts while looking
            return None
        key = kms_backends[account][region].keys.get(KmsBackend.get_key_id(identifier))
        return (key.arn, key.policy) if key is not None else None
    if account not in secretsmanager_backends:
        return None
    secret = secretsmanager_backends[account][region].secrets.get(identifier)
    return (secret.arn, secret.policy) if isinstance(secret, FakeSecret) else None


def _document(text: str) -> dict[str, Any] | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None  # aws_gaps answers the syntax error
    return document if isinstance(document, dict) else None


def _kms_rules(text: Any) -> Response | None:
    if not isinstance(text, str):
        return None
    if len(text.encode()) > KMS_POLICY_BYTES:
        return json_error("LimitExceededException", KMS_TOO_LARGE)
    if not _KMS_CHARACTERS.fullmatch(text):
        return json_error("MalformedPolicyDocumentException", KMS_BAD_CHARACTERS)
    document = _document(text)
    if document is not None and any(
        "Principal" not in statement and "NotPrincipal" not in statement
        for statement in statements(document)
    ):
        return json_error("MalformedPolicyDocumentException", KMS_NO_PRINCIPAL)
    return None


def _secrets_rules(text: Any, block_public: bool) -> Response | None:
    if not isinstance(text, str):
        return None
    if len(text) > SECRETS_POLICY_CHARS:
        return json_error("ValidationException", SECRETS_TOO_LONG)
    document = _document(text)
    if block_public and document is not None and _public(document):
        return json_error("PublicPolicyException", SECRETS_PUBLIC, message_key="Message")
    return None


def _public(document: dict[str, Any]) -> bool:
    """Whether a statement allows everyone (`*`) with no condition narrowing it."""
    for statement in statements(document):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        principal = statement.get("Principal")
        if principal == "*" or (
            isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))
        ):
            return True
    return False
