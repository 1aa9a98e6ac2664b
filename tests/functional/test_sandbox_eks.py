"""The sandbox's AWS behaviours added for access paths (driftguard_sandbox.aws_gaps 10
to 12): EKS Pod Identity associations as the EKS API answers them, with their
CloudTrail events; a replica's ReplicationStatus naming the key it was given; KMS key
state calls by key ARN."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftguard_sandbox.sandbox import Sandbox

WORKLOAD = "111111111111"
ROLE = f"arn:aws:iam::{WORKLOAD}:role/pod-role"


def eks(sandbox: Sandbox, account: str = WORKLOAD) -> Any:
    return sandbox.session(account, "PlatformAdmin", "platform-admin").client(
        "eks", endpoint_url=sandbox.endpoint_url
    )


def cluster(client: Any, name: str = "testcluster") -> None:
    client.create_cluster(
        name=name,
        roleArn=f"arn:aws:iam::{WORKLOAD}:role/eks-cluster",
        resourcesVpcConfig={"subnetIds": ["subnet-0a1b2c3d"]},
    )


def associate(client: Any, service_account: str, namespace: str = "testnamespace") -> Any:
    return client.create_pod_identity_association(
        clusterName="testcluster",
        namespace=namespace,
        serviceAccount=service_account,
        roleArn=ROLE,
    )["association"]


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_associations_are_created_listed_described_and_deleted(sandbox: Sandbox) -> None:
    client = eks(sandbox)
    cluster(client)
    first = associate(client, "testapp")
    associate(client, "other")
    associate(client, "testapp", namespace="elsewhere")

    assert first["associationId"].startswith("a-") and first["roleArn"] == ROLE
    assert first["associationArn"] == (
        f"arn:aws:eks:us-east-1:{WORKLOAD}:podidentityassociation/testcluster/"
        f"{first['associationId']}"
    )
    listed = client.list_pod_identity_associations(
        clusterName="testcluster", namespace="testnamespace", serviceAccount="testapp"
    )["associations"]
    assert [a["associationId"] for a in listed] == [first["associationId"]]
    assert "roleArn" not in listed[0]  # a summary: only Describe names the role
    described = client.describe_pod_identity_association(
        clusterName="testcluster", associationId=first["associationId"]
    )["association"]
    assert described["roleArn"] == ROLE and described["serviceAccount"] == "testapp"

    deleted = client.delete_pod_identity_association(
        clusterName="testcluster", associationId=first["associationId"]
    )["association"]
    assert deleted["associationId"] == first["associationId"]
    with pytest.raises(ClientError) as gone:
        client.describe_pod_identity_association(
            clusterName="testcluster", associationId=first["associationId"]
        )
    assert code(gone) == "ResourceNotFoundException"
    remaining = client.list_pod_identity_associations(clusterName="testcluster")["associations"]
    assert sorted(a["serviceAccount"] for a in remaining) == ["other", "testapp"]


def test_what_eks_refuses(sandbox: Sandbox) -> None:
    client = eks(sandbox)
    with pytest.raises(ClientError) as no_cluster:
        client.list_pod_identity_associations(clusterName="testcluster")
    assert code(no_cluster) == "ResourceNotFoundException"
    cluster(client)
    associate(client, "testapp")
    with pytest.raises(ClientError) as again:
        associate(client, "testapp")
    assert code(again) == "ResourceInUseException"
    with pytest.raises(ClientError) as elsewhere:  # the cluster is the workload account's
        eks(sandbox, "222222222222").list_pod_identity_associations(clusterName="testcluster")
    assert code(elsewhere) == "ResourceNotFoundException"


def test_associations_page_and_go_with_their_cluster(sandbox: Sandbox) -> None:
    client = eks(sandbox)
    cluster(client)
    for service_account in ("a", "b", "c"):
        associate(client, service_account)
    first = client.list_pod_identity_associations(clusterName="testcluster", maxResults=2)
    assert len(first["associations"]) == 2 and first["nextToken"]
    pages = client.get_paginator("list_pod_identity_associations").paginate(
        clusterName="testcluster", PaginationConfig={"PageSize": 2}
    )
    assert sorted(a["serviceAccount"] for p in pages for a in p["associations"]) == ["a", "b", "c"]

    client.delete_cluster(name="testcluster")
    cluster(client)
    assert client.list_pod_identity_associations(clusterName="testcluster")["associations"] == []


def test_a_reset_forgets_the_associations(sandbox: Sandbox) -> None:
    client = eks(sandbox)
    cluster(client)
    associate(client, "testapp")
    sandbox.reset()
    cluster(client)
    assert client.list_pod_identity_associations(clusterName="testcluster")["associations"] == []


def test_the_mutating_calls_are_cloudtrail_events(sandbox: Sandbox) -> None:
    client = eks(sandbox)
    cluster(client)
    association = associate(client, "testapp")
    client.list_pod_identity_associations(clusterName="testcluster")
    client.describe_pod_identity_association(
        clusterName="testcluster", associationId=association["associationId"]
    )
    client.delete_pod_identity_association(
        clusterName="testcluster", associationId=association["associationId"]
    )

    events = [e for e in sandbox.events if e["source"] == "aws.eks"]
    assert [e["detail"]["eventName"] for e in events] == [
        "CreateCluster",
        "CreatePodIdentityAssociation",
        "DeletePodIdentityAssociation",
    ]
    created, deleted = events[1]["detail"], events[2]["detail"]
    assert created["eventSource"] == "eks.amazonaws.com" and created["awsRegion"] == "us-east-1"
    assert created["recipientAccountId"] == WORKLOAD
    assert {
        k: created["requestParameters"][k]
        for k in ("clusterName", "namespace", "serviceAccount", "roleArn")
    } == {
        "clusterName": "testcluster",
        "namespace": "testnamespace",
        "serviceAccount": "testapp",
        "roleArn": ROLE,
    }
    assert deleted["requestParameters"] == {
        "clusterName": "testcluster",
        "associationId": association["associationId"],
    }
    assert deleted["responseElements"]["association"]["roleArn"] == ROLE


def test_a_replica_names_the_key_it_was_given(sandbox: Sandbox) -> None:
    session = sandbox.session("222222222222", "DataAdmin", "data-admin")
    secrets = session.client("secretsmanager", endpoint_url=sandbox.endpoint_url)
    key = "arn:aws:kms:us-west-2:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    arn = secrets.create_secret(Name="replicated", SecretString="x")["ARN"]
    secrets.replicate_secret_to_regions(
        SecretId=arn,
        AddReplicaRegions=[{"Region": "us-west-2", "KmsKeyId": key}, {"Region": "eu-west-1"}],
    )
    status = secrets.describe_secret(SecretId=arn)["ReplicationStatus"]
    assert {s["Region"]: s["KmsKeyId"] for s in status} == {
        "us-west-2": key,
        "eu-west-1": "alias/aws/secretsmanager",
    }


def test_key_state_calls_take_the_key_arn(sandbox: Sandbox) -> None:
    kms = sandbox.session("333333333333", "SecurityAdmin", "security-admin").client(
        "kms", endpoint_url=sandbox.endpoint_url
    )
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.disable_key(KeyId=arn)
    kms.enable_key(KeyId=arn)
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Disabled"
    recorded = [
        e["detail"]["requestParameters"]["keyId"]
        for e in sandbox.events
        if e["detail"]["eventName"] in ("DisableKey", "ScheduleKeyDeletion")
    ]
    assert recorded == [arn, arn]  # CloudTrail records what the caller sent
