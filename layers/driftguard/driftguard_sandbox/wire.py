"""AWS wire-protocol plumbing for the sandbox middleware (no AWS behaviour here).

Reading a signed request (service and region from the SigV4 credential scope,
action from `X-Amz-Target` or the form body), writing AWS-shaped error responses
(JSON for the JSON protocols: KMS, Secrets Manager, DynamoDB, SQS; XML for the
query protocol: IAM, STS, SNS), reading errors back out of moto's responses, and
walking a policy document's statements. Kept apart from `aws_gaps` and `chaos`
so those read as lists of behaviours, not of parsers.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any, Final, Literal
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape, unescape

Protocol = Literal["json", "query", "other"]
WsgiHeaders = list[tuple[str, str]]

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
_XML_CODE = re.compile(r"<Code>(.*?)</Code>", re.S)
_XML_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.S)

# The xmlns of each query-protocol service's error responses.
XML_NAMESPACES: Final = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
}
HIDDEN: Final = "HIDDEN_DUE_TO_SECURITY_REASONS"
# Request/response members CloudTrail never logs in clear (lowerCamelCase names).
SENSITIVE_MEMBERS: Final = frozenset(
    {
        "secretString",
        "secretBinary",
        "plaintext",
        "password",
        "oldPassword",
        "newPassword",
        "secretAccessKey",
        "privateKeyPlaintext",
        "randomPassword",
    }
)


@dataclass(frozen=True)
class ApiRequest:
    """One signed AWS API request as the middleware sees it."""

    service: str
    region: str
    access_key: str
    action: str
    protocol: Protocol
    params: dict[str, Any]
    user_agent: str


def signing_service(environ: dict[str, Any]) -> str | None:
    """The service a SigV4 header is scoped to (cheap: headers only), else None."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(3).lower() if match else None


def read_request(environ: dict[str, Any]) -> ApiRequest | None:
    """Parse a SigV4-signed request; None for anything else (moto-api, unsigned).

    The body is read once and put back as a fresh stream so moto can read it too.
    Only call it for services whose bodies are small API documents (never S3
    streaming uploads, whose chunked bodies carry no Content-Length).
    """
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None
    access_key, region, service = match.groups()
    body = _read_body(environ)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    params: dict[str, Any] = {}
    protocol: Protocol = "other"
    action = ""
    if target:
        protocol = "json"
        action = target.rpartition(".")[2]
        try:
            loaded = json.loads(body or b"{}")
        except ValueError:
            loaded = {}
        params = loaded if isinstance(loaded, dict) else {}
    elif environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        protocol = "query"
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        action = next((value for key, value in pairs if key == "Action"), "")
        params = form_to_params(pairs)
    return ApiRequest(
        service=service.lower(),
        region=region,
        access_key=access_key,
        action=action,
        protocol=protocol,
        params=params,
        user_agent=environ.get("HTTP_USER_AGENT", ""),
    )


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def form_to_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Query-protocol form fields to nested API parameters.

    `Tags.member.1.Key=a` becomes `{"Tags": [{"Key": "a"}]}`; `Action`/`Version`
    are protocol, not parameters.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        if key in ("Action", "Version"):
            continue
        node = root
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    collapsed = _collapse(root)
    return collapsed if isinstance(collapsed, dict) else {}


def _collapse(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {"member"} and isinstance(node["member"], dict):
        node = node["member"]
    if node and all(key.isdigit() for key in node):
        return [_collapse(node[key]) for key in sorted(node, key=int)]
    return {key: _collapse(value) for key, value in node.items()}


def lower_camel(value: Any) -> Any:
    """API member names to CloudTrail's: first letter lowered, recursively.

    Deliberately naive, like CloudTrail itself: `ARN` becomes `aRN` and
    `AWSAccountId` becomes `aWSAccountId` (both spellings occur in real events).
    """
    if isinstance(value, dict):
        return {(key[:1].lower() + key[1:]): lower_camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [lower_camel(item) for item in value]
    return value


def hide_sensitive(value: Any) -> Any:
    """Replace secret material (lowerCamelCase member names) as CloudTrail does."""
    if isinstance(value, dict):
        return {
            key: HIDDEN if key in SENSITIVE_MEMBERS else hide_sensitive(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [hide_sensitive(item) for item in value]
    return value


# --------------------------------------------------------------------------- policies


def as_list(value: Any) -> list[Any]:
    """A policy element's value as a list (IAM allows a single value or a list)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy document's statements (a single statement may stand alone)."""
    found = document.get("Statement", [])
    if isinstance(found, dict):
        found = [found]
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


# --------------------------------------------------------------------------- responses


@dataclass(frozen=True)
class Response:
    """A buffered WSGI response."""

    status: str
    headers: WsgiHeaders
    body: bytes

    @property
    def status_code(self) -> int:
        return int(self.status.split(" ", 1)[0])

    @property
    def ok(self) -> bool:
        return self.status_code < 300

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def json(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def request_id(self) -> str:
        return (
            self.header("x-amzn-RequestId") or self.header("x-amz-request-id") or str(uuid.uuid4())
        )

    def with_json(self, payload: dict[str, Any]) -> Response:
        """The same response with another JSON body."""
        body = json.dumps(payload).encode()
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        return replace(self, headers=[*headers, ("Content-Length", str(len(body)))], body=body)

    def error(self) -> tuple[str, str] | None:
        """(code, message) of a failed call, in either protocol."""
        if self.ok:
            return None
        text = self.body.decode("utf-8", errors="replace")
        if text.lstrip().startswith("<"):
            code = _XML_CODE.search(text)
            message = _XML_MESSAGE.search(text)
            return (
                unescape(code.group(1)) if code else f"HTTP{self.status_code}",
                unescape(message.group(1)) if message else "",
            )
        payload = self.json()
        code_text = str(payload.get("__type") or payload.get("code") or f"HTTP{self.status_code}")
        return (
            code_text.rpartition("#")[2],
            str(payload.get("message") or payload.get("Message") or ""),
        )


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase.upper()}"


def json_error(
    code: str, message: str, *, message_key: str = "message", status: int = 400
) -> Response:
    """An error as the JSON protocols (KMS, Secrets Manager, DynamoDB, SQS) send it."""
    body = json.dumps({"__type": code, message_key: message}).encode()
    request_id = str(uuid.uuid4())
    return Response(
        status=_status_line(status),
        headers=[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", request_id),
        ],
        body=body,
    )


def xml_error(code: str, message: str, *, namespace: str, status: int = 400) -> Response:
    """An error as the query protocol (IAM, STS, SNS) sends it."""
    request_id = str(uuid.uuid4())
    kind = "Receiver" if status >= 500 else "Sender"  # whose fault, as AWS says it
    body = (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return Response(
        status=_status_line(status),
        headers=[
            ("Content-Type", "text/xml"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", request_id),
        ],
        body=body,
    )
