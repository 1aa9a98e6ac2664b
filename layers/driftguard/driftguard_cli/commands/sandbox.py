"""`driftguard sandbox`: the local multi-account AWS, running until Ctrl-C.

Imported only when it runs, as the demo is: moto is the sandbox extra."""

from __future__ import annotations

from driftguard_cli.commands._common import Subparsers, command, without_local_aws
from driftguard_cli.context import Context

NAMES = ("sandbox",)


def register(subparsers: Subparsers) -> None:
    parser = command(
        subparsers,
        "sandbox",
        "run the local multi-account AWS until Ctrl-C",
        "Starts moto on 127.0.0.1 as three accounts with driftguard's hub deployed and its\n"
        "functions answering events, prints one `export` line for another shell (endpoint,\n"
        "region, credentials, DRIFTGUARD_STACK), then prints Slack alerts as they come.\n"
        "With --story, the demo's pod-role, key and secret are there and declared.\n"
        "Contacts nothing but 127.0.0.1.",
        "  driftguard sandbox --story",
    )
    parser.add_argument(
        "--story",
        action="store_true",
        help="create the demo's accounts, role, key and secret, and declare them",
    )


def run(ctx: Context) -> int:
    try:
        from driftguard_sandbox.shell import run_sandbox
    except ImportError as exc:  # moto is the sandbox extra, not a CLI dependency
        return without_local_aws(ctx, exc, "the sandbox")
    from driftguard_cli.main import main  # loaded already: it is what runs this

    return run_sandbox(ctx.out, main, story=ctx.args.story)
