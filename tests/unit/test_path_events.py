"""Which declared access paths a CloudTrail call touches, and the safe fix (pure, as
tables); the path watch around them with fakes (the fix, the bounded re-read, one alert
per change); the two path alerts as Slack shows them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftguard import path_watch
from driftguard.events import CloudTrailDetail, parse_cloudtrail
from driftguard.notify.blocks import build_message, render_terminal
from driftguard.path_check import PathVerdict
from driftguard.path_events import (
    FIX_ACTIONS,
    KEY_FIXES,
    PATH_EVENTS,
    fix_calls,
    may_fix,
    named,
    not_watched,
    touched,
)
from driftguard.path_model import AccessPath, Irsa, PathDeclaration, PodIdentity
from driftguard.path_store import PathStatus
from driftguard.path_watch import FixNotVisibleError, PathWatch
from driftguard.paths import LinkResult
from driftguard.vocabulary import AlertType, Link, Mode
from tests.support.fakes import START, FakeClock, FakePublisher, FakeSignatures

WORKLOAD, DATA, SECURITY, REGION = "111111111111", "222222222222", "333333333333", "us-east-1"
ROLE = f"arn:aws:iam::{WORKLOAD}:role/pod-role"
SECRET = f"arn:aws:secretsmanager:{REGION}:{DATA}:secret:testsecret-AbCdEf"
KEY_ID = "0f6a3c2e-8a57-4d7e-9b0c-2d1e5f4a7b91"
KEY = f"arn:aws:kms:{REGION}:{SECURITY}:key/{KEY_ID}"
HOST = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = f"arn:aws:iam::{WORKLOAD}:oidc-provider/{HOST}"
CLUSTER = f"arn:aws:eks:{REGION}:{WORKLOAD}:cluster/testcluster"
MALLORY = f"arn:aws:sts::{SECURITY}:assumed-role/Developer/mallory"
SIGNATURES = FakeSignatures()


def declared(name: str, path: AccessPath, mode: Mode = Mode.ENFORCE) -> PathDeclaration:
    return SIGNATURES.sign(PathDeclaration(name, path, mode, 1, "security-team", START))


# The story's path (IRSA), the same workload through Pod Identity, and one that shares
# nothing with them (other role, secret, key and provider).
STORY = declared(
    "testapp", AccessPath(ROLE, SECRET, KEY, Irsa(PROVIDER, "testnamespace", "testapp"))
)
POD = declared(
    "testapp-pod-identity",
    AccessPath(ROLE, SECRET, KEY, PodIdentity(CLUSTER, "testnamespace", "testapp")),
)
OTHER = declared(
    "billing",
    AccessPath(
        f"arn:aws:iam::{WORKLOAD}:role/billing-role",
        f"arn:aws:secretsmanager:{REGION}:{DATA}:secret:billing-XyZ123",
        f"arn:aws:kms:{REGION}:{SECURITY}:key/9d1e2f3a-0000-4000-8000-000000000009",
        Irsa(
            f"arn:aws:iam::{WORKLOAD}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/OTHER",
            "billing",
            "app",
        ),
    ),
)
DECLARED = (STORY, POD, OTHER)


def event(
    source: str,
    name: str,
    request: dict[str, Any] | None = None,
    *,
    account: str = SECURITY,
    region: str = REGION,
    response: dict[str, Any] | None = None,
    resources: list[str] = (),  # type: ignore[assignment]
    who: str = MALLORY,
    error: str | None = None,
) -> CloudTrailDetail:
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "eventTime": "2026-12-01T09:00:00Z",
        "awsRegion": region,
        "recipientAccountId": account,
        "eventID": f"event-{name}",
        "userIdentity": {"type": "AssumedRole", "arn": who},
        "requestParameters": request,
        "responseElements": response,
        "resources": [{"type": "AWS::KMS::Key", "ARN": arn} for arn in resources] or None,
    }
    if error:
        detail["errorCode"] = error
    return parse_cloudtrail(
        {
            "version": "0",
            "id": "1",
            "detail-type": "AWS API Call via CloudTrail",
            "source": f"aws.{source}",
            "account": account,
            "time": "2026-12-01T09:00:00Z",
            "region": region,
            "resources": [],
            "detail": detail,
        }
    )


def kms(call: str, key_id: str = KEY, /, **request: Any) -> CloudTrailDetail:
    return event("kms", call, {"keyId": key_id, **request})


def secrets(call: str, secret_id: str = SECRET, /, **request: Any) -> CloudTrailDetail:
    return event("secretsmanager", call, {"secretId": secret_id, **request}, account=DATA)


def iam(call: str, /, **request: Any) -> CloudTrailDetail:
    return event("iam", call, request, account=WORKLOAD)


def eks(call: str, /, **request: Any) -> CloudTrailDetail:
    return event("eks", call, request, account=WORKLOAD)


BOTH = {"testapp", "testapp-pod-identity"}
# (what happened, the call, the paths it touches)
TOUCHES: list[tuple[str, CloudTrailDetail, set[str]]] = [
    ("key scheduled for deletion, by ARN", kms("ScheduleKeyDeletion", pendingWindowInDays=7), BOTH),
    ("key disabled, by key id", kms("DisableKey", KEY_ID), BOTH),
    (
        "key id in another region",
        event("kms", "DisableKey", {"keyId": KEY_ID}, region="eu-west-1"),
        set(),
    ),
    (
        "key id in another account",
        event("kms", "DisableKey", {"keyId": KEY_ID}, account=DATA),
        set(),
    ),
    ("another key", kms("DisableKey", OTHER.path.key_arn), {"billing"}),
    (
        "key named by CloudTrail's resources only",
        event("kms", "RetireGrant", {"grantToken": "t"}, resources=[KEY]),
        BOTH,
    ),
    (
        "grant retired by token, no key named",
        event("kms", "RetireGrant", {"grantToken": "t"}),
        BOTH | {"billing"},
    ),
    (
        "key by alias",
        kms("CreateGrant", "alias/testsecret", granteePrincipal=ROLE),
        BOTH | {"billing"},
    ),
    ("key enabled again", kms("EnableKey", KEY_ID), BOTH),
    ("deletion cancelled", kms("CancelKeyDeletion"), BOTH),
    ("grant created", kms("CreateGrant", granteePrincipal="arn:aws:iam::444455556666:root"), BOTH),
    ("grant revoked", kms("RevokeGrant", grantId="g-1"), BOTH),
    ("key replicated", kms("ReplicateKey", replicaRegion="eu-west-1"), BOTH),
    ("key policy put (in process after PolicyEventsFunction)", kms("PutKeyPolicy"), BOTH),
    (
        "secret re-keyed, by name",
        secrets("UpdateSecret", "testsecret", kmsKeyId="alias/other"),
        BOTH,
    ),
    (
        "secret updated, same key",
        secrets("UpdateSecret", "testsecret", description="rotated"),
        set(),
    ),
    ("secret deleted, by ARN", secrets("DeleteSecret", recoveryWindowInDays=7), BOTH),
    ("secret restored, by partial ARN", secrets("RestoreSecret", SECRET[:-7]), BOTH),
    ("secret named with its suffix", secrets("DeleteSecret", "testsecret-AbCdEf"), BOTH),
    ("a secret named alike", secrets("DeleteSecret", "testsecret-old"), set()),
    ("secret policy deleted", secrets("DeleteResourcePolicy"), BOTH),
    ("secret policy put", secrets("PutResourcePolicy", resourcePolicy="{}"), BOTH),
    (
        "secret replicated",
        secrets("ReplicateSecretToRegions", addReplicaRegions=[{"region": "eu-west-1"}]),
        BOTH,
    ),
    (
        "replica removed",
        secrets("RemoveRegionsFromReplication", removeReplicaRegions=["eu-west-1"]),
        BOTH,
    ),
    (
        "role policy detached",
        iam("DetachRolePolicy", roleName="pod-role", policyArn="arn:aws:iam::aws:policy/x"),
        BOTH,
    ),
    (
        "inline policy deleted, name in other case",
        iam("DeleteRolePolicy", roleName="POD-ROLE", policyName="read"),
        BOTH,
    ),
    ("inline policy put", iam("PutRolePolicy", roleName="pod-role", policyName="read"), BOTH),
    (
        "managed policy attached",
        iam("AttachRolePolicy", roleName="pod-role", policyArn="arn:aws:iam::aws:policy/x"),
        BOTH,
    ),
    (
        "boundary put",
        iam(
            "PutRolePermissionsBoundary",
            roleName="pod-role",
            permissionsBoundary="arn:aws:iam::aws:policy/b",
        ),
        BOTH,
    ),
    ("boundary deleted", iam("DeleteRolePermissionsBoundary", roleName="pod-role"), BOTH),
    (
        "trust policy updated",
        iam("UpdateAssumeRolePolicy", roleName="pod-role", policyDocument="{}"),
        BOTH,
    ),
    ("role deleted", iam("DeleteRole", roleName="pod-role"), BOTH),
    ("role created", iam("CreateRole", roleName="pod-role", assumeRolePolicyDocument="{}"), BOTH),
    (
        "another role",
        iam("DeleteRolePolicy", roleName="billing-role", policyName="read"),
        {"billing"},
    ),
    (
        "a role of the same name in another account",
        event("iam", "DeleteRole", {"roleName": "pod-role"}, account=DATA),
        set(),
    ),
    (
        "new default version of a managed policy",
        iam(
            "CreatePolicyVersion",
            policyArn=f"arn:aws:iam::{WORKLOAD}:policy/read",
            setAsDefault=True,
        ),
        BOTH | {"billing"},
    ),
    (
        "a version that is not the default",
        iam(
            "CreatePolicyVersion",
            policyArn=f"arn:aws:iam::{WORKLOAD}:policy/read",
            setAsDefault=False,
        ),
        set(),
    ),
    (
        "default version set",
        iam(
            "SetDefaultPolicyVersion",
            policyArn=f"arn:aws:iam::{WORKLOAD}:policy/read",
            versionId="v2",
        ),
        BOTH | {"billing"},
    ),
    (
        "OIDC provider deleted",
        iam("DeleteOpenIDConnectProvider", openIDConnectProviderArn=PROVIDER),
        {"testapp"},
    ),
    (
        "OIDC provider created (its URL)",
        iam(
            "CreateOpenIDConnectProvider", url=f"https://{HOST}", clientIDList=["sts.amazonaws.com"]
        ),
        {"testapp"},
    ),
    (
        "another OIDC provider",
        iam("DeleteOpenIDConnectProvider", openIDConnectProviderArn=PROVIDER + "X"),
        set(),
    ),
    (
        "association deleted",
        eks("DeletePodIdentityAssociation", clusterName="testcluster", associationId="a-1"),
        {"testapp-pod-identity"},
    ),
    (
        "association created (URI name)",
        eks("CreatePodIdentityAssociation", name="testcluster", namespace="testnamespace"),
        {"testapp-pod-identity"},
    ),
    (
        "another cluster",
        eks("DeletePodIdentityAssociation", clusterName="prod", associationId="a-1"),
        set(),
    ),
    ("not a path call", kms("TagResource"), set()),
]


@pytest.mark.parametrize(("what", "detail", "paths"), TOUCHES, ids=[row[0] for row in TOUCHES])
def test_a_call_touches_the_paths_standing_on_what_it_changed(
    what: str, detail: CloudTrailDetail, paths: set[str]
) -> None:
    assert {d.name for d in touched(DECLARED, detail)} == paths


def test_the_table_covers_every_call_the_watch_hears() -> None:
    covered = {(row[1].event_source, row[1].event_name) for row in TOUCHES}
    every = {(source, name) for source, names in PATH_EVENTS.items() for name in names}
    assert every <= covered


REMEDIATION = "driftguard-remediation"
DRIFTGUARD = f"arn:aws:sts::{SECURITY}:assumed-role/{REMEDIATION}/driftguard"


def test_failed_calls_driftguards_own_and_other_calls_are_not_watched() -> None:
    assert not_watched(kms("DisableKey"), REMEDIATION) is None
    assert not_watched(
        event("kms", "DisableKey", {"keyId": KEY}, error="AccessDenied"), REMEDIATION
    )
    own = event("kms", "EnableKey", {"keyId": KEY}, who=DRIFTGUARD)
    own_detail = own.model_copy(
        update={
            "user_identity": own.user_identity.model_copy(
                update={"session_context": _issuer(f"arn:aws:iam::{SECURITY}:role/{REMEDIATION}")}
            )
        }
    )
    assert not_watched(own_detail, REMEDIATION) == "driftguard's own change"
    assert not_watched(kms("TagResource"), REMEDIATION) == "TagResource touches no access path"


def _issuer(arn: str) -> Any:
    from driftguard.events import SessionContext, SessionIssuer

    return SessionContext(sessionIssuer=SessionIssuer(arn=arn))


# (the call, the path's mode, whether the safe fix applies)
FIXES = [
    (kms("ScheduleKeyDeletion", pendingWindowInDays=7), Mode.ENFORCE, True),
    (kms("DisableKey", KEY_ID), Mode.ENFORCE, True),
    (kms("DisableKey", KEY_ID), Mode.DETECT, False),
    (kms("DisableKey", OTHER.path.key_arn), Mode.ENFORCE, False),  # another key
    (kms("PutKeyPolicy"), Mode.ENFORCE, False),  # a policy: the kinds restore those
    (kms("CreateGrant", granteePrincipal=ROLE), Mode.ENFORCE, False),
    (secrets("DeleteSecret"), Mode.ENFORCE, False),  # no safe fix for a secret
    (iam("DetachRolePolicy", roleName="pod-role", policyArn="p"), Mode.ENFORCE, False),
    (iam("DeleteOpenIDConnectProvider", openIDConnectProviderArn=PROVIDER), Mode.ENFORCE, False),
]


@pytest.mark.parametrize(
    ("detail", "mode", "fixes"), FIXES, ids=lambda v: getattr(v, "event_name", str(v))
)
def test_only_a_disabled_or_deleted_key_of_an_enforced_path_is_fixed(
    detail: CloudTrailDetail, mode: Mode, fixes: bool
) -> None:
    assert may_fix(replace(STORY, mode=mode), detail) is fixes


@pytest.mark.parametrize(
    ("state", "calls"),
    [
        ("PendingDeletion", ("CancelKeyDeletion", "EnableKey")),  # cancelling leaves it disabled
        ("Disabled", ("EnableKey",)),
        ("Enabled", ()),
        ("PendingImport", ()),
        ("PendingReplicaDeletion", ()),
        (None, ()),  # no such key: nothing to enable
    ],
)
def test_the_fix_is_what_the_keys_state_needs_and_nothing_else(
    state: str | None, calls: tuple[str, ...]
) -> None:
    assert fix_calls(state) == calls
    assert {f"kms:{c}" for cs in KEY_FIXES.values() for c in cs} == FIX_ACTIONS
    assert {"kms:CancelKeyDeletion", "kms:EnableKey"} == FIX_ACTIONS


def test_what_a_call_names() -> None:
    what = named(event("kms", "ScheduleKeyDeletion", {"keyId": KEY_ID}, response={"keyId": KEY}))
    assert what is not None
    assert (what.link, what.account, what.region) == (Link.KEY_STATE, SECURITY, REGION)
    assert what.ids == {KEY_ID, KEY}


# --------------------------------------------------------------------------- the watch


class Kms:
    """A key whose state the fix changes; `lag` reads after a fix still show the old."""

    def __init__(self, state: str, lag: int = 0) -> None:
        self.state, self.lag = state, lag
        self.calls: list[str] = []

    def describe_key(self, KeyId: str) -> dict[str, Any]:
        if self.lag and self.calls:
            self.lag -= 1
            return {"KeyMetadata": {"KeyState": "Disabled"}}
        return {"KeyMetadata": {"KeyState": self.state}}

    def cancel_key_deletion(self, KeyId: str) -> None:
        self.calls.append("CancelKeyDeletion")
        self.state = "Disabled"

    def enable_key(self, KeyId: str) -> None:
        self.calls.append("EnableKey")
        self.state = "Enabled"


class Clients:
    def __init__(self, key: Kms) -> None:
        self.key = key

    def in_account(self, account: str, service: str, region: str | None = None) -> Kms:
        assert (account, service, region) == (SECURITY, "kms", REGION)
        return self.key


class Store:
    """PathStore's contract in memory: record is True once per change of the first
    broken link (a path that works from its first check changed nothing)."""

    def __init__(self, *declarations: PathDeclaration) -> None:
        self.paths = list(declarations)
        self.saved: dict[str, PathStatus] = {}

    def declarations(self) -> list[PathDeclaration]:
        return list(self.paths)

    def status(self, name: str) -> PathStatus | None:
        return self.saved.get(name)

    def record(self, status: PathStatus) -> bool:
        before = self.saved.get(status.name)
        self.saved[status.name] = status
        return (before.broken if before else None) != status.broken


def verdict_of(key: Kms, declaration: PathDeclaration, at: datetime) -> PathVerdict:
    state = key.describe_key(KeyId=KEY)["KeyMetadata"]["KeyState"]
    links = tuple(
        LinkResult(link, True, "holds")
        if link is not Link.KEY_STATE or state == "Enabled"
        else LinkResult(link, False, f"the key is {state}", "enable the key")
        for link in Link
    )
    return PathVerdict(declaration, links, (), at)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Any:
    def make(state: str = "PendingDeletion", mode: Mode = Mode.ENFORCE, lag: int = 0) -> Any:
        key, clock, publisher = Kms(state, lag), FakeClock(), FakePublisher()
        declaration = declared("testapp", STORY.path, mode)
        store = Store(declaration)

        def check(declaration: PathDeclaration, **kwargs: Any) -> PathVerdict:
            kwargs["verifier"].verify(declaration)
            return verdict_of(key, declaration, clock.now())

        monkeypatch.setattr(path_watch, "check", check)
        watch = PathWatch(
            store,  # type: ignore[arg-type]
            Clients(key),  # type: ignore[arg-type]
            SIGNATURES,
            publisher,  # type: ignore[arg-type]
            remediation_role_name=REMEDIATION,
            clock=clock,
        )
        return watch, key, clock, publisher, store

    return make


def test_enforce_cancels_the_deletion_enables_the_key_and_alerts_broken_then_healed(
    world: Any,
) -> None:
    watch, key, clock, publisher, _ = world()
    (result,) = watch.on_event(kms("ScheduleKeyDeletion", pendingWindowInDays=7))
    assert key.calls == ["CancelKeyDeletion", "EnableKey"]
    assert [a.type for a in publisher.alerts] == [AlertType.PATH_BROKEN, AlertType.PATH_HEALED]
    broken, healed = (a.path for a in publisher.alerts)
    assert broken is not None and healed is not None
    assert (broken.broken, broken.reason) == (Link.KEY_STATE, "the key is PendingDeletion")
    assert broken.driftguard_calls == healed.driftguard_calls == key.calls
    assert publisher.alerts[0].event_name == "ScheduleKeyDeletion"
    assert publisher.alerts[0].actor == MALLORY
    assert result.as_dict() == {
        "path": "testapp",
        "broken": None,
        "alerts": ["path-broken", "path-healed"],
        "fixed": ["CancelKeyDeletion", "EnableKey"],
    }
    assert clock.sleeps == []  # KMS showed the fix at once: no waiting


def test_a_fix_not_yet_visible_is_read_again_a_bounded_number_of_times(world: Any) -> None:
    watch, key, clock, publisher, _ = world("Disabled", lag=2)
    watch.on_event(kms("DisableKey", KEY_ID))
    assert key.calls == ["EnableKey"]
    assert clock.sleeps == [0.25, 0.5]
    assert [a.type for a in publisher.alerts] == [AlertType.PATH_BROKEN, AlertType.PATH_HEALED]


def test_a_fix_that_stays_invisible_fails_the_invocation_for_a_retry(world: Any) -> None:
    watch, key, clock, publisher, store = world("Disabled", lag=100)
    with pytest.raises(FixNotVisibleError):
        watch.on_event(kms("DisableKey", KEY_ID))
    assert key.calls == ["EnableKey"]
    assert len(clock.sleeps) == path_watch.SETTLE_READS - 1
    assert sum(clock.sleeps) < 5  # a few seconds, never a blind long sleep
    assert [a.type for a in publisher.alerts] == [AlertType.PATH_BROKEN]
    # The retry (KMS caught up) heals it, without a second broken alert.
    key.lag = 0
    (result,) = watch.on_event(kms("DisableKey", KEY_ID))
    assert [a.type for a in publisher.alerts] == [AlertType.PATH_BROKEN, AlertType.PATH_HEALED]
    assert result.fixed == ()  # nothing left to fix
    assert store.saved["testapp"].ok


def test_detect_mode_alerts_once_and_fixes_nothing(world: Any) -> None:
    watch, key, _, publisher, _ = world("Disabled", mode=Mode.DETECT)
    disabled = kms("DisableKey", KEY_ID)
    watch.on_event(disabled)
    watch.on_event(disabled)  # delivered again
    assert key.calls == []
    assert [a.type for a in publisher.alerts] == [AlertType.PATH_BROKEN]
    assert publisher.alerts[0].path is not None
    assert publisher.alerts[0].path.driftguard_calls == []


def test_a_declaration_nobody_signed_is_neither_checked_nor_fixed(world: Any) -> None:
    watch, key, _, publisher, store = world()
    store.paths = [replace(store.paths[0], signature="forged")]
    (result,) = watch.on_event(kms("ScheduleKeyDeletion"))
    assert result.refused
    assert key.calls == [] and publisher.alerts == []


def test_a_call_on_something_else_checks_nothing(world: Any) -> None:
    watch, key, _, publisher, _ = world()
    assert watch.on_event(kms("ScheduleKeyDeletion", OTHER.path.key_arn)) == []
    assert key.calls == [] and publisher.alerts == []


# --------------------------------------------------------------------------- the alerts


def test_the_broken_alert_says_path_link_reason_fix_call_actor_and_what_driftguard_does(
    world: Any,
) -> None:
    watch, _, _, publisher, _ = world()
    watch.on_event(kms("ScheduleKeyDeletion"))
    broken, healed = (render_terminal(build_message(a).payload()) for a in publisher.alerts)
    for text in (
        "Access path broken: testapp",
        "First broken link: `key-state`: the key is enabled",
        "Fix: ```enable the key```",
        f"Broken by: {MALLORY}",
        "Call: `ScheduleKeyDeletion`",
        "Why: the key is PendingDeletion",
        "driftguard: putting it right (enforce mode): `CancelKeyDeletion`, `EnableKey`",
        "driftguard verify-path testapp",
    ):
        assert text in broken, f"{text!r} not in\n{broken}"
    assert "Access path works again: testapp" in healed
    assert "driftguard: put it right: `CancelKeyDeletion`, `EnableKey`, then verified" in healed
    # driftguard healed it: the call's maker broke it, and is not credited with the heal.
    assert f"Broken by: {MALLORY}" in healed and "Healed by" not in healed


def test_the_broken_alert_in_detect_mode_says_driftguard_did_nothing(world: Any) -> None:
    watch, _, _, publisher, _ = world("Disabled", mode=Mode.DETECT)
    watch.on_event(kms("DisableKey", KEY_ID))
    (text,) = (render_terminal(build_message(a).payload()) for a in publisher.alerts)
    assert "driftguard: nothing: detect mode" in text


def replicate(replica: str | None) -> CloudTrailDetail:
    response = {"replicaKeyMetadata": {"arn": replica}} if replica else None
    return event(
        "kms", "ReplicateKey", {"keyId": KEY, "replicaRegion": "eu-west-1"}, response=response
    )


def test_a_replica_of_a_path_s_key_is_offered_for_adoption_once(world: Any) -> None:
    watch, key, _, publisher, _ = world("Enabled")
    replica = KEY.replace(REGION, "eu-west-1")
    watch.on_event(replicate(replica))
    (alert,) = publisher.alerts
    assert alert.type is AlertType.KEY_REPLICATED
    assert [r.arn for r in alert.resources] == [replica]
    assert f"driftguard adopt {replica}" in alert.resources[0].reason
    assert key.calls == []  # nothing written: an offer, not a fix


@pytest.mark.parametrize(
    ("detail", "why"),
    [
        (replicate(None), "no replica named"),
        (replicate("not-an-arn"), "no replica named"),
        (kms("ReplicateKey", OTHER.path.key_arn), "not a declared path's key"),
    ],
)
def test_no_offer_without_a_replica_of_a_path_s_key(
    world: Any, detail: CloudTrailDetail, why: str
) -> None:
    watch, _, _, publisher, _ = world("Enabled")
    watch.on_event(detail)
    assert [a.type for a in publisher.alerts if a.type is AlertType.KEY_REPLICATED] == [], why


def test_a_grant_on_a_path_s_key_is_alerted_with_its_grantee_and_how_to_revoke_it(
    world: Any,
) -> None:
    watch, key, _, publisher, _ = world("Enabled")
    grantee = "arn:aws:iam::444455556666:root"
    detail = event(
        "kms",
        "CreateGrant",
        {"keyId": KEY, "granteePrincipal": grantee, "operations": ["Decrypt"]},
        response={"grantId": "g-123"},
    )
    watch.on_event(detail)
    (alert,) = publisher.alerts
    assert alert.type is AlertType.KEY_GRANT_CREATED
    reason = alert.resources[0].reason
    assert grantee in reason and "Decrypt" in reason
    assert f"aws kms revoke-grant --key-id {KEY} --grant-id g-123" in reason
    assert alert.actor == MALLORY and key.calls == []


def test_no_grant_alert_for_a_key_no_path_declares(world: Any) -> None:
    watch, _, _, publisher, _ = world("Enabled")
    watch.on_event(kms("CreateGrant", OTHER.path.key_arn, granteePrincipal="x"))
    assert publisher.alerts == []


def test_a_path_that_cannot_be_read_does_not_keep_the_others_from_being_checked(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch, key, clock, publisher, store = world("Disabled", mode=Mode.DETECT)
    store.paths = [STORY, POD]  # the same key: one call touches both
    checked: list[str] = []

    def check(declaration: PathDeclaration, **kwargs: Any) -> PathVerdict:
        checked.append(declaration.name)
        if declaration is STORY:
            raise ClientError({"Error": {"Code": "AccessDenied"}}, "GetRole")
        return verdict_of(key, declaration, clock.now())

    monkeypatch.setattr(path_watch, "check", check)
    with pytest.raises(ClientError):  # the call fails, and is retried
        watch.on_event(kms("DisableKey", KEY_ID))
    # The second path was still checked (and, in enforce mode, its key put right).
    assert checked[:2] == [STORY.name, POD.name] and key.calls == ["EnableKey"]
    assert {a.path.name for a in publisher.alerts if a.path} == {POD.name}
