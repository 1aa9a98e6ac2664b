"""Terminal views (driftguard_cli.views) and the answers they show, on plain data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console, RenderableType

from driftguard.classify import classify
from driftguard.decision import Observation
from driftguard.kinds.registry import target
from driftguard.model import AuditEntry, Declared, StatusRecord, sha256
from driftguard.policy import Policy
from driftguard.vocabulary import AuditAction, Mode, Status
from driftguard_cli import views as render
from driftguard_cli.answers import (
    PrincipalAnswer,
    ReplayRow,
    ScanRow,
    drift_answer,
    named_resources,
)

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
KEY = "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf"
POD_ROLE = "arn:aws:iam::111111111111:role/pod-role"
RED_BOLD = "\x1b[1;31m"


def ansi(renderable: RenderableType) -> str:
    console = Console(
        width=300, force_terminal=True, color_system="standard", highlight=False, markup=False
    )
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def plain(renderable: RenderableType) -> str:
    console = Console(width=300, color_system=None, highlight=False, markup=False)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def record(arn: str, status: Status, **kw: Any) -> StatusRecord:
    fields: dict[str, Any] = {
        "arn": arn,
        "kind": "kms-key" if ":kms:" in arn else "secret",
        "account": arn.split(":")[4],
        "region": "us-east-1",
        "mode": Mode.ENFORCE,
        "status": status,
        "updated_at": T0,
    }
    return StatusRecord(**(fields | kw))


def policy(*principals: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": list(principals)},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                }
            ],
        }
    )


def declared(text: str) -> Declared:
    return Declared(
        arn=KEY,
        kind="kms-key",
        account="333333333333",
        region="us-east-1",
        policy=text,
        digest=sha256(text),
        mode=Mode.ENFORCE,
        version=2,
        declared_by="alice",
        declared_at=T0,
        principals=(POD_ROLE,),
    )


def look(
    wanted: Declared,
    live: str | None,
    previous: StatusRecord | None = None,
    owners: Mapping[str, str | None] | None = None,
) -> Observation:
    """What Inspector.look finds when the live policy is `live` (None: no policy)."""
    declared_policy = Policy.parse(wanted.policy)
    return Observation(
        target(wanted.arn),
        wanted,
        previous,
        wanted=declared_policy,
        classification=classify(declared_policy, Policy.parse(live) if live else None),
        live_digest=sha256(live) if live else None,
        owners=owners or {},
    )


# --------------------------------------------------------------------------- status


def test_status_rows_are_coloured_by_status() -> None:
    records = [
        record(KEY, Status.ORPHANED_PRINCIPAL, reason="waiting for pod-role"),
        record(SECRET, Status.IN_SYNC),
    ]
    lines = ansi(render.status_view(records)).splitlines()
    (orphaned,) = [line for line in lines if KEY in line and "kms-key" in line]
    assert orphaned.startswith(RED_BOLD + "orphaned-principal")
    (in_sync,) = [line for line in lines if SECRET in line]
    assert in_sync.startswith("\x1b[32min-sync")  # green
    text = plain(render.status_view(records))
    assert "2 resources · 1 in-sync · 1 orphaned-principal" in text
    assert f"{KEY}: waiting for pod-role" in text  # why, for problems only
    assert f"{SECRET}:" not in text


def test_values_from_aws_are_never_read_as_markup() -> None:
    rogue = "[bold red]admin[/] [link=https://evil.example]x[/link]"
    text = plain(render.status_view([record(KEY, Status.DRIFTED, reason=rogue)]))
    assert rogue in text


def test_no_records_says_so() -> None:
    assert plain(render.status_view([])).strip() == "no declared resources match"


# --------------------------------------------------------------------------- drift


def test_drift_view_shows_widening_in_red_with_severity() -> None:
    wanted = declared(policy(POD_ROLE))
    live = policy(POD_ROLE, "arn:aws:iam::444455556666:root")
    restored_before = record(KEY, Status.IN_SYNC, remediated_at=T0)
    answer = drift_answer(look(wanted, live, restored_before))
    assert not answer.in_sync
    assert answer.findings == ("widened",) and answer.severity == "critical"
    out = ansi(render.drift_view(answer))
    assert "\x1b[31m  + principal arn:aws:iam::444455556666:root" in out  # only in live: red
    text = plain(render.drift_view(answer))
    assert "DRIFTED: widened (severity critical)" in text
    assert "recorded status: in-sync" in text  # what the table says, not what live is
    assert '+   "Principal": {' in text  # the statement that brings the new grant
    # The grant lines are left out when principal/action lines say it all.
    assert "+ grant" not in text
    assert json.loads(json.dumps(answer.to_json()))["changes"][0].startswith("+ ")


def test_drift_view_names_the_role_an_orphaned_id_was() -> None:
    wanted = declared(policy(POD_ROLE))
    uid, unknown = "AROAABCDEFGHIJKLMNOPQ", "AROAZZZZZZZZZZZZZZZZZ"
    live = policy(uid, unknown)
    answer = drift_answer(look(wanted, live, owners={uid: POD_ROLE, unknown: None}))
    text = plain(render.drift_view(answer))
    assert f"unique id {uid} was {POD_ROLE}" in text
    assert f"unique id {unknown} belonged to a role driftguard never saw" in text
    assert "- principal " + POD_ROLE in text
    assert answer.to_json()["orphaned_ids"] == {uid: POD_ROLE, unknown: None}


def test_drift_view_in_sync() -> None:
    wanted = declared(policy(POD_ROLE))
    answer = drift_answer(look(wanted, policy(POD_ROLE)))
    assert answer.in_sync and answer.changes == ()
    assert answer.recorded_status is None
    assert "in sync" in plain(render.drift_view(answer))


def test_drift_view_of_a_missing_policy() -> None:
    wanted = declared(policy(POD_ROLE))
    answer = drift_answer(look(wanted, None))
    assert answer.live_missing and answer.findings == ("missing",)
    assert "the resource has no policy at all" in plain(render.drift_view(answer))


# --------------------------------------------------------------------------- history


def test_history_is_a_timeline_with_gaps_and_who() -> None:
    mallory = "arn:aws:sts::333333333333:assumed-role/Developer/mallory"
    entries = [
        AuditEntry(KEY, T0, AuditAction.DECLARED, Status.IN_SYNC, actor="alice", trigger="cli"),
        AuditEntry(
            KEY,
            T0 + timedelta(minutes=3, seconds=7),
            AuditAction.RESTORED,
            Status.IN_SYNC,
            actor=mallory,
            trigger=f"PutKeyPolicy by {mallory}",
            diff={"summary": ["+ principal arn:aws:iam::444455556666:root"]},
        ),
        AuditEntry(
            KEY,
            T0 + timedelta(days=1, hours=2),
            AuditAction.RESOLVED,
            Status.IN_SYNC,
            trigger="reconciler",
        ),
    ]
    text = plain(render.history_view(KEY, entries))
    lines = text.splitlines()
    assert lines[0] == KEY
    assert "2026-05-01 (UTC)" in lines and "2026-05-02 (UTC)" in lines
    assert any("10:03:07" in line and "+3m07s" in line and "restored" in line for line in lines)
    assert any("+1d01h" in line and "resolved" in line for line in lines)  # since the one before
    assert f"by {mallory} (PutKeyPolicy)" in text  # the actor once
    assert "(reconciler)" in text
    assert "+ principal arn:aws:iam::444455556666:root" in text
    assert "\x1b[32m" in ansi(render.history_view(KEY, entries))  # restored in green


# --------------------------------------------------------------------------- principals


def test_principals_view_tells_current_from_earlier_ids() -> None:
    answer = PrincipalAnswer(
        role_arn=POD_ROLE,
        resources=named_resources([SECRET, KEY, KEY], {KEY: Status.IN_SYNC}),
        unique_ids=("AROAOLDOLDOLDOLDOLDOL", "AROANEWNEWNEWNEWNEWNE"),
        exists=True,
        current_id="AROANEWNEWNEWNEWNEWNE",
    )
    assert [r.arn for r in answer.resources] == [KEY, SECRET]
    assert answer.orphaning_ids == ("AROAOLDOLDOLDOLDOLDOL",)
    text = plain(render.principals_view(answer))
    assert "exists now: yes (unique id AROANEWNEWNEWNEWNEWNE)" in text
    assert "AROAOLDOLDOLDOLDOLDOL (earlier: orphans policies)" in text
    assert "unknown" in text  # the secret has no status record


def test_principals_view_when_the_account_cannot_be_read() -> None:
    answer = PrincipalAnswer(POD_ROLE, (), (), exists=None, lookup_error="AccessDenied")
    assert not answer.known
    assert "exists now: unknown (AccessDenied)" in plain(render.principals_view(answer))


# --------------------------------------------------------------------------- scan, replay


def test_scan_view_counts_what_is_not_in_sync() -> None:
    rows = [
        ScanRow(KEY, "333333333333", "kms-key", "drifted", ("widened",), "critical"),
        ScanRow(SECRET, "222222222222", "secret", "in-sync"),
        ScanRow(SECRET + "2", "222222222222", "secret", "error", error="AccessDenied: no"),
    ]
    assert [r.drifted for r in rows] == [True, False, True]
    text = plain(render.scan_view(rows))
    assert "3 resources scanned, 2 not in sync" in text
    assert f"{SECRET}2: AccessDenied: no" in text


def test_replay_view_summarises_what_stays_on_the_queue() -> None:
    rows = [
        ReplayRow("m1", "PutKeyPolicy", "e1", "mallory", "not delivered: X: y", "replayed"),
        ReplayRow("m2", None, None, None, "rejected: InvalidEventError: bad", "invalid", "bad"),
    ]
    assert [r.kept for r in rows] == [False, True]
    text = plain(render.replay_view(rows, dry_run=False))
    assert "2 messages: 1 invalid, 1 replayed; 1 deleted, 1 left on the queue" in text
    assert "(not a CloudTrail event)" in text
    listed = [ReplayRow("m1", "PutKeyPolicy", "e1", None, "-", "listed")]
    assert "dry run: nothing replayed or deleted" in plain(render.replay_view(listed, dry_run=True))
    assert "empty" in plain(render.replay_view([], dry_run=True))
