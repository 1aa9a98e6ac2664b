"""`driftguard whois`: the role a unique ID (AROA...) belonged to."""

from __future__ import annotations

from driftguard_cli import views
from driftguard_cli.answers import WhoisAnswer
from driftguard_cli.commands._common import Subparsers, command, json_flag, unique_id
from driftguard_cli.commands.principals import resources_naming
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_OK

NAMES = ("whois",)


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "whois",
        "the role a unique ID (AROA...) belonged to",
        "Deleting a role leaves its unique ID in every policy that named it, and IAM has no\n"
        "API from a unique ID back to the role: driftguard records each role's ID when it\n"
        "sees the role. Exit 1 when the ID is unknown.",
        "  driftguard whois AROAEXAMPLEID1234567X",
    )
    parser.add_argument("unique_id", metavar="UNIQUE_ID", type=unique_id)
    json_flag(parser)


def run(ctx: Context) -> int:
    uid = ctx.args.unique_id
    role = ctx.store.principal_for_unique_id(uid)
    if role is None:
        if ctx.wants_json:
            ctx.dump({"unique_id": uid, "role_arn": None})
        return ctx.fail(
            f"unknown unique id {uid}: driftguard never saw a role with it (it records a "
            "role's id when a declared policy names the role, or on CreateRole; IAM itself "
            "cannot map an id back to a role)"
        )
    answer = WhoisAnswer(
        unique_id=uid,
        role_arn=role,
        other_ids=tuple(sorted(i for i in ctx.store.unique_ids_of(role) if i != uid)),
        resources=resources_naming(ctx.store, role),
    )
    if ctx.wants_json:
        ctx.dump(answer.to_json())
    else:
        ctx.show(views.whois_view(answer))
    return EXIT_OK
