"""`driftguard drift`: one resource's live policy against its declaration, now."""

from __future__ import annotations

from driftguard import kinds
from driftguard.errors import DriftguardError
from driftguard.vocabulary import Failure
from driftguard_cli import views
from driftguard_cli.answers import drift_answer
from driftguard_cli.commands._common import Subparsers, command, json_flag, resource_arn
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_OK

NAMES = ("drift",)


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "drift",
        "compare one resource's live policy with its declaration",
        "Reads the live policy now (through the remediation role) and shows what differs:\n"
        "the findings and their severity, unique IDs of deleted roles (and which role each\n"
        "was), principals and actions only in live (+, red) or only declared (-, yellow),\n"
        "and the statements involved. Changes nothing. Exit 1 when not in sync.",
        "  driftguard drift arn:aws:kms:us-east-1:333333333333:key/1234abcd-...\n"
        "  driftguard drift arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"
        " --json | jq .changes",
    )
    resource_arn(parser)
    json_flag(parser)


def run(ctx: Context) -> int:
    arn = ctx.args.arn
    observation = ctx.inspector.look(kinds.target(arn))
    if observation is None:
        return ctx.fail(f"{arn} is not declared (driftguard adopt or declare it first)")
    if observation.failure is Failure.RESOURCE_GONE:
        return ctx.fail(f"{observation.reason}: it is declared but no longer exists")
    if observation.failure is not None:
        raise DriftguardError(f"{arn}: {observation.reason}")
    answer = drift_answer(observation)
    if ctx.wants_json:
        ctx.dump(answer.to_json())
    else:
        ctx.show(views.drift_view(answer))
    return EXIT_OK if answer.in_sync else EXIT_DRIFT
