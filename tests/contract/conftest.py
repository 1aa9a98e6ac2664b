"""Fixtures for contract tests: template.yaml read the way the sandbox reads it.

Nothing here deploys or starts anything: `load_template` and `function_specs`
resolve the template with its default parameters, as if deployed in the hub
account, without AWS and without moto.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from driftguard_sandbox.template import (
    FunctionSpec,
    ResolveContext,
    Template,
    function_specs,
    load_template,
    operator_parameters,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
HUB = "333333333333"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def template() -> Template:
    return load_template(TEMPLATE)


@pytest.fixture(scope="session")
def context(template: Template) -> ResolveContext:
    """Default and operator parameters; physical names as the sandbox deploys them."""
    return ResolveContext.for_template(
        template,
        account_id=HUB,
        region=REGION,
        parameters=operator_parameters(HUB, REGION),
    )


@pytest.fixture(scope="session")
def specs(template: Template, context: ResolveContext) -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function by logical id, Globals merged in."""
    return {spec.logical_id: spec for spec in function_specs(template, context)}
