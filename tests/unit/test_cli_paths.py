"""Access paths at the command line, without AWS: what `declare-path` accepts, what
`adopt-path` reads from a trust policy (a table), the answers `verify-path` and `paths`
build from verdicts, their JSON shape, and their views at 80 columns."""

from __future__ import annotations

import argparse
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rich.console import Console, RenderableType

from driftguard.errors import ResourceNotFoundError
from driftguard.model import AuditEntry
from driftguard.path_check import PathVerdict
from driftguard.path_hygiene import Hygiene
from driftguard.path_model import AccessPath, Grant, Irsa, PathDeclaration, PodIdentity
from driftguard.path_store import PathStatus
from driftguard.paths import LinkResult
from driftguard.vocabulary import AuditAction, Link, Mode, PathFinding
from driftguard_cli import path_inputs
from driftguard_cli.exit_codes import EXIT_USAGE
from driftguard_cli.path_adopt import (
    AdoptionRefused,
    KeyLookup,
    PodIdentityTrust,
    default_name,
    key_lookup,
    pod_identity_from,
    trusted_access,
)
from driftguard_cli.path_answers import listed_json, path_answer, refused_answer
from driftguard_cli.path_declaring import apply_plan, changes, plan_path
from driftguard_cli.path_reads import read_existing
from driftguard_cli.path_views import declare_plan_view, paths_view, verify_view, wrapped
from driftguard_cli.report_paths import path_rows
from tests.support.cli import run_cli_full
from tests.support.fakes import FakeClock, FakeSignatures

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::111111111111:role/pod-role"
SECRET_BASE = "arn:aws:secretsmanager:us-east-1:222222222222:secret:"
SECRET = f"{SECRET_BASE}testsecret-AbCdEf"
KEY = "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
HOST = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = f"arn:aws:iam::111111111111:oidc-provider/{HOST}"
OTHER_PROVIDER = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/B"
CLUSTER = "arn:aws:eks:us-east-1:111111111111:cluster/prod"
SUBJECT = "system:serviceaccount:testnamespace:testapp"
IRSA = Irsa(PROVIDER, "testnamespace", "testapp")


def declaration(**changes: Any) -> PathDeclaration:
    base = PathDeclaration(
        name="payments",
        path=AccessPath(ROLE, SECRET, KEY, IRSA),
        mode=Mode.ENFORCE,
        version=1,
        declared_by="arn:aws:sts::333333333333:assumed-role/SecurityTeam/you",
        declared_at=T0,
    )
    return replace(base, **changes)


def render(renderable: RenderableType, width: int) -> list[str]:
    """As `Context.show` prints it at a terminal this wide (uncropped)."""
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(renderable, crop=False)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return [line.rstrip() for line in str(text).splitlines()]


def words(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


# --------------------------------------------------------------------------- input


@pytest.mark.parametrize(
    ("accept", "good", "bad"),
    [
        (path_inputs.path_name, ["payments", "team/orders-db", "a", "a.b_c"], ["", "Pay", "-a"]),
        (path_inputs.path_name, ["x" * 64], ["x" * 65, "a/", "a b"]),
        (path_inputs.path_role_arn, [ROLE, "arn:aws:iam::111111111111:role/p/x"], [KEY]),
        (path_inputs.path_role_arn, [], ["arn:aws:iam::1:role/x", "pod-role"]),
        (path_inputs.secret_arn, [SECRET], [KEY, "testsecret", "arn:aws:secretsmanager::2:x"]),
        (path_inputs.key_reference, [KEY, "alias/app", "1234abcd-12ab-34cd-56ef-1234567890ab"], []),
        (path_inputs.key_reference, ["arn:aws:kms:us-east-1:333333333333:alias/app"], [SECRET]),
        (path_inputs.key_reference, [], ["alias/", "app", "arn:aws:kms:us-east-1:3:key/x"]),
        (path_inputs.oidc_provider_arn, [PROVIDER], [ROLE, f"https://{HOST}"]),
        (path_inputs.cluster_arn, [CLUSTER], ["prod", "arn:aws:eks:us-east-1:111111111111:x"]),
        (path_inputs.policy_arn, ["arn:aws:iam::aws:policy/ReadOnlyAccess"], [ROLE]),
        (path_inputs.policy_arn, ["arn:aws:iam::111111111111:policy/boundary"], ["boundary"]),
        (path_inputs.namespace, ["testnamespace", "kube-system"], ["Test", "a_b", "-a"]),
        (path_inputs.service_account, ["testapp", "app.v2"], ["App", "a:b", ""]),
    ],
)
def test_each_input_is_checked_at_the_edge(accept: Any, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert accept(value) == value
    for value in bad:
        with pytest.raises(argparse.ArgumentTypeError):
            accept(value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["declare-path", "payments", "--role", KEY], "not an IAM role ARN"),
        (
            [
                *("declare-path", "payments", "--role", ROLE, "--secret", SECRET, "--key", KEY),
                *("--irsa-provider", PROVIDER, "--pod-identity-cluster", CLUSTER),
                *("--namespace", "n", "--service-account", "s"),
            ],
            "not allowed with argument",
        ),
        (
            [
                *("declare-path", "payments", "--role", ROLE, "--secret", SECRET, "--key", KEY),
                *("--namespace", "n", "--service-account", "s"),
            ],
            "one of the arguments --irsa-provider --pod-identity-cluster is required",
        ),
        (["declare-path", "Bad Name"], "not a path name"),
        (["adopt-path", ROLE, KEY], "not a Secrets Manager secret ARN"),
        (["adopt-path", ROLE, SECRET, "--cluster", "prod"], "not an EKS cluster ARN"),
        (["verify-path"], "one of the arguments NAME --all is required"),
        (["verify-path", "payments", "--all"], "not allowed with argument"),
    ],
)
def test_a_bad_command_line_is_exit_2_before_anything_runs(argv: list[str], message: str) -> None:
    code, out, err = run_cli_full(*argv)
    assert code == EXIT_USAGE and out == ""
    assert message in err


# --------------------------------------------------------------------------- adopt-path


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def irsa(
    provider: str = PROVIDER, condition: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    host = provider.split(":oidc-provider/", 1)[1]
    default = {"StringEquals": {f"{host}:sub": SUBJECT, f"{host}:aud": "sts.amazonaws.com"}}
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": default if condition is None else condition,
    } | extra


POD_IDENTITY = {
    "Effect": "Allow",
    "Principal": {"Service": "pods.eks.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession"],
}
EC2 = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}


@pytest.mark.parametrize(
    ("document", "found"),
    [
        (trust(irsa()), IRSA),
        # The sub key's case does not matter; a second, identical statement is one path.
        (trust(irsa(condition={"StringEquals": {f"{HOST.upper()}:SUB": SUBJECT}})), IRSA),
        (trust(irsa(), irsa()), IRSA),
        (trust(irsa(), EC2), IRSA),
        (trust(POD_IDENTITY), PodIdentityTrust()),
        (trust(irsa(Effect="Deny"), POD_IDENTITY), PodIdentityTrust()),
        (
            trust(irsa(condition={"StringLike": {f"{HOST}:sub": "system:serviceaccount:t:*"}})),
            "StringLike 'system:serviceaccount:t:*': any service account",
        ),
        (
            trust(irsa(condition={"StringEquals": {f"{HOST}:sub": "system:serviceaccount:t:*"}})),
            "any service account of the cluster may become the role (a finding)",
        ),
        (
            trust(irsa(condition={"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"}})),
            f"has no exact {HOST.lower()}:sub condition",
        ),
        (trust(irsa(condition={})), "--irsa-provider PROVIDER_ARN --namespace NS"),
        (
            trust(
                irsa(
                    condition={
                        "StringEquals": {f"{HOST}:sub": [SUBJECT, "system:serviceaccount:o:x"]}
                    }
                )
            ),
            "trusts 2 service accounts",
        ),
        (trust(irsa(), irsa(OTHER_PROVIDER)), "trusts 2 OIDC providers"),
        (trust(irsa(), POD_IDENTITY), "trusts both an OIDC provider (IRSA) and"),
        (trust(EC2), "no pod can get this role"),
        (
            trust(irsa(condition={"StringEquals": {f"{HOST}:sub": "testapp"}})),
            "not system:serviceaccount:NAMESPACE:NAME",
        ),
    ],
)
def test_a_trust_policy_says_how_pods_get_the_role_or_adoption_refuses(
    document: dict[str, Any], found: Irsa | PodIdentityTrust | str
) -> None:
    if isinstance(found, str):
        with pytest.raises(AdoptionRefused, match=re.escape(found)):
            trusted_access(document, ROLE)
    else:
        assert trusted_access(document, ROLE) == found


def association(namespace: str, account: str, role: str = ROLE) -> dict[str, Any]:
    return {"namespace": namespace, "serviceAccount": account, "roleArn": role}


@pytest.mark.parametrize(
    ("associations", "found"),
    [
        ([association("orders", "api")], PodIdentity(CLUSTER, "orders", "api")),
        (
            [association("orders", "api"), association("x", "y", "arn:aws:iam::1:role/other")],
            PodIdentity(CLUSTER, "orders", "api"),
        ),
        # The path of a role is not part of what identifies it.
        (
            [association("orders", "api", "arn:aws:iam::111111111111:role/team/pod-role")],
            PodIdentity(CLUSTER, "orders", "api"),
        ),
        ([], "no Pod Identity association of prod hands out"),
        ([association("a", "b", "arn:aws:iam::1:role/other")], "--pod-identity-cluster"),
        ([association("orders", "api"), association("orders", "web")], "2 service accounts"),
    ],
)
def test_the_association_that_hands_out_the_role_is_the_path(
    associations: list[dict[str, Any]], found: PodIdentity | str
) -> None:
    if isinstance(found, str):
        with pytest.raises(AdoptionRefused, match=re.escape(found)):
            pod_identity_from(CLUSTER, associations, ROLE)
    else:
        assert pod_identity_from(CLUSTER, associations, ROLE) == found


@pytest.mark.parametrize(
    ("kms_key_id", "found"),
    [
        (KEY, KeyLookup("333333333333", "us-east-1", KEY)),
        ("alias/app", KeyLookup("222222222222", "us-east-1", "alias/app")),
        (
            "arn:aws:kms:eu-west-1:444455556666:alias/app",
            KeyLookup("444455556666", "eu-west-1", "arn:aws:kms:eu-west-1:444455556666:alias/app"),
        ),
        (None, "the AWS managed key aws/secretsmanager"),
        ("alias/aws/secretsmanager", "customer managed key"),
    ],
)
def test_the_secrets_key_is_looked_up_where_it_lives(
    kms_key_id: str | None, found: KeyLookup | str
) -> None:
    if isinstance(found, str):
        with pytest.raises(AdoptionRefused, match=re.escape(found)):
            key_lookup(kms_key_id, SECRET)
    else:
        assert key_lookup(kms_key_id, SECRET) == found


@pytest.mark.parametrize(
    ("secret", "name"),
    [
        (SECRET, "testsecret"),
        (f"{SECRET_BASE}prod/Payments_DB-XyZ123", "prod/payments_db"),
        (f"{SECRET_BASE}a+b@c=d-XyZ123", "a-b-c-d"),
    ],
)
def test_an_adopted_path_is_named_after_its_secret(secret: str, name: str) -> None:
    assert default_name(secret) == name


def _refusal(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "Call")


class FakeAws:
    """The reads adopt-path makes, each in the account and region it must be made in."""

    def __init__(self, trust: dict[str, Any], associations: list[dict[str, Any]]) -> None:
        self.trust, self.associations = trust, associations
        self.boundary: str | None = None
        self.calls: list[tuple[str, str, str | None]] = []

    def in_account(self, account: str, service: str, region: str | None = None) -> Any:
        self.calls.append((account, service, region))
        return self

    def get_role(self, RoleName: str) -> dict[str, Any]:
        if RoleName != "pod-role":
            raise _refusal("NoSuchEntity")
        role: dict[str, Any] = {"Arn": ROLE, "AssumeRolePolicyDocument": json.dumps(self.trust)}
        if self.boundary:
            role["PermissionsBoundary"] = {"PermissionsBoundaryArn": self.boundary}
        return {"Role": role}

    def describe_secret(self, SecretId: str) -> dict[str, Any]:
        return {"ARN": SECRET, "KmsKeyId": KEY.rsplit("/", 1)[1]}  # an id: the same account

    def describe_key(self, KeyId: str) -> dict[str, Any]:
        return {"KeyMetadata": {"Arn": f"arn:aws:kms:us-east-1:222222222222:key/{KeyId}"}}

    def get_paginator(self, operation: str) -> Any:
        pages = [
            {"associations": [{"associationId": str(i)} for i in range(len(self.associations))]}
        ]
        return type("Pages", (), {"paginate": lambda _self, **kw: iter(pages)})()

    def describe_pod_identity_association(self, clusterName: str, associationId: str) -> Any:
        assert clusterName == "prod"
        return {"association": self.associations[int(associationId)]}


def test_adopting_reads_each_link_in_its_account() -> None:
    aws = FakeAws(trust(irsa()), [])
    aws.boundary = "arn:aws:iam::111111111111:policy/workload-boundary"
    found = read_existing(aws, ROLE, SECRET, None)  # type: ignore[arg-type]
    key = "arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert found.path == AccessPath(ROLE, SECRET, key, IRSA)
    assert found.boundary_arn == aws.boundary
    assert aws.calls == [
        ("111111111111", "iam", None),
        ("222222222222", "secretsmanager", "us-east-1"),
        ("222222222222", "kms", "us-east-1"),
    ]


def test_adopting_a_pod_identity_role_needs_its_cluster() -> None:
    aws = FakeAws(trust(POD_IDENTITY), [association("x", "y", "arn:aws:iam::1:role/o")])
    aws.associations.append(association("orders", "api"))
    with pytest.raises(AdoptionRefused, match="give --cluster CLUSTER_ARN"):
        read_existing(aws, ROLE, SECRET, None)  # type: ignore[arg-type]
    found = read_existing(aws, ROLE, SECRET, CLUSTER)  # type: ignore[arg-type]
    assert found.path.access == PodIdentity(CLUSTER, "orders", "api")
    assert ("111111111111", "eks", "us-east-1") in aws.calls
    with pytest.raises(AdoptionRefused, match="leave --cluster out"):
        read_existing(FakeAws(trust(irsa()), []), ROLE, SECRET, CLUSTER)  # type: ignore[arg-type]
    with pytest.raises(ResourceNotFoundError, match="does not exist"):
        read_existing(aws, ROLE.replace("pod-role", "gone"), SECRET, None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- declaring


def test_a_new_version_is_the_stored_one_plus_one_and_says_what_it_changes() -> None:
    clock = FakeClock(T0)
    first = plan_path(
        None,
        name="payments",
        path=declaration().path,
        mode=Mode.DETECT,
        boundary_arn=None,
        declared_by="me",
        clock=clock,
    )
    assert (first.declaration.version, first.changes, first.declaration.signature) == (1, (), "")
    moved = AccessPath(
        ROLE, SECRET, KEY.replace("1234abcd", "9999abcd"), Irsa(PROVIDER, "n", "testapp")
    )
    second = plan_path(
        declaration(version=3),
        name="payments",
        path=moved,
        mode=Mode.DETECT,
        boundary_arn="arn:aws:iam::111111111111:policy/b",
        declared_by="me",
        clock=clock,
    )
    assert second.declaration.version == 4
    assert second.changes == (
        f"key_arn: {KEY} -> {moved.key_arn}",
        "namespace: testnamespace -> n",
        "mode: enforce -> detect",
        "boundary_arn: none -> arn:aws:iam::111111111111:policy/b",
    )
    assert changes(declaration(), declaration(declared_by="someone else", version=2)) == ()


class RecordingPaths:
    def __init__(self) -> None:
        self.put_calls: list[tuple[PathDeclaration, AuditEntry]] = []

    def put(self, declaration: PathDeclaration, audit: AuditEntry) -> None:
        self.put_calls.append((declaration, audit))


def test_a_declaration_is_signed_dated_now_and_stored_with_its_history() -> None:
    clock, signatures, paths = FakeClock(T0), FakeSignatures(), RecordingPaths()
    plan = plan_path(
        declaration(),
        name="payments",
        path=declaration().path,
        mode=Mode.ENFORCE,
        boundary_arn=None,
        declared_by="me",
        clock=clock,
    )
    clock.advance(30)  # the person took their time answering
    signed = apply_plan(plan, signatures=signatures, paths=paths, clock=clock)  # type: ignore[arg-type]
    assert signed.declared_at == T0 + timedelta(seconds=30)
    assert signed == signatures.sign(replace(signed, signature=""))  # the signature covers it
    ((stored, audit),) = paths.put_calls
    assert stored == signed
    assert (audit.arn, audit.action, audit.actor) == ("path/payments", AuditAction.DECLARED, "me")
    assert audit.before_digest and audit.after_digest == audit.before_digest  # nothing changed


# --------------------------------------------------------------------------- answers

KEY_FIX = f"aws kms enable-key --key-id {KEY}"
POLICY_FIX = "add to the key's policy: " + json.dumps(
    {
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}},
    }
)


def verdict(*broken: tuple[Link, str, str], **changes: Any) -> PathVerdict:
    wrong = {link: (reason, fix) for link, reason, fix in broken}
    links = tuple(
        LinkResult(
            link,
            link not in wrong,
            wrong.get(link, (f"{link.value} holds", ""))[0],
            wrong.get(link, ("", ""))[1],
        )
        for link in Link
    )
    return PathVerdict(declaration(**changes), links, (), T0)


BROKEN_KEY = (Link.KEY_STATE, f"{KEY} is Disabled", KEY_FIX)
BROKEN_POLICY = (Link.KEY_POLICY, "no statement of the key's policy allows kms:Decrypt", POLICY_FIX)


def test_the_first_broken_link_is_the_one_nearest_the_pod() -> None:
    answer = path_answer(verdict(BROKEN_POLICY, BROKEN_KEY))
    assert not answer.ok and answer.first_broken is not None
    assert (answer.first_broken.link, answer.first_broken.fix) == (Link.KEY_STATE, KEY_FIX)
    assert path_answer(verdict()).ok and path_answer(verdict()).first_broken is None
    refused = refused_answer(declaration(), "not signed")
    assert not refused.ok and refused.first_broken is None and refused.links == ()


def test_the_json_is_one_stable_shape() -> None:
    grant = Grant("g-1", "arn:aws:iam::444455556666:role/vendor", ("Decrypt",))
    found = Hygiene(PathFinding.BOUNDARY_MISSING, "no boundary", "put one")
    answer = path_answer(replace(verdict(BROKEN_KEY), grants=(grant,), hygiene=(found,)))
    data = answer.to_json()
    assert list(data) == [
        "name",
        "ok",
        "refused",
        "first_broken",
        "links",
        "grants",
        "hygiene",
        "role_arn",
        "secret_arn",
        "key_arn",
        "access",
        "boundary_arn",
        "mode",
        "version",
        "declared_by",
        "declared_at",
        "checked_at",
    ]
    assert data["ok"] is False and data["refused"] is None
    assert data["first_broken"] == {
        "link": "key-state",
        "reason": f"{KEY} is Disabled",
        "fix": KEY_FIX,
    }
    assert [link["link"] for link in data["links"]] == [link.value for link in Link]
    assert data["links"][7] | {"subject": ""} == {
        "link": "key-state",
        "subject": "",
        "state": "broken",
        "ok": False,
        "reason": f"{KEY} is Disabled",
        "fix": KEY_FIX,
    }
    assert {link["state"] for link in data["links"][:7]} == {"ok"}
    assert data["grants"] == [
        {"grant_id": "g-1", "grantee": grant.grantee, "operations": ["Decrypt"]}
    ]
    assert data["hygiene"] == [
        {"finding": "boundary-missing", "detail": "no boundary", "fix": "put one"}
    ]
    assert data["access"] == {
        "via": "irsa",
        "oidc_provider_arn": PROVIDER,
        "namespace": "testnamespace",
        "service_account": "testapp",
    }
    assert json.loads(json.dumps(data)) == data  # plain JSON values only
    refused = refused_answer(declaration(), "its signature does not verify").to_json()
    assert list(refused) == list(data) and refused["links"] == [] and refused["ok"] is False


def status(broken: Link | None, **changes: Any) -> PathStatus:
    fields: dict[str, Any] = {
        "name": "payments",
        "broken": broken,
        "reason": f"{KEY} is Disabled",
        "fix": KEY_FIX,
        "version": 1,
        "since": T0,
        "checked_at": T0 + timedelta(hours=1),
        "failing": (broken,) if broken else (),
    }
    return PathStatus(**(fields | changes))


def test_the_list_puts_broken_paths_first_and_never_verified_ones_as_unknown() -> None:
    declared = [
        declaration(name="a-works"),
        declaration(name="b-new"),
        declaration(name="c-broken"),
    ]
    rows = path_rows(
        declared,
        {
            "a-works": status(None, name="a-works"),
            "c-broken": status(Link.KEY_STATE, name="c-broken"),
        },
    )
    data = listed_json(rows)
    assert [(d["name"], d["ok"], d["first_broken"]) for d in data] == [
        ("c-broken", False, "key-state"),
        ("b-new", None, None),
        ("a-works", True, None),
    ]
    assert data[0]["failing"] == ["key-state"] and data[0]["fix"] == KEY_FIX
    assert data[0]["since"] == T0.isoformat()


# --------------------------------------------------------------------------- views


def fits(lines: list[str], width: int) -> None:
    """Every line fits, but for one word longer than a line (an ARN), left whole."""
    for line in lines:
        assert len(line) <= width or len(line.split()) == 1, line


def test_verify_fits_80_columns_and_wraps_the_fix_whole() -> None:
    answer = path_answer(verdict(BROKEN_POLICY, BROKEN_KEY))
    lines = render(verify_view(answer, width=80), 80)
    fits(lines, 80)
    text = words(lines)
    assert f"fix: {KEY_FIX}" in text and f"fix: {POLICY_FIX}" in text  # wrapped, not cut
    # An ARN is never broken: under its label, in the reason and in the fix.
    assert lines[4:6] == ["  key", f"    {KEY}"]
    assert sum(KEY in line for line in lines) == 3
    heads = [line.split() for line in lines if line.startswith(("  ok ", "  broken "))]
    assert [head[0] for head in heads].count("broken") == 2
    assert "key-state the key is enabled (first broken: fix it first)" in text
    assert "broken at key-state (2 links broken" in text
    assert [head[1] for head in heads] == [link.value for link in Link]  # chain order


def test_verify_without_a_terminal_keeps_each_line_whole() -> None:
    lines = render(verify_view(path_answer(verdict(BROKEN_POLICY)), width=None), 10_000)
    assert f"    fix: {POLICY_FIX}" in lines
    assert "works" not in words(lines)


def test_a_refused_path_shows_no_link() -> None:
    lines = render(verify_view(refused_answer(declaration(), "it is not signed"), 80), 80)
    text = words(lines)
    assert "refused: it is not signed" in text and "nothing was checked" in text
    assert not any(line.startswith("  ok ") for line in lines)


def test_the_list_fits_80_columns_with_every_reason_and_fix() -> None:
    declared = [declaration(name="payments"), declaration(name="orders")]
    rows = path_rows(declared, {"payments": status(Link.KEY_STATE)})
    for width in (80, 200):
        lines = render(paths_view(rows, width), width)
        fits(lines, width)
        text = words(lines)
        assert f"fix: {KEY_FIX}" in text and f"{KEY} is Disabled" in text
        assert "2 paths: 1 broken, 1 not verified yet" in text
    assert render(paths_view(rows, 200), 200)[0].split()[:3] == ["PATH", "STATE", "FIRST"]
    assert render(paths_view((), 80), 80) == ["no access paths declared"]


def test_the_plan_names_every_change_at_80_columns() -> None:
    moved = AccessPath(ROLE, SECRET, KEY.replace("1234abcd", "9999abcd"), IRSA)
    plan = plan_path(
        declaration(),
        name="payments",
        path=moved,
        mode=Mode.ENFORCE,
        boundary_arn=None,
        declared_by="me",
        clock=FakeClock(T0),
    )
    lines = render(declare_plan_view(plan, 80), 80)
    fits(lines, 80)
    text = words(lines)
    assert "declaring access path payments as version 2, enforce mode" in text
    assert f"1 changed key_arn: {KEY} -> {moved.key_arn}" in text
    first = plan_path(
        None,
        name="payments",
        path=moved,
        mode=Mode.ENFORCE,
        boundary_arn=None,
        declared_by="me",
        clock=FakeClock(T0),
    )
    assert "first declaration" in words(render(declare_plan_view(first, 80), 80))


@pytest.mark.parametrize("width", [20, 40, 80, None])
def test_wrapping_breaks_at_spaces_only(width: int | None) -> None:
    text = f"fix: {POLICY_FIX}"
    lines = [line.plain for line in wrapped(text, width, 4)]
    assert all(line.startswith("    ") for line in lines)
    assert " ".join(line.strip() for line in lines) == text
    assert all(len(line) <= (width or 10_000) or len(line.split()) == 1 for line in lines)
