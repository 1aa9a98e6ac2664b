"""`driftguard demo`: the story from the README, told on the local sandbox.

Three accounts on moto's server at 127.0.0.1: 111111111111 runs the EKS workload
(pod-role, IRSA), 222222222222 holds testsecret, 333333333333 is the security
account with the KMS key and driftguard itself. Every call below goes over HTTP
to the sandbox, and driftguard hears about it only through the CloudTrail events
the sandbox routes with template.yaml's own EventBridge patterns.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any, TextIO

from driftguard.notify.blocks import render_terminal
from driftguard.policy import Policy
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.slack import LocalSlack
from driftguard_sandbox.story import DATA, POD_ROLE_ARN, REGION, SECURITY, WORKLOAD, Story

PROPAGATION_DELAY_SECONDS = 2.0
PATH_NAME = "testsecret"  # adopt-path names a path after its secret
# The CLI's entry point `main(argv, out=...) -> exit code`, handed in by the CLI's
# `demo` command: the sandbox never imports the command line.
CommandLine = Callable[..., int]


class Narrator:
    def __init__(self, out: TextIO, command_line: CommandLine) -> None:
        self.out = out
        self._command_line = command_line
        self.started = time.monotonic()
        self.step = 0

    def chapter(self, title: str) -> None:
        self.step += 1
        self.say(f"\n== {self.step}. {title} ==")

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def run_cli(self, *argv: str) -> int:
        self.say(f"$ driftguard {' '.join(argv)}")
        buffer = io.StringIO()
        code = self._command_line(list(argv), out=buffer)
        for line in buffer.getvalue().rstrip().splitlines():
            self.say(f"  {line}")
        return code


class SlackTail:
    """The Slack messages the notifier posted to the local receiver, as a terminal shows them."""

    def __init__(self, slack: Any) -> None:
        self._slack = slack

    def drain(self, n: Narrator) -> None:
        for message in self._slack.take():
            n.say("  SLACK " + render_terminal(message).replace("\n", "\n        "))


def run_demo(out: TextIO, command_line: CommandLine, *, chaos: bool = False) -> int:
    """The story, start to end; 0 when both policies end as declared, else 1. With
    `chaos`, on a local AWS as unkind as the real one can be."""
    n = Narrator(out, command_line)
    function_logs = io.StringIO()  # the functions' CloudWatch Logs; shown on failure
    n.say("driftguard demo: cross-account secret access that survives a deleted role.")
    with (
        LocalSlack() as slack,
        story_sandbox(slack, function_logs, PROPAGATION_DELAY_SECONDS) as sandbox,
    ):
        alerts = SlackTail(slack)
        n.say(
            f"Local AWS (moto) on {sandbox.endpoint_url}: {WORKLOAD} runs the EKS workload, "
            f"{DATA} holds the secret, {SECURITY} is the security account (key + driftguard)."
        )
        if chaos:
            _unkind(n, sandbox)
        story = _the_workload(n, sandbox, alerts)
        _declared(n, sandbox, story, alerts)
        _role_deleted(n, sandbox, story, alerts)
        _role_recreated(n, sandbox, story, alerts)
        _widened(n, sandbox, story, alerts)
        _forged(n, sandbox, story, alerts)
        _key_scheduled_for_deletion(n, sandbox, story, alerts)
        _trust_edited(n, sandbox, story, alerts)
        return _where_things_stand(n, story, function_logs.getvalue())


def story_sandbox(
    slack: LocalSlack, function_logs: TextIO, propagation_delay: float = 0.0
) -> Sandbox:
    """The sandbox as the story's three accounts, the notifier posting to `slack` (as it
    would to Slack's webhook): shared by the demo and `driftguard sandbox`."""
    return Sandbox.start(
        hub_account=SECURITY,
        member_accounts=(WORKLOAD, DATA),
        region=REGION,
        propagation_delay=propagation_delay,
        # Quiet function logs so the story reads well; a short propagation budget.
        parameters={"LogLevel": "WARNING", "PropagationTimeoutSeconds": "30"},
        function_logs=function_logs,
        slack=slack,
    )


def _unkind(n: Narrator, sandbox: Sandbox) -> None:
    """What `tests/reliability` proves driftguard against, switched on for the story."""
    sandbox.unreliable_delivery(duplicates=2, max_delay=1.0, seed=8)
    sandbox.getrole_delay = PROPAGATION_DELAY_SECONDS
    sandbox.rewrite_delay = 1.0
    for service in ("kms", "secretsmanager"):
        sandbox.fail(service, rate=0.2, principal="driftguard-remediation", seed=8)
    n.say(
        "Chaos: every event delivered three times and up to 1 s late, GetRole blind to a new "
        "role and policies showing a deleted role's ARN for a while, 1 in 5 of driftguard's "
        "KMS and Secrets Manager calls throttled."
    )


def _the_workload(n: Narrator, sandbox: Sandbox, alerts: SlackTail) -> Story:
    n.chapter("The workload: pod-role (IRSA), a secret in one account, its key in another")
    story = Story.create(sandbox)
    n.say(
        f"{WORKLOAD}: pod-role ({story.pod_role_id}), trusted by the cluster's OIDC provider "
        "for system:serviceaccount:testnamespace:testapp"
    )
    n.say(f"{SECURITY}: KMS key {story.key_arn}; its policy lets pod-role decrypt")
    n.say(f"{DATA}: {story.secret_arn}, encrypted with that key; its policy lets pod-role read it")
    sandbox.wait_idle()
    alerts.drain(n)
    return story


def _declared(n: Narrator, sandbox: Sandbox, story: Story, alerts: SlackTail) -> None:
    n.chapter("The security team declares this state (adopting the live policies)")
    for arn in (story.key_arn, story.secret_arn):
        n.run_cli("adopt", arn, "--mode", "enforce")
    n.say("  Each declaration is signed with the hub's HMAC key, which only the declarer")
    n.say("  role may use; every change to a declaration is posted:")
    sandbox.wait_idle()
    alerts.drain(n)
    n.run_cli("status")
    n.say("The whole access path too: pod-role and the secret are enough to find the rest.")
    n.run_cli("adopt-path", POD_ROLE_ARN, story.secret_arn, "--mode", "enforce")
    n.run_cli("verify-path", PATH_NAME)


def _role_deleted(n: Narrator, sandbox: Sandbox, story: Story, alerts: SlackTail) -> None:
    n.chapter("Someone deletes pod-role")
    story.delete_pod_role()
    show_principals(n, "key policy", story.live_key_policy())
    show_principals(n, "secret policy", story.live_secret_policy())
    n.say("  AWS rewrote pod-role to its unique ID in both policies: the app is locked out,")
    n.say("  and recreating the role will not bring the ARN back.")
    sandbox.wait_idle()
    alerts.drain(n)
    n.run_cli("status", "--state", "orphaned-principal")


def _role_recreated(n: Narrator, sandbox: Sandbox, story: Story, alerts: SlackTail) -> None:
    n.chapter("The platform team recreates pod-role")
    role_id = story.recreate_pod_role()
    n.say(
        f"{WORKLOAD}: pod-role is back as {role_id}; KMS and Secrets Manager reject it for "
        f"{PROPAGATION_DELAY_SECONDS:.0f}s (propagation), so driftguard retries with backoff"
    )
    sandbox.wait_idle(timeout=60)
    alerts.drain(n)
    show_principals(n, "key policy", story.live_key_policy())
    show_principals(n, "secret policy", story.live_secret_policy())


def _widened(n: Narrator, sandbox: Sandbox, story: Story, alerts: SlackTail) -> None:
    n.chapter("Someone widens the key policy by hand")
    story.widen_key_policy()
    n.say(f"{SECURITY}: mallory added account 444455556666 to the key policy")
    sandbox.wait_idle()
    alerts.drain(n)


def _forged(n: Narrator, sandbox: Sandbox, story: Story, alerts: SlackTail) -> None:
    n.chapter("Someone writes a declaration straight into the state table")
    before = story.live_key_policy()
    story.forge_key_declaration()
    n.say(f"{SECURITY}: mallory, who may write the table but not sign, declared kms:* for")
    n.say("  account 444455556666 on the key. driftguard checks the signature, refuses it:")
    sandbox.wait_idle()
    alerts.drain(n)
    unchanged = story.live_key_policy() == before
    n.say(f"  The live key policy is {'unchanged' if unchanged else 'CHANGED'}.")
    n.say("The security team declares the key again, as the declarer role:")
    n.run_cli("adopt", story.key_arn, "--mode", "enforce")
    sandbox.wait_idle()
    alerts.drain(n)


def _key_scheduled_for_deletion(
    n: Narrator, sandbox: Sandbox, story: Story, alerts: SlackTail
) -> None:
    n.chapter("Someone schedules the key for deletion")
    story.schedule_key_deletion()
    n.say(f"{SECURITY}: mallory scheduled the key for deletion in 7 days. No policy changed,")
    n.say("  but the secret would become unreadable for good. The path is declared in")
    n.say("  enforce mode: driftguard cancels the deletion and enables the key again.")
    sandbox.wait_idle()
    alerts.drain(n)
    n.say(f"  The key is {story.key_state()}.")


def _trust_edited(n: Narrator, sandbox: Sandbox, story: Story, alerts: SlackTail) -> None:
    n.chapter("Someone edits pod-role's trust policy")
    story.widen_trust()
    n.say(f"{WORKLOAD}: the platform team let any service account of testnamespace assume")
    n.say("  pod-role (StringLike on a wildcard sub). The path is broken at its trust link:")
    sandbox.wait_idle()
    alerts.drain(n)
    n.run_cli("verify-path", PATH_NAME)
    n.say("The platform team applies the fix driftguard names:")
    story.restore_trust()
    sandbox.wait_idle()
    alerts.drain(n)


def _where_things_stand(n: Narrator, story: Story, function_logs: str) -> int:
    n.chapter("Where things stand")
    n.run_cli("status")
    n.run_cli("history", story.key_arn)
    path_works = n.run_cli("verify-path", PATH_NAME) == 0
    ok = story.restored()
    if not (ok and path_works):
        n.say("Function logs:\n" + function_logs)
    n.say(
        f"\nBoth live policies {'match' if ok else 'DO NOT match'} the declared state and "
        f"the access path {'works' if path_works else 'IS BROKEN'} "
        f"({time.monotonic() - n.started:.1f}s, nothing but 127.0.0.1 contacted)."
    )
    return 0 if ok and path_works else 1


def show_principals(n: Narrator, label: str, policy_json: str | None) -> None:
    principals = sorted(Policy.parse(policy_json).aws_principals()) if policy_json else []
    n.say(f"  {label} principals now: {', '.join(principals)}")
