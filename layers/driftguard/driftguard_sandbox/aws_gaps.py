"""Every AWS behaviour moto 5.2.5 lacks that driftguard depends on, in one place.

`AwsGaps` is WSGI middleware in front of moto's server. It sees each signed
request before moto (to reject what AWS would reject) and after (to do what AWS
does as a side effect), and nothing else in the project fakes AWS behaviour.
Each behaviour names its public source; what moto does instead was checked
against moto 5.2.5.

1. Deleting a role rewrites its ARN to its unique ID (`AROA...`) in every KMS key
   policy, Secrets Manager resource policy and IAM role trust policy of every
   account and region (IAM User Guide, "Policy elements: Principal"; re:Post
   knowledge center "kms-policy-error-invalid-principals"; moto keeps the ARN).
   The rewrite is internal to AWS: it produces no CloudTrail event. With
   `rewrite_delay` it happens that long after the deletion (behaviour 7).
2. Principal validation on KMS `PutKeyPolicy`/`CreateKey`, Secrets Manager
   `PutResourcePolicy` and IAM `CreateRole`/`UpdateAssumeRolePolicy`: orphaned
   unique IDs, unknown roles/users and not-yet-propagated roles are rejected with
   AWS's code and message (the knowledge center article above; the messages the
   Terraform AWS provider matches; moto accepts anything).
3. The KMS key-policy lockout safety check (KMS API reference, PutKeyPolicy,
   `BypassPolicyLockoutSafetyCheck`; moto has none). With `strict_policies`, an
   explicit unconditional Deny of kms:PutKeyPolicy to the caller, `*` or the
   account root fails it too (behaviour 9).
4. IAM propagation: a new role or user becomes a valid policy principal only
   `propagation_delay` AWS seconds after it was created, while `GetRole` sees it at
   once (KMS API reference, PutKeyPolicy `Policy`: "the new principal might not be
   immediately visible to KMS"; IAM troubleshooting, "Changes that I make are not
   always immediately visible").
5. CloudTrail via EventBridge: every mutating IAM, KMS, Secrets Manager, EventBridge,
   CloudTrail and EKS call, successful or failed, yields the "AWS API Call via CloudTrail"
   event AWS would deliver (EventBridge user guide, "Events from AWS services via
   CloudTrail"; CloudTrail record contents: failed calls carry `errorCode`; moto emits
   none). EventBridge's `PutEvents` is left out: it is no management event (CloudTrail
   logs it only as an opt-in data event; EventBridge user guide, "Logging Amazon
   EventBridge API calls using AWS CloudTrail"), and the trail driftguard asks for
   records management events. The EventBridge and CloudTrail calls are what
   driftguard's safeguards watch (its forwarding rules, the trail: driftguard.safeguards).
6. SNS to Lambda: a message published to a topic is handed to `on_publish` as
   the notification SNS gives every subscription (`SnsPublish`), which knows the
   event a subscribed Lambda function is invoked with (moto invokes Lambda
   subscribers only through its own Docker-based Lambda, which the sandbox does
   not use). Who is subscribed is the router's business (template.yaml).

Off until a test switches them on (in `chaos`, with their details and sources):

7. Consistency delays: a new role or user unknown to GetRole/GetUser
   (`getrole_delay`), behaviour 1 coming late (`rewrite_delay`), policy reads
   answering the policy a put replaced (`stale_reads`).
8. Faults: AWS's errors (throttling, 5xx, denials) instead of moto's answer to
   IAM, KMS, Secrets Manager, DynamoDB, STS, SNS and SQS calls (`Fault`).
9. KMS's and Secrets Manager's put-time policy rules (`strict_policies`).

Added for access paths (always on):

10. EKS Pod Identity associations (Create, Describe, List, Delete), per account and
   region, in `driftguard_sandbox.eks`, which says what AWS does and its sources;
   EKS's mutating calls get their CloudTrail events (behaviour 5) like the others.
11. A secret's replica keeps the key it was replicated with: ReplicationStatus
   `KmsKeyId` is the `KmsKeyId` that `AddReplicaRegions` gave for its region (Secrets
   Manager API reference, ReplicateSecretToRegions and ReplicationStatusType: "Can be
   an ARN, Key ID, or Alias"; moto answers alias/aws/secretsmanager whatever was given).
12. KMS `DisableKey`, `EnableKey`, `ScheduleKeyDeletion` and `CancelKeyDeletion` take
   the key's ARN as well as its id (KMS API reference, each call's `KeyId`: "Specify
   the key ID or key ARN of the KMS key"; moto looks an ARN up as an id and fails with
   an internal error). moto is handed the id; CloudTrail records the ARN as given.

Waits are AWS seconds, at the pace of `time` (`SandboxTime`).

Messages not confirmed by a source (marked UNVERIFIED below) are the sandbox's
best guess and only used for documents that are not JSON at all.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import hashlib
import io
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import quote

from moto.iam.models import get_account_id_from, iam_backends
from moto.kms.models import kms_backends
from moto.secretsmanager.exceptions import SecretNotFoundException
from moto.secretsmanager.models import FakeSecret, secretsmanager_backends
from moto.sts.models import sts_backends

from driftguard_sandbox.chaos import FAULT_SERVICES, Chaos
from driftguard_sandbox.clock import SandboxTime
from driftguard_sandbox.eks import PodIdentityAssociations, rest_request
from driftguard_sandbox.meter import Call, Meter
from driftguard_sandbox.sns import SnsPublish
from driftguard_sandbox.wire import (
    XML_NAMESPACES,
    ApiRequest,
    Response,
    as_list,
    hide_sensitive,
    json_error,
    lower_camel,
    read_request,
    signing_service,
    statements,
    xml_error,
)

__all__ = ["AwsGaps", "Caller", "Rewrite", "identify", "rewrite_principal"]

logger = logging.getLogger(__name__)

Event = dict[str, Any]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

WATCHED_SERVICES: Final = frozenset({"iam", "kms", "secretsmanager", "events", "cloudtrail", "eks"})
PARSED_SERVICES: Final = WATCHED_SERVICES | FAULT_SERVICES
# Calls of watched services that CloudTrail logs as data events (behaviour 5).
DATA_EVENTS: Final = frozenset({("events", "PutEvents"), ("events", "PutPartnerEvents")})
IAM_NAMESPACE: Final = XML_NAMESPACES["iam"]
PARTITION: Final = "aws"

# -- error messages (behaviours 2 and 3) -----------------------------------------
KMS_INVALID_PRINCIPAL: Final = "Policy contains a statement with one or more invalid principals."
KMS_LOCKOUT: Final = "The new key policy will not allow you to update the key policy in the future."
KMS_SYNTAX: Final = "The key policy is not valid JSON."  # UNVERIFIED wording
SECRETS_INVALID_PRINCIPAL: Final = "This resource policy contains an unsupported principal."
SECRETS_SYNTAX: Final = "The resource policy has syntax errors."  # API reference text
IAM_SYNTAX: Final = "This policy contains invalid Json"

_XML_MESSAGE_ID = re.compile(r"<MessageId>([^<]+)</MessageId>")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROOT_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:root$")
_ASSUMED_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:sts::\d{12}:assumed-role/.+$")
_ROLE_OR_USER_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):(role|user)/.+$")
_UNIQUE_ID = re.compile(r"^(AROA|AIDA)[A-Z0-9]{17}$")

_READ_ONLY_PREFIXES: Final = ("Get", "List", "Describe", "BatchGet", "GenerateDataKey")
_READ_ONLY_ACTIONS: Final = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "ReEncrypt",
        "GenerateRandom",
        "GenerateMac",
        "VerifyMac",
        "Sign",
        "Verify",
        "DeriveSharedSecret",
        "ValidateResourcePolicy",
        "SimulatePrincipalPolicy",
        "SimulateCustomPolicy",
    }
)
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def is_mutating(action: str) -> bool:
    """Whether CloudTrail records the call as a write (`readOnly: false`)."""
    return bool(action) and not (
        action.startswith(_READ_ONLY_PREFIXES) or action in _READ_ONLY_ACTIONS
    )


def java_date(moment: datetime) -> str:
    """The `MMM d, yyyy h:mm:ss a` dates CloudTrail puts in responseElements (e.g.
    CreateRole's `createDate`, CreateKey's `creationDate`)."""
    moment = moment.astimezone(UTC)
    hour = moment.hour % 12 or 12
    meridiem = "AM" if moment.hour < 12 else "PM"
    return (
        f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year} "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {meridiem}"
    )


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- callers


@dataclass(frozen=True)
class Caller:
    """Who signed a request, as CloudTrail's `userIdentity` describes them."""

    account_id: str
    access_key_id: str
    kind: Literal["AssumedRole", "IAMUser", "Root"]
    arn: str
    principal_id: str
    created: datetime
    role_arn: str | None = None
    role_id: str | None = None
    session_name: str | None = None
    user_name: str | None = None

    @property
    def role_name(self) -> str | None:
        return self.role_arn.rpartition("/")[2] if self.role_arn else None

    def policy_principals(self) -> set[str]:
        """Principal values that name this caller in a policy (lockout check)."""
        root = f"arn:{PARTITION}:iam::{self.account_id}:root"
        names = {root, self.account_id, self.arn}
        if self.role_arn:
            names |= {
                self.role_arn,
                f"arn:{PARTITION}:iam::{self.account_id}:role/{self.role_name}",
            }
        return names

    def user_identity(self) -> dict[str, Any]:
        issuer: dict[str, Any] = {}
        if self.kind == "AssumedRole":
            issuer = {
                "type": "Role",
                "principalId": self.role_id,
                "arn": self.role_arn,
                "accountId": self.account_id,
                "userName": self.role_name,
            }
        identity: dict[str, Any] = {
            "type": self.kind,
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": self.account_id,
            "accessKeyId": self.access_key_id,
        }
        if self.user_name:
            identity["userName"] = self.user_name
        identity["sessionContext"] = {
            "sessionIssuer": issuer,
            "webIdFederationData": {},
            "attributes": {"creationDate": iso_time(self.created), "mfaAuthenticated": "false"},
        }
        return identity


def _stable_role_id(role_arn: str) -> str:
    """A fixed `AROA...` id for sessions of roles that do not exist in IAM.

    moto lets anyone assume a missing role and then invents a new random id on
    every `GetCallerIdentity`; CloudTrail needs one id per role.
    """
    digest = base64.b32encode(hashlib.sha256(role_arn.encode()).digest()).decode()
    return "AROA" + digest[:17]


def identify(access_key: str) -> Caller:
    """Resolve an access key to its caller through moto's in-process backends."""
    account_id = get_account_id_from(access_key)
    iam = iam_backends[account_id][PARTITION]
    key = iam.access_keys.get(access_key)
    created = key.create_date if key is not None else datetime.now(UTC)
    if key is not None and key.role_arn:
        session = next(
            (
                assumed
                for assumed in sts_backends[account_id][PARTITION].assumed_roles
                if assumed.access_key_id == access_key
            ),
            None,
        )
        session_name = session.session_name if session else "unknown"
        role = next((r for r in list(iam.roles.values()) if r.arn == key.role_arn), None)
        role_id = role.id if role is not None else _stable_role_id(key.role_arn)
        role_name = key.role_arn.rpartition("/")[2]
        return Caller(
            account_id=account_id,
            access_key_id=access_key,
            kind="AssumedRole",
            arn=f"arn:{PARTITION}:sts::{account_id}:assumed-role/{role_name}/{session_name}",
            principal_id=f"{role_id}:{session_name}",
            created=created,
            role_arn=key.role_arn,
            role_id=role_id,
            session_name=session_name,
        )
    if key is not None and key.user_name and key.user_name in iam.users:
        user = iam.users[key.user_name]
        return Caller(
            account_id=account_id,
            access_key_id=access_key,
            kind="IAMUser",
            arn=user.arn,
            principal_id=user.id,
            created=created,
            user_name=user.name,
        )
    return Caller(
        account_id=account_id,
        access_key_id=access_key,
        kind="Root",
        arn=f"arn:{PARTITION}:iam::{account_id}:root",
        principal_id=account_id,
        created=created,
    )


# --------------------------------------------------------------------------- policies


def _aws_principals(document: dict[str, Any]) -> Iterator[Any]:
    for statement in statements(document):
        for key in ("Principal", "NotPrincipal"):
            principal = statement.get(key)
            if isinstance(principal, dict):
                yield from as_list(principal.get("AWS"))


def rewrite_principal(text: str, arn: str, unique_id: str) -> str | None:
    """`text` with AWS principal `arn` replaced by `unique_id`; None if unchanged.

    Each `AWS` value keeps its shape (a string stays a string, a list a list).
    """
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    changed = False
    for statement in statements(document):
        for key in ("Principal", "NotPrincipal"):
            principal = statement.get(key)
            if not isinstance(principal, dict):
                continue
            value = principal.get("AWS")
            if value == arn:
                principal["AWS"] = unique_id
                changed = True
            elif isinstance(value, list) and arn in value:
                principal["AWS"] = [unique_id if item == arn else item for item in value]
                changed = True
    return json.dumps(document) if changed else None


def _grants_put_key_policy(statement: dict[str, Any], names: set[str]) -> bool:
    """Whether a statement's Action and Principal cover `names` calling PutKeyPolicy."""
    if "NotPrincipal" in statement or "NotAction" in statement:
        return False
    actions = [a.lower() for a in as_list(statement.get("Action")) if isinstance(a, str)]
    if not any(fnmatch.fnmatchcase("kms:putkeypolicy", action) for action in actions):
        return False
    principal = statement.get("Principal")
    if principal == "*":
        return True
    aws = {str(p) for p in as_list(principal.get("AWS"))} if isinstance(principal, dict) else set()
    return bool("*" in aws or aws & names)


def _allows_put_key_policy(document: dict[str, Any], names: set[str]) -> bool:
    return any(
        statement.get("Effect") == "Allow" and _grants_put_key_policy(statement, names)
        for statement in statements(document)
    )


def _denies_put_key_policy(document: dict[str, Any], names: set[str]) -> bool:
    """Behaviour 9; a Deny under a Condition cannot be evaluated here and is ignored."""
    return any(
        statement.get("Effect") == "Deny"
        and not statement.get("Condition")
        and _grants_put_key_policy(statement, names)
        for statement in statements(document)
    )


@dataclass(frozen=True)
class _Problem:
    kind: Literal["syntax", "principal", "lockout"]
    value: str = ""


# --------------------------------------------------------------------------- SNS


def _sns_publish(request: ApiRequest, response: Response) -> SnsPublish | None:
    """What a successful `Publish` to a topic handed SNS (not SMS or endpoint targets)."""
    params = request.params
    topic_arn = params.get("TopicArn")
    found = _XML_MESSAGE_ID.search(response.body.decode("utf-8", errors="replace"))
    if not isinstance(topic_arn, str) or found is None:
        return None
    attributes: dict[str, dict[str, str]] = {}
    entries = (params.get("MessageAttributes") or {}).get("entry") or []
    for entry in entries if isinstance(entries, list) else []:
        value = entry.get("Value") or {}
        data_type = str(value.get("DataType", "String"))
        text = value.get("BinaryValue") if data_type.startswith("Binary") else None
        attributes[str(entry.get("Name"))] = {
            "Type": data_type,
            "Value": str(text if text is not None else value.get("StringValue", "")),
        }
    subject = params.get("Subject")
    return SnsPublish(
        topic_arn=topic_arn,
        message_id=found.group(1),
        message=str(params.get("Message", "")),
        subject=subject if isinstance(subject, str) else None,
        attributes=attributes,
        timestamp=datetime.now(UTC),
    )


# --------------------------------------------------------------------------- middleware


class AwsGaps:
    """WSGI middleware adding the behaviours listed in the module docstring.

    `on_event` receives each synthesized CloudTrail event (already wrapped for
    EventBridge) before the HTTP response goes back, so a caller that waits for
    the router after a call never misses the event its call produced.
    """

    def __init__(
        self,
        app: WsgiApp,
        *,
        on_event: Callable[[Event], object] | None = None,
        on_publish: Callable[[SnsPublish], object] | None = None,
    ) -> None:
        self.app = app
        self.on_event = on_event
        # Like `on_event`: called before the Publish response goes back.
        self.on_publish = on_publish
        self.propagation_delay = 0.0  # AWS seconds
        self.chaos = Chaos()
        self.meter = Meter()
        self._callers: dict[str, tuple[str, str]] = {}  # access key -> (account, ARN)
        self._lock = threading.Lock()
        self._dynamodb = threading.Lock()
        self._pause_depth = 0
        self._created: dict[str, float] = {}
        self.pod_identity = PodIdentityAssociations()  # 10

    @property
    def time(self) -> SandboxTime:
        """The pace of every AWS wait (shared with `chaos`)."""
        return self.chaos.time

    @time.setter
    def time(self, time: SandboxTime) -> None:
        self.chaos.time = time

    # -- control --------------------------------------------------------------
    @contextmanager
    def paused(self) -> Iterator[None]:
        """No CloudTrail events while inside (sandbox setup, not user activity)."""
        with self._lock:
            self._pause_depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._pause_depth -= 1

    @property
    def events_paused(self) -> bool:
        return self._pause_depth > 0

    def mark_propagated(self, arn: str) -> None:
        """Treat `arn` as long propagated and visible (infrastructure the sandbox set up)."""
        with self._lock:
            self._created[arn] = float("-inf")
        self.chaos.long_visible(arn)

    def clear(self) -> None:
        """Forget creation times and the like (after moto's state was reset)."""
        with self._lock:
            self._created.clear()
            self._callers.clear()
        self.pod_identity.clear()
        self.chaos.forget()

    # -- WSGI -----------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        service = signing_service(environ)
        if environ.get("PATH_INFO", "").startswith("/moto-api") or service not in PARSED_SERVICES:
            return self.app(environ, start_response)  # body untouched (e.g. S3 streams)
        request = read_request(environ)
        if request is None:
            return self.app(environ, start_response)
        if service == "eks":  # REST-JSON: the operation is the method and path
            request = rest_request(environ, request)
        self._meter(request)
        if service in WATCHED_SERVICES:
            response = self._watched(environ, request)
        else:
            who = functools.cache(lambda: identify(request.access_key))
            response = self.chaos.fault(request, who) or self._forward_atomically(service, environ)
            if service == "sns":
                self._sns(request, response)
        start_response(response.status, response.headers)
        return [response.body]

    def _meter(self, request: ApiRequest) -> None:
        # An access key names one caller for good: looked up once (identify scans
        # moto's sessions, and every request of every test passes here).
        known = self._callers.get(request.access_key)
        if known is None:
            caller = identify(request.access_key)
            known = self._callers[request.access_key] = (caller.account_id, caller.arn)
        self.meter.record(
            Call(
                at=time.monotonic(),
                account=known[0],
                region=request.region,
                service=request.service,
                action=request.action,
                who=known[1],
            )
        )
        self.meter.wait()

    def _forward_atomically(self, service: str, environ: dict[str, Any]) -> Response:
        """DynamoDB applies a conditional write atomically; moto checks the condition and
        writes without a lock, so two threads could both take one lease. One DynamoDB
        request at a time here, as DynamoDB serializes writes to an item."""
        if service != "dynamodb":
            return self._forward(environ)
        with self._dynamodb:
            return self._forward(environ)

    def _watched(self, environ: dict[str, Any], request: ApiRequest) -> Response:
        """IAM, KMS and Secrets Manager: behaviours 1 to 5, 7 to 9, 11 and 12; EventBridge and
        CloudTrail: behaviour 5; EKS: 5 and 10 (the others never apply to them)."""
        caller = identify(request.access_key)
        self.chaos.settle()
        response = self.chaos.fault(request, lambda: caller) or self.chaos.rules(request)
        problem = self._check(request, caller) if response is None else None
        if problem is not None:
            response = self._reject(request, problem)
        elif response is None:
            deleted_role = self._role_to_delete(request, caller)
            _key_id_for_moto(environ, request)
            response = self.chaos.around(
                request, caller, lambda: self._answer(environ, request, caller)
            )
            if response.ok:
                self._after_success(request, caller, deleted_role)
        if (
            self.on_event is not None
            and is_mutating(request.action)
            and (request.service, request.action) not in DATA_EVENTS
            and not self.events_paused
        ):
            try:
                self.on_event(self._cloudtrail_event(request, caller, response))
            except Exception:  # a routing bug must not turn into an AWS error
                logger.exception("CloudTrail event for %s failed", request.action)
        return response

    def _answer(self, environ: dict[str, Any], request: ApiRequest, caller: Caller) -> Response:
        """moto's answer, or behaviour 10's for the EKS calls moto lacks."""
        forward = functools.partial(self._forward, environ)
        if request.service != "eks":
            return forward()
        return self.pod_identity.answer(request, caller.account_id, forward)

    def _sns(self, request: ApiRequest, response: Response) -> None:
        """6: after SNS answered, a published message to `on_publish` (no CloudTrail:
        Publish is a data event, never sent to EventBridge)."""
        if request.action != "Publish" or not response.ok or self.on_publish is None:
            return
        published = _sns_publish(request, response)
        if published is not None:
            try:
                self.on_publish(published)
            except Exception:  # a routing bug must not turn into an AWS error
                logger.exception("SNS delivery of %s failed", published.message_id)

    def _forward(self, environ: dict[str, Any]) -> Response:
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, list(headers)
            return chunks.append

        result = self.app(environ, capture)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return Response(captured["status"], captured["headers"], b"".join(chunks))

    # -- 2, 3, 4: validation before moto --------------------------------------
    def _check(self, request: ApiRequest, caller: Caller) -> _Problem | None:
        params, key = request.params, (request.service, request.action)
        if key in (("kms", "PutKeyPolicy"), ("kms", "CreateKey")):
            if key == ("kms", "CreateKey") and "Policy" not in params:
                return None
            problem, document = self._check_principals(params.get("Policy"))
            names = caller.policy_principals()
            if (
                problem is None
                and not params.get("BypassPolicyLockoutSafetyCheck")
                and (
                    not _allows_put_key_policy(document, names)
                    or (self.chaos.strict_policies and _denies_put_key_policy(document, names))
                )
            ):
                problem = _Problem("lockout")
            return problem
        if key == ("secretsmanager", "PutResourcePolicy"):
            return self._check_principals(params.get("ResourcePolicy"))[0]
        if key == ("iam", "CreateRole"):
            return self._check_principals(params.get("AssumeRolePolicyDocument"))[0]
        if key == ("iam", "UpdateAssumeRolePolicy"):
            return self._check_principals(params.get("PolicyDocument"))[0]
        return None

    def _check_principals(self, text: Any) -> tuple[_Problem | None, dict[str, Any]]:
        try:
            document = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            document = None
        if not isinstance(document, dict):
            return _Problem("syntax"), {}
        for principal in _aws_principals(document):
            if not self._valid_principal(principal):
                return _Problem("principal", str(principal)), document
        return None, document

    def _valid_principal(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if value == "*" or _ACCOUNT_ID.match(value) or _ROOT_ARN.match(value):
            return True
        if _ASSUMED_ROLE_ARN.match(value):
            return True
        if _UNIQUE_ID.match(value):
            return False  # orphaned: what a deleted role or user became
        match = _ROLE_OR_USER_ARN.match(value)
        if match is None:
            return False  # groups, federated users, typos: not principals
        account_id, kind = match.groups()
        if account_id not in iam_backends:  # never create accounts while looking
            return False
        iam = iam_backends[account_id][PARTITION]
        arns = (
            [role.arn for role in list(iam.roles.values())]
            if kind == "role"
            else [user.arn for user in list(iam.users.values())]
        )
        if value not in arns:
            return False
        with self._lock:
            created = self._created.get(value, float("-inf"))
        return self.time.since(created) >= self.propagation_delay

    def _reject(self, request: ApiRequest, problem: _Problem) -> Response:
        if request.service == "kms":
            message = {
                "syntax": KMS_SYNTAX,
                "principal": KMS_INVALID_PRINCIPAL,
                "lockout": KMS_LOCKOUT,
            }[problem.kind]
            return json_error("MalformedPolicyDocumentException", message)
        if request.service == "secretsmanager":
            message = SECRETS_SYNTAX if problem.kind == "syntax" else SECRETS_INVALID_PRINCIPAL
            return json_error("MalformedPolicyDocumentException", message, message_key="Message")
        message = (
            IAM_SYNTAX
            if problem.kind == "syntax"
            else f'Invalid principal in policy: "AWS":"{problem.value}"'
        )
        return xml_error("MalformedPolicyDocument", message, namespace=IAM_NAMESPACE)

    # -- 1, 4: side effects after moto ----------------------------------------
    @staticmethod
    def _role_to_delete(request: ApiRequest, caller: Caller) -> tuple[str, str] | None:
        """(ARN, RoleId) of the role a DeleteRole names, read before it is gone."""
        if (request.service, request.action) != ("iam", "DeleteRole"):
            return None
        name = request.params.get("RoleName")
        iam = iam_backends[caller.account_id][PARTITION]
        role = next((r for r in list(iam.roles.values()) if r.name == name), None)
        return (role.arn, role.id) if role is not None else None

    def _after_success(
        self, request: ApiRequest, caller: Caller, deleted_role: tuple[str, str] | None
    ) -> None:
        iam = iam_backends[caller.account_id][PARTITION]
        name = request.params.get("RoleName") or request.params.get("UserName")
        if (request.service, request.action) == ("iam", "CreateRole"):
            role = next((r for r in list(iam.roles.values()) if r.name == name), None)
            if role is not None:
                with self._lock:
                    self._created[role.arn] = self.time.now()
        elif (request.service, request.action) == ("iam", "CreateUser"):
            user = iam.users.get(str(name))
            if user is not None:
                with self._lock:
                    self._created[user.arn] = self.time.now()
        elif (request.service, request.action) in _REPLICATING:
            _keep_replica_keys(caller.account_id, request)
        elif deleted_role is not None:
            arn, role_id = deleted_role
            with self._lock:
                self._created.pop(arn, None)
            self.chaos.rewrite(planned_rewrites(arn, role_id))

    # -- 5: CloudTrail --------------------------------------------------------
    def _cloudtrail_event(self, request: ApiRequest, caller: Caller, response: Response) -> Event:
        now = datetime.now(UTC)
        region = "us-east-1" if request.service == "iam" else request.region
        detail: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": caller.user_identity(),
            "eventTime": iso_time(now),
            "eventSource": f"{request.service}.amazonaws.com",
            "eventName": request.action,
            "awsRegion": region,
            "sourceIPAddress": "127.0.0.1",
            "userAgent": request.user_agent,
            "requestParameters": hide_sensitive(lower_camel(request.params)) or None,
            "responseElements": _response_elements(request, caller, response),
        }
        error = response.error()
        if error is not None:
            code, message = error
            if request.service == "iam" and not code.endswith(("Exception", "AccessDenied")):
                code += "Exception"  # CloudTrail spells IAM errors e.g. NoSuchEntityException
            detail["errorCode"], detail["errorMessage"] = code, message
        detail.update(
            {
                "requestID": response.request_id(),
                "eventID": str(uuid.uuid4()),
                "readOnly": False,
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": caller.account_id,
                "eventCategory": "Management",
            }
        )
        if request.service == "kms":
            detail["resources"] = _kms_resources(request, caller, response)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "AWS API Call via CloudTrail",
            "source": f"aws.{request.service}",
            "account": caller.account_id,
            "time": iso_time(now),
            "region": region,
            "resources": [],
            "detail": detail,
        }


# 12: the calls moto reads a key id only from.
_KEY_ID_ONLY: Final = frozenset(
    {"DisableKey", "EnableKey", "ScheduleKeyDeletion", "CancelKeyDeletion"}
)


def _key_id_for_moto(environ: dict[str, Any], request: ApiRequest) -> None:
    """12: the request moto sees names the key by its id (`request` keeps the ARN)."""
    key = request.params.get("KeyId")
    if request.service != "kms" or request.action not in _KEY_ID_ONLY:
        return
    if not isinstance(key, str) or not key.startswith("arn:") or ":key/" not in key:
        return
    body = json.dumps(request.params | {"KeyId": key.rsplit("/", 1)[-1]}).encode()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


_REPLICATING: Final = frozenset(
    {("secretsmanager", "ReplicateSecretToRegions"), ("secretsmanager", "CreateSecret")}
)


def _keep_replica_keys(account: str, request: ApiRequest) -> None:
    """11: each new replica's ReplicationStatus names the key it was given."""
    given = {
        str(replica.get("Region")): str(replica["KmsKeyId"])
        for replica in request.params.get("AddReplicaRegions") or []
        if isinstance(replica, dict) and replica.get("KmsKeyId")
    }
    if not given:
        return
    secret_id = str(request.params.get("SecretId") or request.params.get("Name"))
    try:
        secret = secretsmanager_backends[account][request.region].describe_secret(secret_id)
    except SecretNotFoundException:  # deleted meanwhile by another request
        return
    for replica in getattr(secret, "replicas", []):
        if replica.region in given:
            replica.config["KmsKeyId"] = given[replica.region]


@dataclass(frozen=True)
class Rewrite:
    """Behaviour 1 for one stored document: `holder.attribute` from `old` to `new`."""

    holder: Any
    attribute: str
    old: str
    new: str

    def apply(self) -> bool:
        """Rewrite unless the document changed since it was planned (a later put wins)."""
        if getattr(self.holder, self.attribute) != self.old:
            return False
        setattr(self.holder, self.attribute, self.new)
        return True


def planned_rewrites(arn: str, unique_id: str) -> list[Rewrite]:
    """Behaviour 1: every stored resource or trust policy naming `arn`, with `arn`
    replaced by `unique_id`. Only accounts and regions moto already holds are
    visited (looking must not create backends)."""
    documents: list[tuple[Any, str]] = []
    for kms in [b for account in list(kms_backends.values()) for b in list(account.values())]:
        documents += [(key, "policy") for key in list(kms.keys.values())]
    for secrets in [
        b for account in list(secretsmanager_backends.values()) for b in list(account.values())
    ]:
        documents += [
            (secret, "policy")
            for secret in list(dict.values(secrets.secrets))
            if isinstance(secret, FakeSecret) and secret.policy  # replicas have none
        ]
    for iam in [b for account in list(iam_backends.values()) for b in list(account.values())]:
        documents += [(role, "assume_role_policy_document") for role in list(iam.roles.values())]
    rewrites = []
    for holder, attribute in documents:
        old = getattr(holder, attribute)
        new = rewrite_principal(old, arn, unique_id)
        if new is not None:
            rewrites.append(Rewrite(holder, attribute, old, new))
    return rewrites


def _dates_to_java(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                java_date(datetime.fromtimestamp(item, UTC))
                if key.endswith("Date") and isinstance(item, (int, float))
                else _dates_to_java(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_dates_to_java(item) for item in value]
    return value


_BINARY_OUTPUTS: Final = frozenset({"CiphertextBlob", "Plaintext", "PublicKey", "SecretBinary"})


def _response_elements(request: ApiRequest, caller: Caller, response: Response) -> Any:
    if not response.ok:
        return None
    if request.service == "iam":
        if request.action != "CreateRole":
            return None
        iam = iam_backends[caller.account_id][PARTITION]
        name = request.params.get("RoleName")
        role = next((r for r in list(iam.roles.values()) if r.name == name), None)
        if role is None:
            return None
        return {
            "role": {
                "arn": role.arn,
                "roleId": role.id,
                "roleName": role.name,
                "path": role.path,
                "createDate": java_date(role.create_date),
                "assumeRolePolicyDocument": quote(role.assume_role_policy_document, safe=""),
            }
        }
    payload = {k: v for k, v in response.json().items() if k not in _BINARY_OUTPUTS}
    if not payload:
        return None
    elements = hide_sensitive(_dates_to_java(lower_camel(payload)))
    metadata = elements.get("keyMetadata")
    if request.action == "CreateKey" and isinstance(metadata, dict):
        # moto leaves these null when the caller relied on AWS's defaults.
        metadata["keyUsage"] = metadata.get("keyUsage") or "ENCRYPT_DECRYPT"
        metadata["multiRegion"] = bool(metadata.get("multiRegion"))
    # The docs match `responseElements.arn`; DeleteSecret's real sample has `aRN`.
    if (
        request.service == "secretsmanager"
        and request.action != "DeleteSecret"
        and "aRN" in elements
    ):
        elements["arn"] = elements.pop("aRN")
    return elements


def _kms_resources(request: ApiRequest, caller: Caller, response: Response) -> list[dict[str, str]]:
    arn: str | None = None
    if request.action == "CreateKey" and response.ok:
        arn = (response.json().get("KeyMetadata") or {}).get("Arn")
    else:
        key_id = request.params.get("KeyId")
        if isinstance(key_id, str) and ":key/" in key_id:
            arn = key_id
        elif isinstance(key_id, str) and key_id and not key_id.startswith(("arn:", "alias/")):
            arn = f"arn:{PARTITION}:kms:{request.region}:{caller.account_id}:key/{key_id}"
    if not arn:
        return []
    return [{"accountId": caller.account_id, "type": "AWS::KMS::Key", "ARN": arn}]
