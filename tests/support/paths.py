"""The story's access path in the sandbox: declared and signed as `driftguard
declare-path` does it, stored with the other declared state, and checked by the one
check (driftguard.path_check) with the clients the functions build."""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Literal

from driftguard.aws import AwsClients
from driftguard.config import Config
from driftguard.path_check import PathVerdict, check
from driftguard.path_model import AccessPath, Irsa, PathDeclaration, PodIdentity
from driftguard.path_store import PathStore
from driftguard.retry import SYSTEM_CLOCK
from driftguard.signing import KmsSignatures
from driftguard.state import StateStore
from driftguard.vocabulary import Mode
from driftguard_cli.path_declaring import apply_plan, plan_path
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import OIDC_HOST, POD_ROLE_ARN, REGION, WORKLOAD, Story

NAMESPACE, SERVICE_ACCOUNT = "testnamespace", "testapp"
CLUSTER = "testcluster"
CLUSTER_ARN = f"arn:aws:eks:{REGION}:{WORKLOAD}:cluster/{CLUSTER}"
PROVIDER_ARN = f"arn:aws:iam::{WORKLOAD}:oidc-provider/{OIDC_HOST}"
PATH_NAME = "testnamespace/testsecret"


def hub_clients(sandbox: Sandbox) -> AwsClients:
    """AwsClients as the functions build them (driftguard.runtime.Runtime.from_env):
    the hub functions' role, into the guarded accounts through the remediation role."""
    config = Config.from_env()
    return AwsClients(
        remediation_role_name=config.remediation_role_name,
        session=sandbox.hub_session(),
        partition=config.partition,
        member_accounts=config.member_accounts,
    )


def signatures(sandbox: Sandbox) -> KmsSignatures:
    """The signing key, as the CLI uses it (moto does not enforce the key policy that
    lets only the declarer role sign, so the functions' credentials sign here)."""
    return KmsSignatures(partial(sandbox.hub_client, "kms"), Config.from_env().signing_key_id)


def story_path(story: Story, via: Literal["irsa", "pod-identity"] = "irsa") -> AccessPath:
    access = (
        Irsa(PROVIDER_ARN, NAMESPACE, SERVICE_ACCOUNT)
        if via == "irsa"
        else PodIdentity(CLUSTER_ARN, NAMESPACE, SERVICE_ACCOUNT)
    )
    return AccessPath(POD_ROLE_ARN, story.secret_arn, story.key_arn, access)


def declare_story_path(
    sandbox: Sandbox,
    store: StateStore,
    story: Story,
    *,
    mode: Mode = Mode.ENFORCE,
    via: Literal["irsa", "pod-identity"] = "irsa",
    boundary_arn: str | None = None,
) -> PathDeclaration:
    """The story's path declared, signed and stored (a first declaration)."""
    paths = PathStore(store)
    plan = plan_path(
        paths.get(PATH_NAME),
        name=PATH_NAME,
        path=story_path(story, via),
        mode=mode,
        boundary_arn=boundary_arn,
        declared_by=str(sandbox.hub_client("sts").get_caller_identity()["Arn"]),
        clock=SYSTEM_CLOCK,
    )
    return apply_plan(plan, signatures=signatures(sandbox), paths=paths, clock=SYSTEM_CLOCK)


def check_story_path(sandbox: Sandbox, declaration: PathDeclaration) -> PathVerdict:
    """The one check, as the CLI, the events and the sweep run it."""
    return check(
        declaration,
        clients=hub_clients(sandbox),
        verifier=signatures(sandbox),
        clock=SYSTEM_CLOCK,
    )


def pod_identity_trust() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }


def use_pod_identity(story: Story) -> str:
    """The platform team moves pod-role to EKS Pod Identity: a cluster, the role's
    trust for the EKS agent, and the association; its id."""
    eks = story.platform.client("eks")
    eks.create_cluster(
        name=CLUSTER,
        roleArn=f"arn:aws:iam::{WORKLOAD}:role/eks-cluster",
        resourcesVpcConfig={"subnetIds": ["subnet-0a1b2c3d"]},
    )
    story.iam.update_assume_role_policy(
        RoleName="pod-role", PolicyDocument=json.dumps(pod_identity_trust())
    )
    association = eks.create_pod_identity_association(
        clusterName=CLUSTER,
        namespace=NAMESPACE,
        serviceAccount=SERVICE_ACCOUNT,
        roleArn=POD_ROLE_ARN,
    )["association"]
    return str(association["associationId"])
