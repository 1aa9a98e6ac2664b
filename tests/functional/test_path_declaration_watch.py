"""Every write to a path declaration is alerted, however it was written (the table's
stream): declared by the declarer (info, and checked at once), removed (high), or
written by someone who cannot sign (critical, and never checked or fixed)."""

from __future__ import annotations

from driftguard.path_store import PATH_PK, PathStore
from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Link, Mode, Severity
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import AlertTail, Story
from tests.support.paths import PATH_NAME, declare_story_path

SUBJECT = f"access path {PATH_NAME}"


def said(alerts: AlertTail) -> list[tuple[AlertType, Severity, str]]:
    return [(a.type, a.severity, a.title) for a in alerts.read()]


def test_a_declared_path_is_said_and_checked_at_once(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story, alerts: AlertTail
) -> None:
    story = undeclared_story
    story.kms.disable_key(KeyId=story.key_id)  # broken before it is declared
    sandbox.wait_idle()
    declare_story_path(sandbox, store, story, mode=Mode.DETECT)
    sandbox.wait_idle()

    assert said(alerts) == [
        (AlertType.DECLARATION_CHANGED, Severity.INFO, f"Declaration changed: {SUBJECT}"),
        (AlertType.PATH_BROKEN, Severity.HIGH, f"Access path broken: {PATH_NAME}"),
    ]
    status = PathStore(store).status(PATH_NAME)
    assert status is not None and status.broken is Link.KEY_STATE


def test_a_removed_path_declaration_is_alerted(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story, alerts: AlertTail
) -> None:
    declare_story_path(sandbox, store, undeclared_story, mode=Mode.DETECT)
    sandbox.wait_idle()
    alerts.read()
    undeclared_story.mallory.client("dynamodb").delete_item(
        TableName=sandbox.hub.table_name,
        Key={"pk": {"S": PATH_PK}, "sk": {"S": f"DECLARED#{PATH_NAME}"}},
    )
    sandbox.wait_idle()
    assert said(alerts) == [
        (AlertType.DECLARATION_CHANGED, Severity.HIGH, f"Declaration removed: {SUBJECT}")
    ]


def test_a_path_declaration_nobody_signed_is_refused_and_never_fixed(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story, alerts: AlertTail
) -> None:
    story = undeclared_story
    declare_story_path(sandbox, store, story, mode=Mode.DETECT)
    sandbox.wait_idle()
    alerts.read()
    # Mallory turns the path to enforce mode by hand, then disables the key.
    story.mallory.client("dynamodb").update_item(
        TableName=sandbox.hub.table_name,
        Key={"pk": {"S": PATH_PK}, "sk": {"S": f"DECLARED#{PATH_NAME}"}},
        UpdateExpression="SET #m = :m",
        ExpressionAttributeNames={"#m": "mode"},
        ExpressionAttributeValues={":m": {"S": "enforce"}},
    )
    sandbox.wait_idle()
    assert said(alerts) == [
        (AlertType.DECLARATION_REFUSED, Severity.CRITICAL, f"Declaration refused: {SUBJECT}")
    ]
    story.kms.disable_key(KeyId=story.key_id)
    sandbox.wait_idle()
    assert story.key_state() == "Disabled"  # the forged enforce mode fixed nothing
    assert said(alerts) == []  # and the forged path is not checked, so not alerted
