"""EKS Pod Identity associations, which moto 5.2.5 lacks (its EKS has clusters, node
groups and Fargate profiles; the association calls answer 404 "Not yet implemented").

Behaviour 10 of `driftguard_sandbox.aws_gaps`, which routes EKS requests here:
CreatePodIdentityAssociation, DescribePodIdentityAssociation,
ListPodIdentityAssociations (filtered by namespace and service account, paged) and
DeletePodIdentityAssociation, as the EKS API reference describes them (REST-JSON under
`/clusters/{name}/pod-identity-associations[/{associationId}]`; the answers'
members as its `PodIdentityAssociation` and `PodIdentityAssociationSummary` types).
The cluster must exist in moto (else ResourceNotFoundException, as EKS answers); one
association per cluster, namespace and service account (else ResourceInUseException);
deleting a cluster deletes its associations (EKS API reference, DeleteCluster).
Associations are kept per account and region, and forgotten when moto is reset.

EKS is REST-JSON: the operation is the method and path, not a header. `rest_request`
names it, with the path, query and body parameters merged as CloudTrail records them
in `requestParameters` (e.g. `clusterName`, `namespace`, `serviceAccount`,
`roleArn`; `associationId`), so the middleware's CloudTrail events (behaviour 5)
cover EKS's mutating calls like the other services'.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

from moto.eks.models import eks_backends

from driftguard_sandbox.wire import ApiRequest, Response

__all__ = ["PodIdentityAssociations", "rest_request"]

PARTITION: Final = "aws"
_CLUSTERS: Final = r"/clusters"
_CLUSTER: Final = r"/clusters/(?P<clusterName>[^/]+)"
_ASSOCIATIONS: Final = _CLUSTER + r"/pod-identity-associations"
_ASSOCIATION: Final = _ASSOCIATIONS + r"/(?P<associationId>[^/]+)"

# (method, path) -> operation: the EKS calls the sandbox names (EKS API reference,
# each operation's "Request Syntax"). Cluster calls are named for their CloudTrail
# events and answered by moto; the association calls are answered here.
ROUTES: Final[tuple[tuple[str, re.Pattern[str], str], ...]] = tuple(
    (method, re.compile(f"^{path}/?$"), operation)
    for method, path, operation in (
        ("POST", _CLUSTERS, "CreateCluster"),
        ("GET", _CLUSTERS, "ListClusters"),
        ("GET", _CLUSTER, "DescribeCluster"),
        ("DELETE", _CLUSTER, "DeleteCluster"),
        ("POST", _ASSOCIATIONS, "CreatePodIdentityAssociation"),
        ("GET", _ASSOCIATIONS, "ListPodIdentityAssociations"),
        ("GET", _ASSOCIATION, "DescribePodIdentityAssociation"),
        ("DELETE", _ASSOCIATION, "DeletePodIdentityAssociation"),
    )
)
# The cluster calls' path parameter is `name` in the API (and in CloudTrail).
_CLUSTER_OPERATIONS: Final = frozenset({"DescribeCluster", "DeleteCluster"})
_SUMMARY: Final = (
    "clusterName",
    "namespace",
    "serviceAccount",
    "associationArn",
    "associationId",
)
DEFAULT_PAGE: Final = 100


def rest_request(environ: dict[str, Any], request: ApiRequest) -> ApiRequest:
    """`request` with its operation and parameters read from the method, the path, the
    query string and the JSON body (the body `read_request` buffered)."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = unquote(str(environ.get("PATH_INFO", "")))
    for route_method, pattern, operation in ROUTES:
        match = pattern.match(path)
        if match is None or route_method != method:
            continue
        params: dict[str, Any] = dict(parse_qsl(str(environ.get("QUERY_STRING", ""))))
        params |= _body(environ)
        path_params = match.groupdict()
        if operation in _CLUSTER_OPERATIONS:
            path_params = {"name": path_params.pop("clusterName")}
        return replace(request, action=operation, params=params | path_params)
    return request


def _body(environ: dict[str, Any]) -> dict[str, Any]:
    stream = environ.get("wsgi.input")
    raw = stream.getvalue() if isinstance(stream, io.BytesIO) else b""
    try:
        loaded = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _response(payload: dict[str, Any], status: str = "200 OK") -> Response:
    body = json.dumps(payload).encode()
    return Response(
        status=status,
        headers=[
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
        body=body,
    )


def _error(code: str, status: str, message: str, **members: str) -> Response:
    """An EKS error: the code in `x-amzn-ErrorType` (as EKS sends it; `__type` too, for
    the middleware's own reading of errors), the message and the named resources."""
    response = _response({"__type": code, "message": message, **members}, status)
    return replace(response, headers=[*response.headers, ("x-amzn-ErrorType", code)])


def _no_cluster(name: str) -> Response:
    # moto's own wording for a missing cluster (CLUSTER_NOT_FOUND_MSG), as EKS says it.
    message = f"No cluster found for name: {name}."
    return _error("ResourceNotFoundException", "404 NOT FOUND", message, clusterName=name)


class PodIdentityAssociations:
    """Behaviour 10: the associations of every account and region."""

    def __init__(self) -> None:
        # (account, region) -> association id -> the association as EKS describes it
        self._associations: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._associations.clear()

    def answer(
        self, request: ApiRequest, account: str, forward: Callable[[], Response]
    ) -> Response:
        """An association call answered here; any other EKS call by moto (`forward`)."""
        handler = {
            "CreatePodIdentityAssociation": self._create,
            "DescribePodIdentityAssociation": self._describe,
            "ListPodIdentityAssociations": self._list,
            "DeletePodIdentityAssociation": self._delete,
        }.get(request.action)
        if handler is None:
            response = forward()
            if request.action == "DeleteCluster" and response.ok:
                self._forget_cluster(account, request.region, str(request.params.get("name")))
            return response
        cluster = str(request.params.get("clusterName", ""))
        if not _cluster_exists(account, request.region, cluster):
            return _no_cluster(cluster)
        with self._lock:
            here = self._associations.setdefault((account, request.region), {})
            return handler(here, account, request)

    def _forget_cluster(self, account: str, region: str, cluster: str) -> None:
        with self._lock:
            here = self._associations.get((account, region), {})
            for association_id in [i for i, a in here.items() if a["clusterName"] == cluster]:
                del here[association_id]

    @staticmethod
    def _create(here: dict[str, dict[str, Any]], account: str, request: ApiRequest) -> Response:
        params = request.params
        missing = [m for m in ("namespace", "serviceAccount", "roleArn") if not params.get(m)]
        if missing:
            return _error(
                "InvalidParameterException", "400 BAD REQUEST", f"{missing[0]} is required"
            )
        cluster, namespace, account_name = (
            str(params["clusterName"]),
            str(params["namespace"]),
            str(params["serviceAccount"]),
        )
        if any(
            (a["clusterName"], a["namespace"], a["serviceAccount"])
            == (cluster, namespace, account_name)
            for a in here.values()
        ):
            return _error(
                "ResourceInUseException",
                "409 CONFLICT",
                "Association already exists",  # UNVERIFIED wording
                clusterName=cluster,
            )
        association_id = "a-" + uuid.uuid4().hex[:17]
        now = time.time()
        association = {
            "clusterName": cluster,
            "namespace": namespace,
            "serviceAccount": account_name,
            "roleArn": str(params["roleArn"]),
            "associationArn": f"arn:{PARTITION}:eks:{request.region}:{account}:"
            f"podidentityassociation/{cluster}/{association_id}",
            "associationId": association_id,
            "tags": dict(params.get("tags") or {}),
            "createdAt": now,
            "modifiedAt": now,
            "disableSessionTags": bool(params.get("disableSessionTags", False)),
        }
        here[association_id] = association
        return _response({"association": association})

    @staticmethod
    def _find(here: dict[str, dict[str, Any]], request: ApiRequest) -> dict[str, Any] | None:
        found = here.get(str(request.params.get("associationId", "")))
        if found is None or found["clusterName"] != request.params.get("clusterName"):
            return None
        return found

    def _describe(
        self, here: dict[str, dict[str, Any]], account: str, request: ApiRequest
    ) -> Response:
        found = self._find(here, request)
        return _response({"association": found}) if found else _no_association(request)

    def _delete(
        self, here: dict[str, dict[str, Any]], account: str, request: ApiRequest
    ) -> Response:
        found = self._find(here, request)
        if found is None:
            return _no_association(request)
        del here[found["associationId"]]
        return _response({"association": found})

    @staticmethod
    def _list(here: dict[str, dict[str, Any]], account: str, request: ApiRequest) -> Response:
        params = request.params
        matching = [
            {member: a[member] for member in _SUMMARY}
            for a in here.values()
            if a["clusterName"] == params["clusterName"]
            and params.get("namespace") in (None, a["namespace"])
            and params.get("serviceAccount") in (None, a["serviceAccount"])
        ]
        start = int(params.get("nextToken") or 0)
        size = int(params.get("maxResults") or DEFAULT_PAGE)
        page: dict[str, Any] = {"associations": matching[start : start + size]}
        if start + size < len(matching):
            page["nextToken"] = str(start + size)
        return _response(page)


def _no_association(request: ApiRequest) -> Response:
    association_id = str(request.params.get("associationId", ""))
    return _error(
        "ResourceNotFoundException",
        "404 NOT FOUND",
        f"No Pod Identity Association found for id {association_id}",  # UNVERIFIED wording
        clusterName=str(request.params.get("clusterName", "")),
    )


def _cluster_exists(account: str, region: str, name: str) -> bool:
    """Whether moto holds the cluster (looking creates no account or region backend)."""
    if account not in eks_backends or region not in eks_backends[account]:
        return False
    return name in eks_backends[account][region].clusters
