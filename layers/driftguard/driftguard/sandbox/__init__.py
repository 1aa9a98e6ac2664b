"""Local multi-account AWS for tests and the demo (moto server + the AWS gaps it lacks).

`Sandbox.start()` is the entry point; see `driftguard.sandbox.sandbox`. The AWS
behaviours moto lacks all live in `driftguard.sandbox.aws_gaps`.
"""

from driftguard.sandbox.router import Delivery
from driftguard.sandbox.sandbox import HubStack, Sandbox
from driftguard.sandbox.slack import LocalSlack, SlackPost, SlackReply
from driftguard.sandbox.template import FunctionSpec, RuleSpec

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
