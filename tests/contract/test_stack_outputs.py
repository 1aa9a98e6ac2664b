"""`--stack NAME` gives the CLI exactly the functions' settings: every variable of
template.yaml's Globals environment is a stack output holding the same expression, a
fixed tunable with the same value, or the partition (from the stack's ARN)."""

from __future__ import annotations

from typing import Any

from driftguard.config import Config
from driftguard_cli.stack import ORGANIZATION, STACK_OUTPUTS, TUNABLES, settings_from_outputs
from driftguard_sandbox.template import Template

# Variables only the functions' runtime reads (Powertools), not driftguard's settings.
NOT_SETTINGS = frozenset(
    {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
)


def _globals(template: Template) -> dict[str, Any]:
    return dict(template["Globals"]["Function"]["Environment"]["Variables"])


def _as_output(expression: Any) -> Any:
    """GuardedAccountIds: an output cannot be empty, so the organization is a word."""
    if isinstance(expression, dict) and "Fn::If" in expression:
        condition, then, otherwise = expression["Fn::If"]
        return {"Fn::If": [condition, then, ORGANIZATION if otherwise == "" else otherwise]}
    return expression


def test_every_mapped_output_holds_the_functions_own_expression(template: Template) -> None:
    variables = _globals(template)
    outputs = template["Outputs"]
    for output, variable in STACK_OUTPUTS.items():
        assert output in outputs, f"template.yaml has no output {output}"
        assert outputs[output]["Value"] == _as_output(variables[variable]), output


def test_every_setting_the_functions_get_reaches_the_cli(template: Template) -> None:
    variables = _globals(template)
    from_outputs = set(STACK_OUTPUTS.values())
    for variable, value in variables.items():
        if variable in NOT_SETTINGS or variable == "PARTITION" or variable in from_outputs:
            continue
        assert TUNABLES.get(variable) == value, f"{variable}: not an output, nor TUNABLES"
    assert set(TUNABLES) <= set(variables)


def test_the_settings_from_a_stack_are_a_valid_configuration() -> None:
    outputs = {name: "x" for name in STACK_OUTPUTS} | {
        "DefaultMode": "enforce",
        "GuardedAccountIds": ORGANIZATION,
        "SweepConcurrency": "20",
        "QuotaShare": "0.5",
        "PropagationTimeoutSeconds": "900",
    }
    arn = "arn:aws:cloudformation:us-east-1:333333333333:stack/driftguard/id"
    config = Config.from_env(settings_from_outputs(arn, outputs))
    assert config.member_accounts is None and config.partition == "aws"
