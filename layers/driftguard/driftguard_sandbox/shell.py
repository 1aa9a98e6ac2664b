"""`driftguard sandbox`: the local multi-account AWS, for people, until Ctrl-C.

The same sandbox the tests and the demo use (moto's server on 127.0.0.1, the hub
deployed from template.yaml, the functions answering CloudTrail events), plus what a
person at a second shell needs: the hub stack's outputs as a CloudFormation stack (so
`DRIFTGUARD_STACK` configures the CLI), credentials of a security-team role in the
security account, and one `export` line holding all of it. Alerts the notifier posts
to Slack are printed as they arrive.
"""

from __future__ import annotations

import io
import json
import shlex
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Final, TextIO

from driftguard.notify.blocks import render_terminal
from driftguard_sandbox.demo import story_sandbox
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.slack import LocalSlack
from driftguard_sandbox.story import DATA, SECURITY, WORKLOAD, Story
from driftguard_sandbox.template import resolve

STACK_NAME: Final = "driftguard"
# Who the printed credentials are: an admin of the security account, as the team is.
TEAM_ROLE: Final = "SecurityTeam"
TEAM_SESSION: Final = "you"
POLL_SECONDS: Final = 0.5


def publish_hub_stack(sandbox: Sandbox, name: str = STACK_NAME) -> dict[str, str]:
    """The hub stack's outputs, resolved as CloudFormation would resolve template.yaml's
    Outputs, registered as a stack of that name (an empty resource: the sandbox deploys
    the real ones itself), so `describe-stacks` answers as it would on AWS."""
    context = sandbox.resolve_context()
    outputs = {
        key: str(resolve(output["Value"], context))
        for key, output in sandbox.template.get("Outputs", {}).items()
    }
    body = {
        "Resources": {"Hub": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    with warnings.catch_warnings():  # moto: "WaitConditionHandle not supported" (nothing to do)
        warnings.simplefilter("ignore", UserWarning)
        sandbox.hub_client("cloudformation").create_stack(
            StackName=name, TemplateBody=json.dumps(body)
        )
    return outputs


def shell_environment(sandbox: Sandbox, stack: str = STACK_NAME) -> dict[str, str]:
    """What a shell exports to reach the sandbox as the security team."""
    credentials = sandbox.session(SECURITY, TEAM_ROLE, TEAM_SESSION).get_credentials()
    frozen = credentials.get_frozen_credentials()
    return {
        "AWS_ENDPOINT_URL": sandbox.endpoint_url,
        "AWS_REGION": sandbox.region,
        "AWS_DEFAULT_REGION": sandbox.region,
        "AWS_ACCESS_KEY_ID": frozen.access_key,
        "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
        "AWS_SESSION_TOKEN": frozen.token,
        "DRIFTGUARD_STACK": stack,
    }


def export_line(environment: Mapping[str, str]) -> str:
    return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in environment.items())


def run_sandbox(
    out: TextIO,
    command_line: Callable[..., int],
    *,
    story: bool,
    stop: threading.Event | None = None,
) -> int:
    """Serve until `stop` is set or Ctrl-C; 0. `command_line`: the CLI's `main`, to
    declare the story's resources exactly as a person would."""
    stop = stop or threading.Event()
    try:
        with (
            LocalSlack() as slack,
            story_sandbox(slack, io.StringIO()) as sandbox,
        ):
            publish_hub_stack(sandbox)
            if story:
                _the_story(out, sandbox, command_line)
            print(_welcome(sandbox, story), file=out, flush=True)
            while not stop.wait(POLL_SECONDS):
                for message in slack.take():
                    text = render_terminal(message).replace("\n", "\n        ")
                    print(f"SLACK   {text}", file=out, flush=True)
    except KeyboardInterrupt:  # Ctrl-C, while starting or serving: everything is stopped
        pass
    print("sandbox stopped.", file=out, flush=True)
    return 0


def _the_story(out: TextIO, sandbox: Sandbox, command_line: Callable[..., int]) -> None:
    story = Story.create(sandbox)
    sandbox.wait_idle()
    for arn in (story.key_arn, story.secret_arn):
        code = command_line(["adopt", arn, "--mode", "enforce", "--yes"], out=io.StringIO())
        if code != 0:
            raise RuntimeError(f"declaring {arn} failed with exit code {code}")
    sandbox.wait_idle()
    print(
        f"The story: {WORKLOAD} runs pod-role (IRSA); {DATA} holds {story.secret_arn};\n"
        f"{SECURITY} holds its key {story.key_arn}.\n"
        "Both are declared (enforce mode).",
        file=out,
        flush=True,
    )


def _welcome(sandbox: Sandbox, story: bool) -> str:
    line = export_line(shell_environment(sandbox))
    accounts = f"{SECURITY} (security: driftguard, the key), {WORKLOAD}, {DATA}"
    return (
        f"Local AWS on {sandbox.endpoint_url}: accounts {accounts}; "
        f"stack {STACK_NAME} in {sandbox.region}.\n"
        "In another shell, as the security team (driftguard and the aws CLI both use it):\n\n"
        f"{line}\n\n"
        "then try: driftguard status   (Slack alerts appear here; Ctrl-C stops)"
        + ("" if story else "\n(empty: start with --story for the demo's resources)")
    )


__all__ = ["export_line", "publish_hub_stack", "run_sandbox", "shell_environment"]
