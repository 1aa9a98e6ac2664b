"""`driftguard demo`: the story on a local multi-account AWS (the sandbox extra).

The sandbox is imported only when the demo runs, and gets the CLI's `main` to run
commands with: it never imports the command line itself."""

from __future__ import annotations

from driftguard_cli.commands._common import Subparsers, command, without_local_aws
from driftguard_cli.context import Context

NAMES = ("demo",)


def register(subparsers: Subparsers) -> None:
    demo = command(
        subparsers,
        "demo",
        "tell the driftguard story on a local multi-account AWS",
        "Starts moto on 127.0.0.1 as three accounts and plays the story; contacts nothing else.",
        "  driftguard demo\n  driftguard demo --chaos",
    )
    demo.add_argument(
        "--chaos",
        action="store_true",
        help="the local AWS at its worst: events duplicated and late, IAM slow to show "
        "changes, driftguard's calls throttled",
    )


def run(ctx: Context) -> int:
    try:
        from driftguard_sandbox.demo import run_demo
    except ImportError as exc:  # moto is the sandbox extra, not a CLI dependency
        return without_local_aws(ctx, exc, "the demo")
    from driftguard_cli.main import main  # loaded already: it is what runs this

    return run_demo(ctx.out, main, chaos=ctx.args.chaos)
