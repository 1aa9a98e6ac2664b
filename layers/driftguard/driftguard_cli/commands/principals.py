"""`driftguard principals`: what driftguard knows about a role, and whether it exists."""

from __future__ import annotations

from botocore.exceptions import ClientError

from driftguard.arns import principal_account, role_key
from driftguard.aws import AwsClients
from driftguard.errors import ConfigError
from driftguard.state import StateStore
from driftguard_cli import views
from driftguard_cli.answers import NamedResource, PrincipalAnswer, named_resources
from driftguard_cli.commands._common import Subparsers, command, json_flag, role_arn
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_OK

NAMES = ("principals",)


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "principals",
        "what driftguard knows about a role",
        "Which declared policies name the role (and their status), every unique ID the role\n"
        "is known to have had (earlier ones are what deleting it leaves in policies), and\n"
        "whether it exists now (iam:GetRole through the remediation role in its account).\n"
        "Exit 1 when driftguard knows nothing about it and it does not exist.",
        "  driftguard principals arn:aws:iam::111111111111:role/pod-role",
    )
    parser.add_argument("role_arn", metavar="ROLE_ARN", type=role_arn)
    json_flag(parser)


def run(ctx: Context) -> int:
    role = role_key(ctx.args.role_arn)
    exists, current, problem = lookup_role(ctx.clients, role)
    answer = PrincipalAnswer(
        role_arn=role,
        resources=resources_naming(ctx.store, role),
        unique_ids=tuple(sorted(ctx.store.unique_ids_of(role))),
        exists=exists,
        current_id=current,
        lookup_error=problem,
    )
    if ctx.wants_json:
        ctx.dump(answer.to_json())
    else:
        ctx.show(views.principals_view(answer))
    if not answer.known:
        now = "it does not exist now" if exists is False else f"could not look it up: {problem}"
        return ctx.fail(f"driftguard knows nothing about {role}, and {now}")
    return EXIT_OK


def resources_naming(store: StateStore, role: str) -> tuple[NamedResource, ...]:
    """The declared resources whose policy names `role`, with their recorded status."""
    arns = store.resources_naming(role)
    statuses: dict[str, str | None] = {}
    for arn in arns:
        record = store.get_status(arn)
        statuses[arn] = record.status.value if record else None
    return named_resources(arns, statuses)


def lookup_role(clients: AwsClients, role: str) -> tuple[bool | None, str | None, str | None]:
    """(exists, unique id now, why it could not be looked up)."""
    account = principal_account(role)
    if account is None:
        return None, None, "no account in the ARN"
    name = role.rsplit("/", 1)[-1]
    try:
        iam = clients.in_account(account, "iam")
        found = iam.get_role(RoleName=name)["Role"]
    except ConfigError as exc:
        return None, None, str(exc)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        if code == "NoSuchEntity":
            return False, None, None
        return None, None, f"{code} looking into account {account}"
    return True, str(found["RoleId"]), None
