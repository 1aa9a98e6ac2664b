"""`driftguard approve-principal`: take a role as it is now as the declared identity."""

from __future__ import annotations

from driftguard.arns import role_key
from driftguard.retry import SYSTEM_CLOCK
from driftguard_cli.commands._common import Subparsers, command, json_flag, role_arn
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_OK
from driftguard_cli.identities import record_identities

NAMES = ("approve-principal",)


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "approve-principal",
        "approve a role recreated with another trust policy",
        "A role deleted and made again under the same name is not the same identity: when\n"
        "its trust policy differs from the one recorded, driftguard holds the resources\n"
        "that name it (status orphaned-principal or pending-principal, one alert showing\n"
        "the difference). This records the role as IAM shows it now (unique ID, trust\n"
        "policy), signed, with who approved it; the next event, sweep or `scan --remediate`\n"
        "restores the resources. Run it as the declarer role. Exit 1 when the role does not\n"
        "exist.",
        "  driftguard approve-principal arn:aws:iam::111111111111:role/pod-role",
    )
    parser.add_argument("role_arn", metavar="ROLE_ARN", type=role_arn)
    json_flag(parser)


def run(ctx: Context) -> int:
    role = role_key(ctx.args.role_arn)
    (record,) = record_identities(
        ctx.inspector.lookup(),
        ctx.store,
        ctx.signatures,
        [role],
        by=ctx.caller(),
        clock=SYSTEM_CLOCK,
    ) or (None,)
    if record is None:
        return ctx.fail(f"{role} does not exist (iam:GetRole in its account): nothing to approve")
    held = ctx.store.resources_naming(role)
    if ctx.wants_json:
        ctx.dump(
            {
                "role_arn": role,
                "unique_id": record.unique_id,
                "approved_by": record.recorded_by,
                "resources": held,
            }
        )
    else:
        ctx.say(
            f"approved {role} ({record.unique_id}) as the identity declared policies name; "
            f"{len(held)} resource(s) name it: the next event, sweep or "
            "`driftguard scan --remediate` restores them"
        )
    return EXIT_OK
