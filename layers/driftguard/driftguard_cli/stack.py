"""`--stack NAME` (or $DRIFTGUARD_STACK): the CLI's settings from the hub stack.

The settings are the functions' own environment (template.yaml Globals), so a person's
`scan --remediate` or `replay-dlq` runs with exactly what the functions run with. Names
of resources and the operator's parameters come from the stack's outputs; the
partition from the stack's ARN; the few fixed tunables from `TUNABLES`.
tests/contract/test_stack_outputs.py holds all three to template.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from botocore.exceptions import ClientError

from driftguard.errors import ConfigError

# Output of the hub stack -> the setting it holds (the functions' variable name).
STACK_OUTPUTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "StateTableName": "TABLE_NAME",
        "AlertTopicArn": "ALERT_TOPIC_ARN",
        "EventsDeadLetterQueueUrl": "DEAD_LETTER_QUEUE_URL",
        "DeclarationSigningKeyArn": "SIGNING_KEY_ID",
        "RemediationRoleName": "REMEDIATION_ROLE_NAME",
        "DefaultMode": "DEFAULT_MODE",
        "RecheckQueueUrl": "RECHECK_QUEUE_URL",
        "SweepQueueUrl": "SWEEP_QUEUE_URL",
        "GuardedAccountIds": "MEMBER_ACCOUNT_IDS",
        "SweepConcurrency": "SWEEP_CONCURRENCY",
        "QuotaShare": "QUOTA_SHARE",
        "PropagationTimeoutSeconds": "PROPAGATION_TIMEOUT_SECONDS",
    }
)
# GuardedAccountIds' value when the hub admits its organization's accounts (an output
# cannot be empty; the functions' MEMBER_ACCOUNT_IDS is then "").
ORGANIZATION: Final = "organization"
# Globals literals the template fixes (not parameters): the same in every deployment.
TUNABLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "SWEEP_THREADS": "16",
        "LEASE_WAIT_SECONDS": "2",
        "PUT_RETRY_SECONDS": "3",
        "VERIFY_SECONDS": "8",
        "LEASE_SECONDS": "330",
        "QUARANTINE_THRESHOLD": "3",
        "QUARANTINE_WINDOW_SECONDS": "3600",
        "AUDIT_RETENTION_DAYS": "400",
    }
)


def settings_from_outputs(stack_arn: str, outputs: Mapping[str, str]) -> dict[str, str]:
    """The functions' settings from a stack's ARN and outputs (pure)."""
    missing = sorted(name for name in STACK_OUTPUTS if name not in outputs)
    if missing:
        raise ConfigError(
            f"stack {stack_arn.split('/')[1] if '/' in stack_arn else stack_arn} has no "
            f"output {', '.join(missing)}: is it driftguard's hub stack, and up to date?"
        )
    settings = {variable: outputs[name] for name, variable in STACK_OUTPUTS.items()}
    if settings["MEMBER_ACCOUNT_IDS"] == ORGANIZATION:
        settings["MEMBER_ACCOUNT_IDS"] = ""
    return {**TUNABLES, **settings, "PARTITION": stack_arn.split(":")[1]}


def read_stack(cloudformation: Any, name: str, region: str) -> dict[str, str]:
    """The settings of the hub stack `name` (DescribeStacks, one call)."""
    try:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ValidationError":
            raise ConfigError(f"stack {name} not found in {region}") from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return settings_from_outputs(str(stack["StackId"]), outputs)
