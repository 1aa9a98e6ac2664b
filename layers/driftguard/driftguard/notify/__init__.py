"""Alerts to people: Block Kit messages (`blocks`) and their delivery to Slack (`slack`).

Import from the module you need: building messages (the sandbox, the tests) does not
load the delivery's HTTP client and tracing.
"""
