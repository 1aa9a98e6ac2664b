"""`driftguard replay-dlq` against the sandbox's events dead-letter queue.

Events get there the two ways they do in AWS: EventBridge gives up delivering one
(the sandbox's router dead-letters after the invocation failed every attempt), or a
function rejects one and parks it (`Runtime.park`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, AuditAction, Mode, Outcome, Status
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_OK, EXIT_USAGE
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import AlertTail, Story
from driftguard_sandbox.template import FunctionSpec
from tests.support.cli import run_cli_full
from tests.support.paths import PATH_NAME, declare_story_path

INVALID_EVENT = (
    Path(__file__).resolve().parents[2] / "events/invalid/kms-put-key-policy-malformed.json"
)


def throttled(spec: FunctionSpec, event: dict[str, Any]) -> Any:
    raise RuntimeError("Rate Exceeded.")


def lose_deliveries(sandbox: Sandbox) -> Any:
    """From now on every delivery fails (Lambda throttled); returns the real invoker."""
    real = sandbox.invoker
    sandbox.invoker = throttled
    return real


def park_an_invalid_event(sandbox: Sandbox) -> None:
    result = sandbox.invoke("PolicyEventsFunction", json.loads(INVALID_EVENT.read_text()))
    assert result["status"] == "rejected"


def listed(sandbox: Sandbox) -> list[dict[str, Any]]:
    code, out, _ = run_cli_full("replay-dlq", "--dry-run", "--json")
    assert code == EXIT_OK
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def test_dry_run_lists_parked_events_and_changes_nothing(sandbox: Sandbox, story: Story) -> None:
    real = lose_deliveries(sandbox)
    story.widen_key_policy()
    sandbox.wait_idle()
    sandbox.invoker = real
    park_an_invalid_event(sandbox)

    rows = listed(sandbox)
    by_result = {r["result"]: r for r in rows}
    assert sorted(by_result) == ["invalid", "listed"]
    lost = by_result["listed"]
    assert lost["event_name"] == "PutKeyPolicy" and "mallory" in lost["actor"]
    assert lost["why_parked"].startswith("failed every attempt: RuntimeError")
    assert by_result["invalid"]["why_parked"].startswith("rejected: InvalidEventError")
    assert all(r["kept_on_queue"] for r in rows)
    assert not story.restored()
    # Listing released them: a second look sees the same two.
    assert sorted(r["message_id"] for r in listed(sandbox)) == sorted(r["message_id"] for r in rows)

    code, out, _ = run_cli_full("replay-dlq", "--dry-run")
    assert code == EXIT_OK
    assert "2 messages: 1 invalid, 1 listed (dry run: nothing replayed or deleted)" in out


def test_replay_restores_a_lost_policy_change_and_keeps_what_is_still_invalid(
    sandbox: Sandbox, story: Story, store: StateStore
) -> None:
    real = lose_deliveries(sandbox)
    story.widen_key_policy()
    sandbox.wait_idle()
    sandbox.invoker = real
    park_an_invalid_event(sandbox)
    assert not story.restored()

    code, out, _ = run_cli_full("replay-dlq", "--json")
    assert code == EXIT_DRIFT  # a message stays on the queue
    rows = {r["result"]: r for r in json.loads(out)}
    assert sorted(rows) == ["invalid", "replayed"]
    assert rows["replayed"]["outcomes"] == [f"{Outcome.REMEDIATED} {story.key_arn}"]
    assert rows["invalid"]["kept_on_queue"] is True

    assert story.restored()
    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.IN_SYNC  # restored and verified
    assert record.remediated_at is not None
    last = store.history(story.key_arn)[-1]
    assert last.action is AuditAction.RESTORED
    assert "mallory" in (last.actor or "")  # the event's actor
    # Only the invalid event is left, and replaying it again changes nothing.
    assert [r["result"] for r in listed(sandbox)] == ["invalid"]
    code, out, _ = run_cli_full("replay-dlq")
    assert code == EXIT_DRIFT
    assert "1 message: 1 invalid; 0 deleted, 1 left on the queue" in out


def test_replaying_an_old_change_to_a_resource_in_sync_blames_nobody(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    """The sweep fixed it long ago: replaying the change writes no history, sends no
    alert and names no actor (it used to audit "restored" against the event's actor)."""
    real = lose_deliveries(sandbox)
    story.widen_key_policy()
    sandbox.wait_idle()
    sandbox.invoker = real
    sandbox.sweep()  # the sweep puts it back
    assert story.restored()
    history = store.history(story.key_arn)
    alerts.read()

    code, out, _ = run_cli_full("replay-dlq", "--json")

    assert code == EXIT_OK
    (row,) = json.loads(out)
    assert row["result"] == "replayed" and row["outcomes"] == [f"in-sync {story.key_arn}"]
    assert store.history(story.key_arn) == history
    assert alerts.read() == []


def test_replayed_delete_role_orphans_every_policy_with_one_alert(
    sandbox: Sandbox, story: Story, store: StateStore, alerts: AlertTail
) -> None:
    real = lose_deliveries(sandbox)
    old_id = story.pod_role_id
    story.delete_pod_role()
    sandbox.wait_idle()
    sandbox.invoker = real
    # The policy deleted first went to the path events function: lost too.
    assert [r["event_name"] for r in listed(sandbox)] == ["DeleteRolePolicy", "DeleteRole"]
    record = store.get_status(story.key_arn)
    assert record is not None and record.status is Status.IN_SYNC  # nobody noticed

    code, out, _ = run_cli_full("replay-dlq")
    assert code == EXIT_OK
    assert "2 messages: 2 replayed; 2 deleted, 0 left on the queue" in out
    for arn in (story.key_arn, story.secret_arn):
        record = store.get_status(arn)
        assert record is not None and record.status is Status.ORPHANED_PRINCIPAL
        assert record.orphaned_ids == (old_id,)
    (alert,) = alerts.read()
    assert sorted(r.arn for r in alert.resources) == sorted([story.key_arn, story.secret_arn])
    assert listed(sandbox) == []
    assert run_cli_full("replay-dlq")[0] == EXIT_OK  # nothing left


def test_queue_url_comes_from_the_flag_or_the_environment(
    sandbox: Sandbox, story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sandbox.hub.dlq_url
    monkeypatch.delenv("DEAD_LETTER_QUEUE_URL")
    code, _, err = run_cli_full("replay-dlq", "--dry-run")
    assert code == EXIT_USAGE and "DEAD_LETTER_QUEUE_URL" in err
    park_an_invalid_event_directly(sandbox, url)
    code, out, _ = run_cli_full("replay-dlq", "--dry-run", "--queue-url", url, "--json")
    assert code == EXIT_OK and [r["result"] for r in json.loads(out)] == ["invalid"]


def park_an_invalid_event_directly(sandbox: Sandbox, url: str) -> None:
    """What Runtime.park sends, without the function (its environment is unset here)."""
    sandbox.hub_client("sqs").send_message(
        QueueUrl=url,
        MessageBody="not json",
        MessageAttributes={
            "error": {"DataType": "String", "StringValue": "InvalidEventError"},
            "reason": {"DataType": "String", "StringValue": "garbled"},
        },
    )


def test_a_replayed_path_event_re_verifies_the_path_it_touches(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story, alerts: AlertTail
) -> None:
    story = undeclared_story
    declare_story_path(sandbox, store, story, mode=Mode.ENFORCE)
    sandbox.wait_idle()  # its declaration's own alert and check
    alerts.read()
    real = lose_deliveries(sandbox)
    story.kms.disable_key(KeyId=story.key_id)
    sandbox.wait_idle()
    sandbox.invoker = real
    assert [r["event_name"] for r in listed(sandbox)] == ["DisableKey"]
    assert story.key_state() == "Disabled"  # nobody noticed

    code, out, _ = run_cli_full("replay-dlq", "--json")
    assert code == EXIT_OK
    (row,) = json.loads(out)
    assert row["result"] == "replayed"
    assert row["outcomes"] == [f"{Outcome.REMEDIATED.value} path/{PATH_NAME}"]
    assert story.key_state() == "Enabled"  # the path's safe fix, as the function would
    assert [a.type for a in alerts.read()] == [AlertType.PATH_BROKEN, AlertType.PATH_HEALED]
