"""Access paths (issue 12): `declare-path`, `adopt-path`, `verify-path` and `paths`.

A path is how a pod reaches its secret: the workload role (through IRSA or EKS Pod
Identity), the secret and the key that encrypts it (docs/access-paths.md).
`declare-path` and `adopt-path` show what they would declare and ask at a terminal,
as `declare` does, then sign and store it; `verify-path` runs the one check
(driftguard.path_check) and reads only; `paths` reads only the state table.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, NoCredentialsError
from rich.text import Text

from driftguard.errors import ConfigError, DriftguardError, SigningError
from driftguard.path_check import check
from driftguard.path_model import AccessPath, Irsa, PathDeclaration, PodIdentity
from driftguard.path_store import PathStore
from driftguard.retry import SYSTEM_CLOCK
from driftguard.vocabulary import Mode
from driftguard_cli.commands._common import (
    Subparsers,
    command,
    describe_error,
    json_flag,
    mode_option,
)
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from driftguard_cli.path_adopt import default_name
from driftguard_cli.path_answers import PathAnswer, listed_json, path_answer, refused_answer
from driftguard_cli.path_declaring import apply_plan, plan_path
from driftguard_cli.path_inputs import (
    cluster_arn,
    key_reference,
    namespace,
    oidc_provider_arn,
    path_name,
    path_role_arn,
    policy_arn,
    secret_arn,
    service_account,
)
from driftguard_cli.path_reads import read_existing
from driftguard_cli.path_views import declare_plan_view, paths_view, verify_view
from driftguard_cli.report_paths import path_rows

NAMES = ("declare-path", "adopt-path", "verify-path", "paths")

ROLE = "arn:aws:iam::111111111111:role/pod-role"
SECRET = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"


def register(subparsers: Subparsers) -> None:
    _register_declare(subparsers)
    adopt = command(
        subparsers,
        "adopt-path",
        "declare the access path that exists from a role to a secret",
        "Reads the rest through the remediation role of each account: the key from the\n"
        "secret (DescribeSecret KmsKeyId), how pods get the role from its trust policy\n"
        "(IRSA: the OIDC provider and the exact `sub` service account; Pod Identity: the\n"
        "association of --cluster that hands out the role), and the role's permissions\n"
        "boundary. Refuses (exit 2) what it would have to guess: several providers or\n"
        "service accounts, or no exact `sub` (a finding in itself); declare-path states\n"
        "the path instead. Then shows, asks and declares as declare-path does.",
        f"  driftguard adopt-path {ROLE} \\\n      {SECRET} --mode enforce\n"
        f"  driftguard adopt-path {ROLE} SECRET_ARN --name orders-db \\\n"
        "      --cluster arn:aws:eks:us-east-1:111111111111:cluster/prod",
    )
    adopt.add_argument("role", metavar="ROLE_ARN", type=path_role_arn)
    adopt.add_argument("secret", metavar="SECRET_ARN", type=secret_arn)
    adopt.add_argument(
        "--name", type=path_name, help="the path's name (default: the secret's name)"
    )
    adopt.add_argument(
        "--cluster",
        metavar="CLUSTER_ARN",
        type=cluster_arn,
        help="for a role trusted by EKS Pod Identity: the cluster of its association",
    )
    mode_option(adopt)
    _yes_option(adopt)
    _register_reads(subparsers)


def _register_declare(subparsers: Subparsers) -> None:
    declare = command(
        subparsers,
        "declare-path",
        "declare an access path: a role, its secret and key, and how pods get the role",
        "Shows what it declares (against the current declaration of that name), asks at\n"
        "a terminal (--yes skips the question; a pipeline is never asked), then signs it\n"
        "as policy declarations are signed and stores it (version = stored + 1). A key\n"
        "ID or alias is resolved in the hub's account and region. Answering no writes\n"
        "nothing and exits 2.",
        "  driftguard declare-path payments-db --role arn:aws:iam::111111111111:role/pod-role \\\n"
        f"      --secret {SECRET} \\\n"
        "      --key arn:aws:kms:us-east-1:333333333333:key/1234abcd-... \\\n"
        "      --irsa-provider arn:aws:iam::111111111111:oidc-provider/oidc.eks... \\\n"
        "      --namespace payments --service-account api --mode enforce",
    )
    declare.add_argument("name", metavar="NAME", type=path_name, help="the path's name")
    declare.add_argument(
        "--role", required=True, metavar="ROLE_ARN", type=path_role_arn, help="workload role ARN"
    )
    declare.add_argument(
        "--secret", required=True, metavar="SECRET_ARN", type=secret_arn, help="secret ARN"
    )
    declare.add_argument(
        "--key", required=True, type=key_reference, help="KMS key ARN, key ID or alias"
    )
    how = declare.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--irsa-provider",
        metavar="PROVIDER_ARN",
        type=oidc_provider_arn,
        help="IRSA: the cluster's OIDC provider ARN",
    )
    how.add_argument(
        "--pod-identity-cluster",
        metavar="CLUSTER_ARN",
        type=cluster_arn,
        help="EKS Pod Identity: the cluster ARN",
    )
    declare.add_argument("--namespace", required=True, metavar="NS", type=namespace)
    declare.add_argument("--service-account", required=True, metavar="SA", type=service_account)
    declare.add_argument(
        "--boundary",
        metavar="POLICY_ARN",
        type=policy_arn,
        help="the permissions boundary the role must have",
    )
    mode_option(declare)
    _yes_option(declare)


def _register_reads(subparsers: Subparsers) -> None:
    verify = command(
        subparsers,
        "verify-path",
        "verify a declared access path, link by link",
        "Checks every link now, in chain order, through the remediation roles (the check\n"
        "the events and the sweep run): each link's state, the first broken one with why\n"
        "and the exact fix, the grants that let other principals use the key. Reads only.\n"
        "Exit 1 when a link is broken, 2 when the declaration's signature does not verify\n"
        "(refused: nothing is checked), 3 when no path has that name.",
        "  driftguard verify-path payments-db\n  driftguard verify-path --all --json",
    )
    which = verify.add_mutually_exclusive_group(required=True)
    which.add_argument("name", metavar="NAME", nargs="?", type=path_name)
    which.add_argument("--all", action="store_true", help="every declared path")
    json_flag(verify)

    listed = command(
        subparsers,
        "paths",
        "declared access paths and their last verdict",
        "One row per declared path, broken first: whether it worked at its last check (by\n"
        "an event, the sweep), its first broken link and since when; then why and the\n"
        "fix. Reads only the state table. Exit 1 when a path is broken.",
        "  driftguard paths\n  driftguard paths --json",
    )
    json_flag(listed)


def _yes_option(parser: Any) -> None:
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="declare without asking at a terminal (a pipeline is never asked)",
    )


def run(ctx: Context) -> int:
    handlers = {
        "declare-path": _declare,
        "adopt-path": _adopt,
        "verify-path": _verify,
        "paths": _list,
    }
    return handlers[ctx.args.command](ctx)


# --------------------------------------------------------------------------- declaring


def _declare(ctx: Context) -> int:
    args = ctx.args
    access: Irsa | PodIdentity
    if args.irsa_provider:
        access = Irsa(args.irsa_provider, args.namespace, args.service_account)
    else:
        access = PodIdentity(args.pod_identity_cluster, args.namespace, args.service_account)
    path = AccessPath(args.role, args.secret, ctx.resolver.arn(args.key), access)
    return _declare_path(ctx, args.name, path, args.boundary)


def _adopt(ctx: Context) -> int:
    args = ctx.args
    found = read_existing(ctx.clients, args.role, args.secret, args.cluster)
    name = args.name or default_name(found.path.secret_arn)
    return _declare_path(ctx, name, found.path, found.boundary_arn)


def _mode(ctx: Context, previous: PathDeclaration | None) -> Mode:
    """--mode, else the current declaration's, else $DEFAULT_MODE."""
    if ctx.args.mode:
        return Mode(ctx.args.mode)
    if previous is not None:
        return previous.mode
    if default := ctx.environ.get("DEFAULT_MODE"):
        return Mode(default)
    raise ConfigError("give --mode or set DEFAULT_MODE")


def _declare_path(ctx: Context, name: str, path: AccessPath, boundary: str | None) -> int:
    paths = PathStore(ctx.store)
    previous = paths.get(name)
    plan = plan_path(
        previous,
        name=name,
        path=path,
        mode=_mode(ctx, previous),
        boundary_arn=boundary,
        declared_by=ctx.caller(),
        clock=SYSTEM_CLOCK,
    )
    ctx.show(declare_plan_view(plan, width=ctx.console.width))
    if not ctx.args.yes and ctx.interactive and not ctx.confirm("Declare this access path?"):
        return ctx.fail(f"declined: nothing declared for access path {name}", EXIT_USAGE)
    declared = apply_plan(plan, signatures=ctx.signatures, paths=paths, clock=SYSTEM_CLOCK)
    line = Text(f"declared access path {name} (version {declared.version}, ")
    ctx.show(line.append(f"{declared.mode.value}): ").append_text(_state_now(ctx, declared)))
    return EXIT_OK


def _state_now(ctx: Context, declared: PathDeclaration) -> Text:
    """One look at the new path (not recorded: the events and the sweep record
    verdicts, and alert when one changes)."""
    try:
        answer = _verified(ctx, declared)
    except (ClientError, NoCredentialsError, DriftguardError) as exc:
        return Text(f"not verified now ({describe_error(exc)})", style="yellow")
    broken = answer.first_broken
    if broken is None:
        return Text("every link holds", style="green")
    return Text(f"broken at {broken.link.value}", style="red").append(
        f" (driftguard verify-path {declared.name} shows the fix)", style=""
    )


# --------------------------------------------------------------------------- reading


def _verified(ctx: Context, declaration: PathDeclaration) -> PathAnswer:
    try:
        verdict = check(
            declaration, clients=ctx.clients, verifier=ctx.signatures, clock=SYSTEM_CLOCK
        )
    except SigningError as exc:
        return refused_answer(declaration, str(exc))
    return path_answer(verdict)


def _verify(ctx: Context) -> int:
    args, paths = ctx.args, PathStore(ctx.store)
    if args.all:
        declarations = sorted(paths.declarations(), key=lambda d: d.name)
    else:
        found = paths.get(args.name)
        if found is None:
            return ctx.fail(
                f"no access path named {args.name} is declared (driftguard paths lists them)",
                EXIT_NOT_FOUND,
            )
        declarations = [found]
    answers = [_verified(ctx, d) for d in declarations]
    if ctx.wants_json:
        ctx.dump([a.to_json() for a in answers] if args.all else answers[0].to_json())
    else:
        _show(ctx, answers)
    for answer in answers:
        if answer.refused is not None:
            ctx.fail(f"refused access path {answer.name}: {answer.refused}", EXIT_USAGE)
    if any(a.refused is not None for a in answers):
        return EXIT_USAGE
    return EXIT_DRIFT if any(not a.ok for a in answers) else EXIT_OK


def _show(ctx: Context, answers: list[PathAnswer]) -> None:
    if not answers:
        ctx.show(Text("no access paths declared"))
    for number, answer in enumerate(answers):
        if number:
            ctx.show(Text(""))
        ctx.show(verify_view(answer, width=ctx.console.width))


def _list(ctx: Context) -> int:
    paths = PathStore(ctx.store)
    rows = path_rows(paths.declarations(), paths.statuses())
    if ctx.wants_json:
        ctx.dump(listed_json(rows))
    else:
        ctx.show(paths_view(rows, width=ctx.console.width))
    return EXIT_DRIFT if any(row.works is False for row in rows) else EXIT_OK
