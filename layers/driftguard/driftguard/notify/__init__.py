"""Alerts to people: Block Kit messages (`blocks`) and their delivery to Slack (`slack`)."""

from driftguard.notify.blocks import SlackMessage, build_message, render_terminal
from driftguard.notify.slack import NotifierConfig, SlackNotifier, parse_alerts

__all__ = [
    "NotifierConfig",
    "SlackMessage",
    "SlackNotifier",
    "build_message",
    "parse_alerts",
    "render_terminal",
]
