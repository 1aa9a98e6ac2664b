"""The rules of an access path's links (pure, no I/O): one function per link, each
returning whether it holds, why, and the concrete fix when it does not. The trust link
is in ``driftguard.path_trust``, the policy evaluation in ``driftguard.path_grants``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from driftguard.arns import Arn
from driftguard.errors import PolicyParseError
from driftguard.path_grants import Request, decide, principal_ids
from driftguard.path_model import AccessPath, Irsa, PathFacts, PodIdentity, ReplicaFacts
from driftguard.path_trust import (
    Check,
    irsa_statement,
    irsa_trust,
    oidc_host,
    pod_identity_statement,
    pod_identity_trust,
)
from driftguard.policy import Policy
from driftguard.vocabulary import Link

__all__ = ["KEY_ENABLED", "Check", "Place", "check_all", "replica_secret_arn"]

KEY_ENABLED: Final = "Enabled"
GET_SECRET_VALUE: Final = "secretsmanager:GetSecretValue"
DECRYPT: Final = "kms:Decrypt"


def check_all(path: AccessPath, facts: PathFacts) -> tuple[tuple[Link, Check], ...]:
    return tuple((link, rule(path, facts)) for link, rule in RULES.items())


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Place:
    """Where the pod reads the secret: the secret's region, or one of its replicas'
    (each region's copy is encrypted with a key of that region)."""

    region: str
    secret_arn: str
    key_arn: str


def primary(path: AccessPath, facts: PathFacts) -> Place:
    return Place(facts.region, path.secret_arn, path.key_arn)


def via_secrets_manager(region: str) -> str:
    return f"secretsmanager.{region}.amazonaws.com"


def _context(path: AccessPath) -> dict[str, str]:
    account = Arn.parse(path.role_arn).account
    return {"aws:principalarn": path.role_arn, "aws:principalaccount": account}


def secret_request(path: AccessPath, place: Place) -> Request:
    return Request(path.role_arn, GET_SECRET_VALUE, place.secret_arn, _context(path))


def decrypt_request(path: AccessPath, place: Place) -> Request:
    """kms:Decrypt as Secrets Manager calls it for the role (with the secret's ARN as
    encryption context)."""
    context = _context(path) | {
        "kms:viaservice": via_secrets_manager(place.region),
        "kms:calleraccount": Arn.parse(path.role_arn).account,
        "kms:encryptioncontext:secretarn": place.secret_arn,
    }
    return Request(path.role_arn, DECRYPT, place.key_arn, context)


def _via_condition(place: Place) -> dict[str, Any]:
    return {"StringEquals": {"kms:ViaService": via_secrets_manager(place.region)}}


def identity_statements(path: AccessPath, place: Place) -> list[dict[str, Any]]:
    return [
        {"Effect": "Allow", "Action": GET_SECRET_VALUE, "Resource": place.secret_arn},
        {
            "Effect": "Allow",
            "Action": DECRYPT,
            "Resource": place.key_arn,
            "Condition": _via_condition(place),
        },
    ]


def _grant_to_role(path: AccessPath, action: str, condition: dict[str, Any]) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": path.role_arn},
        "Action": action,
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps(statement)


def _parse(document: Mapping[str, Any]) -> Policy | str:
    try:
        return Policy.parse(document)
    except PolicyParseError as exc:
        return str(exc)


# --------------------------------------------------------------------------- the role


def role_exists(path: AccessPath, facts: PathFacts) -> Check:
    if facts.role_exists:
        return Check(True, f"{path.role_arn} exists")
    return Check(
        False,
        f"{path.role_arn} does not exist",
        f"create the role {path.role_arn}; the links below say what it must trust and allow",
    )


def trust(path: AccessPath, facts: PathFacts) -> Check:
    access = path.access
    needed = irsa_statement(access) if isinstance(access, Irsa) else pod_identity_statement()
    fix = f"put this statement in the role's trust policy: {json.dumps(needed)}"
    if facts.trust_policy is None:
        return Check(False, "the role's trust policy could not be read", fix)
    policy = _parse(facts.trust_policy)
    if isinstance(policy, str):
        return Check(False, f"the role's trust policy does not parse: {policy}", fix)
    if isinstance(access, Irsa):
        return irsa_trust(access, policy)
    return pod_identity_trust(access, policy)


def binding(path: AccessPath, facts: PathFacts) -> Check:
    access = path.access
    if isinstance(access, PodIdentity):
        return pod_identity_binding(path, access, facts)
    provider = access.oidc_provider_arn
    if facts.oidc_provider_exists:
        return Check(True, f"{provider} exists")
    return Check(
        False,
        f"{provider} does not exist: no pod can trade its token for the role",
        f"create it: aws iam create-open-id-connect-provider "
        f"--url https://{oidc_host(provider)} --client-id-list sts.amazonaws.com",
    )


def pod_identity_binding(path: AccessPath, access: PodIdentity, facts: PathFacts) -> Check:
    cluster = Arn.parse(access.cluster_arn)
    name, who = (
        cluster.resource.removeprefix("cluster/"),
        f"{access.namespace}/{access.service_account}",
    )
    if facts.pod_identity_associated:
        return Check(True, f"{name} associates {who} with the role")
    return Check(
        False,
        f"no Pod Identity association of {name} maps {who} to the role",
        f"aws eks create-pod-identity-association --region {cluster.region} "
        f"--cluster-name {name} --namespace {access.namespace} "
        f"--service-account {access.service_account} --role-arn {path.role_arn}",
    )


def identity_policy(path: AccessPath, facts: PathFacts) -> Check:
    return _identity(path, facts, primary(path, facts))


def _identity(path: AccessPath, facts: PathFacts, place: Place) -> Check:
    """The role's policies allow both calls, and so does its boundary when it has one
    (an action is allowed only where both allow it)."""
    fix = "add to the role's policies: " + ", ".join(
        json.dumps(s) for s in identity_statements(path, place)
    )
    named = [(f"identity policy {i + 1}", d) for i, d in enumerate(facts.identity_policies)]
    layers = [("the role's policies", named, fix)]
    if facts.permissions_boundary is not None:
        boundary = [("the permissions boundary", facts.permissions_boundary)]
        layers.append(("the permissions boundary", boundary, fix.replace("policies", "boundary")))
    for layer, documents, layer_fix in layers:
        parsed: list[tuple[str, Policy]] = []
        for name, document in documents:
            policy = _parse(document)
            if isinstance(policy, str):
                return Check(False, f"{name} does not parse: {policy}", layer_fix)
            parsed.append((name, policy))
        for request in (secret_request(path, place), decrypt_request(path, place)):
            verdict = decide(parsed, request, None)
            if not verdict.allowed:
                return Check(False, f"{layer}: {verdict.why}", layer_fix)
    return Check(True, f"the role may call {GET_SECRET_VALUE} and {DECRYPT}")


# --------------------------------------------------------------------------- the secret


def secret_exists(path: AccessPath, facts: PathFacts) -> Check:
    if not facts.secret_exists:
        return Check(False, f"{path.secret_arn} does not exist", "recreate the secret")
    if facts.secret_deletion_scheduled:
        return Check(
            False,
            f"{path.secret_arn} is scheduled for deletion",
            f"aws secretsmanager restore-secret --secret-id {path.secret_arn}",
        )
    return Check(True, f"{path.secret_arn} exists")


def secret_policy(path: AccessPath, facts: PathFacts) -> Check:
    fix = f"add to the secret's resource policy: {_grant_to_role(path, GET_SECRET_VALUE, {})}"
    if facts.secret_policy is None:
        return Check(False, "the secret has no resource policy", fix)
    policy = _parse(facts.secret_policy)
    if isinstance(policy, str):
        return Check(False, f"the secret's policy does not parse: {policy}", fix)
    request, role = secret_request(path, primary(path, facts)), principal_ids(path.role_arn)
    verdict = decide([("the secret's policy", policy)], request, role)
    return Check(verdict.allowed, verdict.why, fix)


def secret_key(path: AccessPath, facts: PathFacts) -> Check:
    key_id = path.key_arn.rsplit("/", 1)[-1]
    named = facts.secret_kms_key_id
    if named in (path.key_arn, key_id):
        return Check(True, f"the secret is encrypted with {path.key_arn}")
    what = (
        "the AWS managed key aws/secretsmanager, which no other account may use"
        if named is None
        else named
    )
    return Check(
        False,
        f"the secret is encrypted with {what}, not {path.key_arn}",
        f"aws secretsmanager update-secret --secret-id {path.secret_arn} "
        f"--kms-key-id {path.key_arn}",
    )


# --------------------------------------------------------------------------- the key


def key_state(path: AccessPath, facts: PathFacts) -> Check:
    return _key_state(path.key_arn, facts.key_state)


def _key_state(key: str, state: str | None, region_option: str = "") -> Check:
    """`region_option`: ` --region R` when the key is not in the secret's region."""
    if state == KEY_ENABLED:
        return Check(True, f"{key} is enabled")
    if state is None:
        return Check(False, f"{key} does not exist", "declare the path with an existing key")
    kms = f"aws kms{region_option}"
    if state == "PendingDeletion":
        fix = f"{kms} cancel-key-deletion --key-id {key} && {kms} enable-key --key-id {key}"
    else:
        fix = f"{kms} enable-key --key-id {key}"
    return Check(False, f"{key} is {state}", fix)


def key_policy(path: AccessPath, facts: PathFacts) -> Check:
    return _key_policy(path, primary(path, facts), facts.key_policy, "the key's policy")


def _key_policy(path: AccessPath, place: Place, document: Any, name: str) -> Check:
    fix = f"add to {name}: " + _grant_to_role(path, DECRYPT, _via_condition(place))
    if document is None:
        return Check(False, f"{name} could not be read", fix)
    policy = _parse(document)
    if isinstance(policy, str):
        return Check(False, f"{name} does not parse: {policy}", fix)
    request = decrypt_request(path, place)
    verdict = decide([(name, policy)], request, principal_ids(path.role_arn))
    return Check(verdict.allowed, verdict.why, fix)


# --------------------------------------------------------------------------- replicas


def replica_keys(path: AccessPath, facts: PathFacts) -> Check:
    """Each replica keeps a path in its region: replicated, with a key that exists, is
    enabled, lets the role decrypt there, and that the role's policies allow."""
    checks = [_replica(path, facts, replica) for replica in facts.replicas]
    broken = next((check for check in checks if not check.ok), None)
    if broken is not None:
        return broken
    return Check(True, "; ".join(check.reason for check in checks) or "no replicas")


def replica_secret_arn(secret_arn: str, region: str) -> str:
    """A replica's ARN: the primary's, in the replica's region."""
    arn = Arn.parse(secret_arn)
    return f"arn:{arn.partition}:secretsmanager:{region}:{arn.account}:{arn.resource}"


def _replica(path: AccessPath, facts: PathFacts, replica: ReplicaFacts) -> Check:
    region, key = replica.region, replica.key_id
    where = f"the replica in {region}"
    rereplicate = (
        f"aws secretsmanager remove-regions-from-replication --secret-id {path.secret_arn} "
        f"--remove-replica-regions {region} && aws secretsmanager replicate-secret-to-regions "
        f"--secret-id {path.secret_arn} --add-replica-regions Region={region},KmsKeyId="
    )
    if replica.status == "Failed":
        message = f": {replica.status_message}" if replica.status_message else ""
        fix = rereplicate + (key or "KEY")
        return Check(False, f"replication to {region} failed{message}", fix)
    if key is None:
        if Arn.parse(path.role_arn).account == Arn.parse(path.secret_arn).account:
            return Check(True, f"{where} uses aws/secretsmanager, which the role's account may use")
        return Check(
            False,
            f"{where} is encrypted with the AWS managed key aws/secretsmanager, "
            "which no other account may use",
            rereplicate + f"KEY (a key in {region} whose policy lets {path.role_arn} decrypt)",
        )
    if replica.key_state is None:
        return Check(
            False,
            f"{where} is encrypted with {key}, which does not exist",
            rereplicate + f"KEY (an existing key in {region})",
        )
    place = Place(region, replica_secret_arn(path.secret_arn, region), key)
    for check in (
        _key_state(key, replica.key_state, f" --region {region}"),
        _key_policy(path, place, replica.key_policy, f"the policy of {key}"),
        _identity(path, facts, place),
    ):
        if not check.ok:
            return Check(False, f"{where}: {check.reason}", check.fix)
    return Check(True, f"{where} is encrypted with {key}, which lets the role decrypt")


RULES: Final[Mapping[Link, Callable[[AccessPath, PathFacts], Check]]] = {
    Link.ROLE_EXISTS: role_exists,
    Link.TRUST: trust,
    Link.BINDING: binding,
    Link.IDENTITY_POLICY: identity_policy,
    Link.SECRET_EXISTS: secret_exists,
    Link.SECRET_POLICY: secret_policy,
    Link.SECRET_KEY: secret_key,
    Link.KEY_STATE: key_state,
    Link.KEY_POLICY: key_policy,
    Link.REPLICA_KEYS: replica_keys,
}
