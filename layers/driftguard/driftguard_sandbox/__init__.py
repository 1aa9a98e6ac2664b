"""Local multi-account AWS for tests and the demo (moto server + the AWS gaps it lacks).

`Sandbox.start()` is the entry point; see `driftguard_sandbox.sandbox`. The AWS
behaviours moto lacks all live in `driftguard_sandbox.aws_gaps`.
"""

from driftguard_sandbox.router import Delivery
from driftguard_sandbox.sandbox import HubStack, Sandbox
from driftguard_sandbox.slack import LocalSlack, SlackPost, SlackReply
from driftguard_sandbox.template import FunctionSpec, RuleSpec

__all__ = [
    "Delivery",
    "FunctionSpec",
    "HubStack",
    "LocalSlack",
    "RuleSpec",
    "Sandbox",
    "SlackPost",
    "SlackReply",
]
