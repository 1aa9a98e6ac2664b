"""`driftguard replay-dlq`: re-drive the events parked on the dead-letter queue
(the use case is `driftguard_cli.replay`)."""

from __future__ import annotations

from functools import partial

from driftguard.errors import ConfigError
from driftguard_cli import views
from driftguard_cli.commands._common import Subparsers, command, json_flag
from driftguard_cli.context import Context
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_OK

NAMES = ("replay-dlq",)


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "replay-dlq",
        "re-drive the events parked on the dead-letter queue",
        "Each parked event (rejected by a function, or not delivered by EventBridge) runs\n"
        "through the code path its function runs, here, as you. A message is deleted once\n"
        "handled; one still invalid, or whose handling failed, stays on the queue.\n"
        "--dry-run lists them and changes nothing. Exit 1 when messages stay on the queue.",
        "  driftguard replay-dlq --dry-run\n"
        "  driftguard replay-dlq --queue-url https://sqs.us-east-1.amazonaws.com/333333333333/"
        "driftguard-EventsDeadLetterQueue-X",
    )
    parser.add_argument(
        "--queue-url", help="the events dead-letter queue (default: $DEAD_LETTER_QUEUE_URL)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list only; delete nothing")
    json_flag(parser)


def run(ctx: Context) -> int:
    # The functions' runtime only when asked (it reads all their settings).
    from driftguard.dlq import DeadLetterQueue
    from driftguard.runtime import Runtime
    from driftguard_cli.replay import replay

    url = ctx.args.queue_url or ctx.environ.get("DEAD_LETTER_QUEUE_URL")
    if not url:
        raise ConfigError("give --queue-url or set DEAD_LETTER_QUEUE_URL")
    redrive = None
    if not ctx.args.dry_run:
        environ = ctx.environ | {"DEAD_LETTER_QUEUE_URL": url}
        redrive = Runtime.from_env(session=ctx.session, environ=environ).redrive
    rows = replay(DeadLetterQueue(partial(ctx.clients.hub, "sqs"), url), redrive)
    if ctx.wants_json:
        ctx.dump([row.to_json() for row in rows])
    else:
        ctx.show(views.replay_view(rows, dry_run=ctx.args.dry_run))
    kept = sum(1 for row in rows if row.kept)
    return EXIT_DRIFT if kept and not ctx.args.dry_run else EXIT_OK
