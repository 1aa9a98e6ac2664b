"""Block Kit layouts: one per alert type, inside Slack's limits, severity at a glance."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from driftguard.alerts import Alert, AlertPath, AlertResource
from driftguard.model import Trigger
from driftguard.notify.blocks import (
    LAYOUTS,
    MAX_BLOCKS,
    MAX_FIELD_TEXT,
    SEVERITY_STYLES,
    SlackMessage,
    build_message,
    render_terminal,
)
from driftguard.path_alerts import grant_alert, path_alert, replica_alert
from driftguard.vocabulary import AlertType, Link, Severity, TriggerKind
from driftguard_sandbox.slack import slack_rejects

ROLE = "arn:aws:iam::111111111111:role/pod-role"
UID = "AROAEXAMPLEEXAMPLE12"
MALLORY = "arn:aws:sts::333333333333:assumed-role/Developer/mallory"
CHANGED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def key(n: int = 1, **changes: Any) -> AlertResource:
    key_id = f"{n:08d}-1111-2222-3333-444455556666"
    fields: dict[str, Any] = {
        "arn": f"arn:aws:kms:us-east-1:333333333333:key/{key_id}",
        "kind": "kms-key",
        "account": "333333333333",
        "region": "us-east-1",
        "status": "orphaned-principal",
        "console_url": (
            f"https://us-east-1.console.aws.amazon.com/kms/home?region=us-east-1#/kms/keys/{key_id}"
        ),
    }
    return AlertResource(**{**fields, **changes})


def secret(**changes: Any) -> AlertResource:
    fields: dict[str, Any] = {
        "arn": "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf",
        "kind": "secret",
        "account": "222222222222",
        "region": "us-east-1",
        "status": "orphaned-principal",
        "console_url": (
            "https://us-east-1.console.aws.amazon.com/secretsmanager/secret"
            "?name=testsecret&region=us-east-1"
        ),
    }
    return AlertResource(**{**fields, **changes})


WIDENED_DIFF = {
    "added_principals": ["arn:aws:iam::444455556666:root"],
    "removed_principals": [],
    "summary": [
        "+ principal arn:aws:iam::444455556666:root",
        "+ grant Allow arn:aws:iam::444455556666:root kms:decrypt on *",
    ],
}
NARROWED_DIFF = {"summary": ["- action kms:decrypt"]}


def alert(alert_type: AlertType, severity: Severity, **changes: Any) -> Alert:
    fields: dict[str, Any] = {
        "type": alert_type,
        "severity": severity,
        "title": f"Title for {alert_type.value}",
        "summary": f"Summary for {alert_type.value}.",
        "resources": [key(), secret()],
        "next_steps": f"Next steps for {alert_type.value}.",
        "actor": MALLORY,
        "event_name": "PutKeyPolicy",
        "event_id": "0f0e0d0c-aaaa-bbbb-cccc-000000000001",
        "changed_at": CHANGED,
        "detected_at": CHANGED + timedelta(seconds=3),
    }
    return Alert(**{**fields, **changes})


def orphaned() -> Alert:
    return alert(
        AlertType.ORPHANED_PRINCIPAL,
        Severity.HIGH,
        title=f"Orphaned principal: {ROLE}",
        role_arn=ROLE,
        unique_ids={UID: ROLE},
        event_name="DeleteRole",
        actor="arn:aws:sts::111111111111:assumed-role/PlatformAdmin/platform-admin",
        resources=[key(orphaned_ids=[UID]), secret(orphaned_ids=[UID])],
        next_steps="driftguard restores the declared policies as soon as the role exists again.",
    )


def drifted(diff: dict[str, Any], severity: Severity) -> Alert:
    finding = "widened" if severity is Severity.CRITICAL else "narrowed"
    return alert(
        AlertType.DRIFT_DETECTED,
        severity,
        resources=[key(status="drifted", findings=[finding], diff=diff)],
    )


def restored() -> Alert:
    return alert(
        AlertType.RESTORED,
        Severity.CRITICAL,
        resources=[key(status="remediated", findings=["widened"], diff=WIDENED_DIFF)],
        time_to_fix_seconds=4.25,
    )


def why(alert_type: AlertType, status: str) -> Alert:
    reason = f"because of {alert_type.value}: AWS said MalformedPolicyDocumentException"
    return alert(alert_type, Severity.HIGH, resources=[key(status=status, reason=reason)])


def quarantined() -> Alert:
    reason = "changed back 3 times within 3600s (last by mallory); driftguard stopped restoring it"
    return alert(
        AlertType.QUARANTINED,
        Severity.CRITICAL,
        resources=[key(status="quarantined", reason=reason, diff=WIDENED_DIFF)],
    )


def declaration_changed() -> Alert:
    return alert(
        AlertType.DECLARATION_CHANGED,
        Severity.CRITICAL,
        resources=[key(status="declared", findings=["widened"], diff=WIDENED_DIFF)],
        event_name=None,
        event_id=None,
        changed_at=None,
    )


def declaration_refused() -> Alert:
    reason = "the declaration's signature does not verify"
    return alert(
        AlertType.DECLARATION_REFUSED,
        Severity.CRITICAL,
        resources=[key(status="error", reason=reason)],
    )


def path_changed(alert_type: AlertType) -> Alert:
    """PATH_BROKEN and PATH_HEALED (tests/unit/test_path_events.py checks their words)."""
    broken = alert_type is AlertType.PATH_BROKEN
    path = AlertPath(
        name="testapp",
        role_arn=ROLE,
        secret_arn=secret().arn,
        key_arn=key().arn,
        mode="enforce",
        broken=Link.KEY_STATE if broken else None,
        reason="the key is pending deletion" if broken else "every link holds",
        fix="CancelKeyDeletion, then EnableKey" if broken else "",
        driftguard_calls=["CancelKeyDeletion", "EnableKey"],
    )
    trigger = Trigger(TriggerKind.POLICY_CHANGED, "ScheduleKeyDeletion", "e-1", MALLORY, CHANGED)
    return path_alert(
        alert_type,
        path,
        trigger,
        account="111111111111",
        region="us-east-1",
        now=CHANGED,
        console_url=secret().console_url,
    )


def key_replicated() -> Alert:
    """KEY_REPLICATED: a path's key got a replica; the replica is offered for adoption."""
    replica = key().arn.replace("us-east-1", "eu-west-1")
    trigger = Trigger(TriggerKind.POLICY_CHANGED, "ReplicateKey", "e-2", MALLORY, CHANGED)
    return replica_alert(
        key().arn, replica, trigger, now=CHANGED, console_url="https://console.aws.amazon.com/kms"
    )


def key_grant_created() -> Alert:
    """KEY_GRANT_CREATED: who may now use a path's key beside its policy."""
    trigger = Trigger(TriggerKind.POLICY_CHANGED, "CreateGrant", "e-3", MALLORY, CHANGED)
    grant = {
        "grantee": "arn:aws:iam::444455556666:root",
        "operations": ["Decrypt"],
        "grant_id": "g",
    }
    return grant_alert(key().arn, grant, trigger, now=CHANGED, console_url=key().console_url)


REMEDIATION_ROLE = "arn:aws:iam::111111111111:role/driftguard-remediation"


def safeguard_changed() -> Alert:
    role = AlertResource(
        arn=REMEDIATION_ROLE,
        kind="iam-role",
        account="111111111111",
        region="",
        status="changed",
        reason="a managed policy was attached to driftguard's remediation role",
        diff={"summary": ["policyArn: arn:aws:iam::aws:policy/AdministratorAccess"]},
        console_url="https://console.aws.amazon.com/iam/home#/roles/details/driftguard-remediation",
    )
    return alert(
        AlertType.SAFEGUARD_CHANGED,
        Severity.CRITICAL,
        title=f"driftguard safeguard changed: driftguard's remediation role {REMEDIATION_ROLE}",
        resources=[role],
        role_arn=REMEDIATION_ROLE,
        event_name="AttachRolePolicy",
    )


def principal_trust_changed() -> Alert:
    role = AlertResource(
        arn=ROLE,
        kind="iam-role",
        account="111111111111",
        region="",
        status="changed",
        findings=["widened"],
        reason=f"{ROLE} has a trust policy that differs from the approved one",
        diff={"summary": ["+ principal arn:aws:iam::444455556666:root"]},
        console_url="https://console.aws.amazon.com/iam/home#/roles/details/pod-role",
    )
    return alert(
        AlertType.PRINCIPAL_TRUST_CHANGED,
        Severity.CRITICAL,
        title=f"Trust policy changed: {ROLE}",
        resources=[role, key(status="in-sync"), secret(status="in-sync")],
        role_arn=ROLE,
        event_name="UpdateAssumeRolePolicy",
    )


EVERY_TYPE = {
    AlertType.ORPHANED_PRINCIPAL: orphaned(),
    AlertType.DRIFT_DETECTED: drifted(WIDENED_DIFF, Severity.CRITICAL),
    AlertType.RESTORED: restored(),
    AlertType.CHECK_FAILED: why(AlertType.CHECK_FAILED, "error"),
    AlertType.RESTORE_FAILED: why(AlertType.RESTORE_FAILED, "error"),
    AlertType.PENDING_PRINCIPAL: why(AlertType.PENDING_PRINCIPAL, "pending-principal"),
    AlertType.INVALID_DECLARATION: why(AlertType.INVALID_DECLARATION, "error"),
    AlertType.PRINCIPAL_TRUST_CHANGED: principal_trust_changed(),
    AlertType.QUARANTINED: quarantined(),
    AlertType.SAFEGUARD_CHANGED: safeguard_changed(),
    AlertType.DECLARATION_CHANGED: declaration_changed(),
    AlertType.DECLARATION_REFUSED: declaration_refused(),
    AlertType.PATH_BROKEN: path_changed(AlertType.PATH_BROKEN),
    AlertType.PATH_HEALED: path_changed(AlertType.PATH_HEALED),
    AlertType.KEY_REPLICATED: key_replicated(),
    AlertType.KEY_GRANT_CREATED: key_grant_created(),
}


def payload_of(subject: Alert) -> dict[str, Any]:
    return build_message(subject).payload()


def texts(payload: dict[str, Any]) -> list[str]:
    """Every text in the blocks, in order."""
    found: list[str] = []
    for block in payload["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [field["text"] for field in block.get("fields", [])]
        found += [element["text"] for element in block.get("elements", [])]
    return found


def all_text(payload: dict[str, Any]) -> str:
    return "\n".join(texts(payload))


def sections(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in payload["blocks"] if b["type"] == "section"]


def test_every_alert_type_has_a_layout_and_every_severity_a_style() -> None:
    missing_layouts = [t for t in AlertType if t not in LAYOUTS]
    missing_styles = [s for s in Severity if s not in SEVERITY_STYLES]
    assert missing_layouts == [] and missing_styles == []


def test_every_alert_type_has_an_example_here() -> None:
    assert set(EVERY_TYPE) == set(AlertType)


@pytest.mark.parametrize("alert_type", list(AlertType), ids=str)
def test_common_structure(alert_type: AlertType) -> None:
    subject = EVERY_TYPE[alert_type]
    payload = payload_of(subject)
    types = [b["type"] for b in payload["blocks"]]
    assert types[:3] == ["header", "context", "section"]
    assert types[-1] == "context"  # footer
    assert "divider" in types
    header = payload["blocks"][0]["text"]
    assert header["type"] == "plain_text" and header["emoji"] is True
    style = SEVERITY_STYLES[subject.severity]
    assert header["text"] == f"{style.emoji} {style.label} · {subject.title}"
    assert subject.summary in all_text(payload)
    assert subject.next_steps in all_text(payload)
    assert f"`{alert_type.value}`" in all_text(payload)
    # The fallback text names severity and title (push notifications, screen readers).
    assert payload["text"].startswith(f"{style.label}: {subject.title}")
    assert payload["unfurl_links"] is False
    assert slack_rejects(json.dumps(payload).encode()) is None


@pytest.mark.parametrize("alert_type", list(AlertType), ids=str)
def test_every_resource_and_its_console_link_appear(alert_type: AlertType) -> None:
    subject = EVERY_TYPE[alert_type]
    text = all_text(payload_of(subject))
    for resource in subject.resources:
        assert f"`{resource.arn}`" in text
        assert f"<{resource.console_url}|" in text
        assert f"`{resource.status}`" in text


def test_orphaned_principal_names_role_unique_id_resources_and_next() -> None:
    payload = payload_of(orphaned())
    text = all_text(payload)
    facts = next(b for b in payload["blocks"] if "fields" in b)["fields"]
    labels = [f["text"].split("\n")[0] for f in facts]
    assert labels[:3] == ["*Deleted role*", "*Unique ID now in the policies*", "*Deleted by*"]
    assert f"`{ROLE}`" in facts[0]["text"]
    assert f"`{UID}` (was `{ROLE}`)" in facts[1]["text"]
    assert "platform-admin" in facts[2]["text"]
    assert text.count(f"names `{UID}` instead of the role") == 2
    assert "*:hourglass_flowing_sand: What happens next*" in text


def test_drift_detected_shows_a_readable_diff_and_who() -> None:
    text = all_text(payload_of(drifted(WIDENED_DIFF, Severity.CRITICAL)))
    assert "+ principal arn:aws:iam::444455556666:root" in text
    # readable_changes: the grant lines only when nothing shorter shows the change.
    assert "+ grant" not in text
    assert MALLORY in text
    assert "`PutKeyPolicy`" in text
    assert "detect: recorded, not restored" in text
    assert ":arrow_up: *widened*" in text


def test_restored_shows_before_after_and_time_to_fix() -> None:
    text = all_text(payload_of(restored()))
    assert "*Before* (the change" in text and "+ principal arn:aws:iam::444455556666:root" in text
    assert "*After:* the declared policy, put back and verified" in text
    assert "*Fixed after*\n4.2 s" in text
    assert "*Changed by*\n" + MALLORY in text
    assert f"<!date^{int(CHANGED.timestamp())}^" in text


FAILURES = [
    AlertType.CHECK_FAILED,
    AlertType.RESTORE_FAILED,
    AlertType.PENDING_PRINCIPAL,
    AlertType.INVALID_DECLARATION,
]


@pytest.mark.parametrize("alert_type", FAILURES, ids=str)
def test_failures_say_why_and_what_to_do(alert_type: AlertType) -> None:
    subject = EVERY_TYPE[alert_type]
    text = all_text(payload_of(subject))
    assert f"*Why:* {subject.resources[0].reason}" in text
    assert "*:wrench: What to do*\n" + subject.next_steps in text


def test_a_declaration_change_shows_who_signed_it_and_what_it_grants() -> None:
    text = all_text(payload_of(declaration_changed()))
    assert "*Declared by*\n" + MALLORY in text
    assert "*Declared policy* (`+` granted now" in text
    assert "+ principal arn:aws:iam::444455556666:root" in text


def test_a_refused_declaration_says_why() -> None:
    text = all_text(payload_of(declaration_refused()))
    assert "*Why:* the declaration's signature does not verify" in text
    assert "*:rotating_light: What to do*" in text


def test_a_safeguard_change_says_who_what_it_means_and_what_was_asked() -> None:
    payload = payload_of(safeguard_changed())
    text = all_text(payload)
    assert payload["blocks"][0]["text"]["text"].startswith(":red_circle: CRITICAL")
    assert "*Changed by*\n" + MALLORY in text
    assert "*What it means:* a managed policy was attached" in text
    assert "policyArn: arn:aws:iam::aws:policy/AdministratorAccess" in text
    assert "*:rotating_light: What to do*" in text
    # Not a declared resource: the footer points at the CloudTrail event, not the history.
    footer = payload["blocks"][-1]["elements"][-1]["text"]
    assert footer == "CloudTrail event `0f0e0d0c-aaaa-bbbb-cccc-000000000001` in 111111111111"


def test_a_trust_change_names_the_role_its_new_trust_and_what_names_it() -> None:
    payload = payload_of(principal_trust_changed())
    text = all_text(payload)
    facts = next(b for b in payload["blocks"] if "fields" in b)["fields"]
    assert facts[0]["text"] == f"*Role*\n`{ROLE}`"
    assert "*Trust policy now* (`+` added since approved" in text
    assert "+ principal arn:aws:iam::444455556666:root" in text
    assert ":arrow_up: *widened*" in text
    assert text.count("`in-sync`") == 2  # the key and the secret that name it
    footer = payload["blocks"][-1]["elements"][-1]["text"]
    assert footer == f"`driftguard principals {ROLE}`"


def test_quarantined_says_who_keeps_changing_it() -> None:
    payload = payload_of(quarantined())
    facts = next(b for b in payload["blocks"] if "fields" in b)["fields"]
    assert facts[0]["text"] == f"*Keeps changing it*\n{MALLORY}"
    assert "*Why:* changed back 3 times" in all_text(payload)
    assert "*:no_entry: What to do*" in all_text(payload)


def test_widened_looks_worse_than_narrowed() -> None:
    widened = payload_of(drifted(WIDENED_DIFF, Severity.CRITICAL))
    narrowed = payload_of(drifted(NARROWED_DIFF, Severity.MEDIUM))
    assert widened["blocks"][0]["text"]["text"].startswith(":red_circle: CRITICAL")
    assert narrowed["blocks"][0]["text"]["text"].startswith(":large_yellow_circle: MEDIUM")
    assert ":arrow_down: narrowed" in all_text(narrowed)
    assert "- action kms:decrypt" in all_text(narrowed)
    # Every severity has its own marker.
    assert len({style.emoji for style in SEVERITY_STYLES.values()}) == len(Severity)


def test_one_message_lists_30_resources() -> None:
    subject = orphaned().model_copy(update={"resources": [key(n) for n in range(30)]})
    payload = payload_of(subject)
    text = all_text(payload)
    assert len(payload["blocks"]) <= MAX_BLOCKS
    for resource in subject.resources:
        assert f"<{resource.console_url}|" in text
    assert "more resource" not in text
    assert "(30 resources)" in payload["text"]


@pytest.mark.parametrize("count", [120, 1000])
def test_past_slacks_limits_the_list_is_trimmed_with_a_count(count: int) -> None:
    subject = orphaned().model_copy(update={"resources": [key(n) for n in range(count)]})
    payload = payload_of(subject)
    text = all_text(payload)
    shown = sum(1 for r in subject.resources if f"<{r.console_url}|" in text)
    assert 30 <= shown < count
    assert f"… and {count - shown} more resources not shown" in text
    assert "`driftguard status --state orphaned-principal`" in text
    assert len(payload["blocks"]) <= MAX_BLOCKS
    limit = SectionBlock.text_max_length
    assert all(len(s["text"]["text"]) <= limit for s in sections(payload) if "text" in s)
    assert slack_rejects(json.dumps(payload).encode()) is None
    # The footer is still there after the trimmed list.
    assert payload["blocks"][-1]["type"] == "context"


def test_long_texts_are_clipped_to_slacks_limits() -> None:
    subject = alert(
        AlertType.RESTORE_FAILED,
        Severity.HIGH,
        title="T" * 400,
        actor="A" * 5000,
        resources=[key(status="error", reason="R" * 10_000)],
        next_steps="N" * 10_000,
        summary="S" * 10_000,
    )
    payload = payload_of(subject)
    assert len(payload["blocks"][0]["text"]["text"]) == HeaderBlock.text_max_length
    assert payload["blocks"][0]["text"]["text"].endswith("…")
    for section in sections(payload):
        if "text" in section:
            assert len(section["text"]["text"]) <= SectionBlock.text_max_length
        for field in section.get("fields", []):
            assert len(field["text"]) <= MAX_FIELD_TEXT
    assert slack_rejects(json.dumps(payload).encode()) is None


def plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text, emoji=True)


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


OVER_THE_LIMITS: dict[str, tuple[str, list[Block]]] = {
    "header in mrkdwn": ("x", [HeaderBlock(text=md("x"))]),
    "header too long": ("x", [HeaderBlock(text=plain("x" * (HeaderBlock.text_max_length + 1)))]),
    "section too long": (
        "x",
        [SectionBlock(text=md("x" * (SectionBlock.text_max_length + 1)))],
    ),
    "field too long": ("x", [SectionBlock(fields=[md("x" * (MAX_FIELD_TEXT + 1))])]),
    "too many fields": ("x", [SectionBlock(fields=[md("x")] * 11)]),
    "empty section": ("x", [SectionBlock()]),
    "empty text": ("x", [SectionBlock(text=md(""), fields=[md("")])]),
    "empty context": ("x", [ContextBlock(elements=[])]),
    "too many blocks": ("x", [DividerBlock() for _ in range(MAX_BLOCKS + 1)]),
    "no blocks": ("x", []),
    "no fallback text": ("", [DividerBlock()]),
}


@pytest.mark.parametrize("case", OVER_THE_LIMITS, ids=str)
def test_a_message_past_slacks_limits_fails_when_made(case: str) -> None:
    text, blocks = OVER_THE_LIMITS[case]
    with pytest.raises(SlackObjectFormationError):
        SlackMessage(text=text, blocks=tuple(blocks))


def body(*blocks: dict[str, Any], text: str = "fallback") -> bytes:
    return json.dumps({"text": text, "blocks": list(blocks)}).encode()


MD = {"type": "mrkdwn", "text": "x"}
SLACK_ANSWERS: dict[str, tuple[bytes, str | None]] = {
    "text only": (json.dumps({"text": "hi"}).encode(), None),
    "not JSON": (b"{", "invalid_payload"),
    "not an object": (b"[]", "invalid_payload"),
    "nothing to show": (b"{}", "no_text"),
    "blocks not a list": (
        json.dumps({"text": "hi", "blocks": {"type": "divider"}}).encode(),
        "invalid_blocks",
    ),
    "unknown block type": (body({"type": "nope"}), "invalid_blocks"),
    "block not an object": (json.dumps({"blocks": ["type"]}).encode(), "invalid_blocks"),
    "header in mrkdwn": (body({"type": "header", "text": MD}), "invalid_blocks"),
    "text without type": (body({"type": "section", "text": {"text": "x"}}), "invalid_blocks"),
    "field too long": (
        body({"type": "section", "fields": [{**MD, "text": "x" * (MAX_FIELD_TEXT + 1)}]}),
        "invalid_blocks",
    ),
    "too many fields": (body({"type": "section", "fields": [MD] * 11}), "invalid_blocks"),
    "empty context": (body({"type": "context", "elements": []}), "invalid_blocks"),
    "unknown element": (body({"type": "context", "elements": [{"type": "?"}]}), "invalid_blocks"),
    "empty text": (body({"type": "context", "elements": [{**MD, "text": ""}]}), "invalid_blocks"),
    "too many blocks": (body(*[{"type": "divider"}] * (MAX_BLOCKS + 1)), "invalid_blocks"),
    "as many blocks as allowed": (body(*[{"type": "divider"}] * MAX_BLOCKS), None),
}


@pytest.mark.parametrize("case", SLACK_ANSWERS, ids=str)
def test_the_local_slack_refuses_what_slack_refuses(case: str) -> None:
    sent, answer = SLACK_ANSWERS[case]
    assert slack_rejects(sent) == answer


@pytest.mark.parametrize("severity", list(Severity), ids=str)
def test_every_severity_shows_in_a_terminal(severity: Severity) -> None:
    header = render_terminal(payload_of(alert(AlertType.RESTORED, severity))).splitlines()[0]
    marker, rest = header.split(" ", 1)
    assert rest.startswith(SEVERITY_STYLES[severity].label)
    assert len(marker) == 1  # a glyph, not a :shortcode:


def test_many_changes_are_cut_with_a_count() -> None:
    diff = {"summary": [f"+ action kms:action{n}" for n in range(40)]}
    text = all_text(payload_of(drifted(diff, Severity.CRITICAL)))
    assert "+ action kms:action11" in text and "+ action kms:action12" not in text
    assert "… and 28 more changes" in text


def test_mrkdwn_is_escaped() -> None:
    subject = alert(
        AlertType.RESTORE_FAILED,
        Severity.HIGH,
        resources=[key(status="error", reason="<!channel> & <https://evil.example|click>")],
    )
    text = all_text(payload_of(subject))
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; &lt;https://evil" in text


# What an outsider can put in a role path, a session name, a Sid or an error message.
INJECTED = "<!channel> <@U0123> <#C0123> <https://evil.example|click>"


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    """The fallback text and every text Slack parses as mrkdwn (plain_text is literal)."""
    found = [payload["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload["blocks"])
    return found


@pytest.mark.parametrize("alert_type", list(AlertType), ids=str)
def test_outsider_text_is_escaped_in_every_field_and_the_fallback(alert_type: AlertType) -> None:
    role = f"arn:aws:iam::111111111111:role/{INJECTED}/pod-role"
    subject = alert(
        alert_type,
        Severity.CRITICAL,
        title=f"Orphaned principal: {role}",
        summary=f"{INJECTED} summary",
        next_steps=INJECTED,
        actor=f"arn:aws:sts::111111111111:assumed-role/x/{INJECTED}",
        event_name=INJECTED,
        role_arn=role,
        unique_ids={"AROAEXAMPLE": role},
        resources=[
            key(
                arn=f"arn:aws:kms:us-east-1:333333333333:key/{INJECTED}",
                status="error",
                reason=INJECTED,
                findings=[INJECTED],
                orphaned_ids=[INJECTED],
                diff={"summary": [f"+ grant {INJECTED}"]},
            )
        ],
    )
    payload = payload_of(subject)
    live = ("<!channel>", "<@U0123>", "<#C0123>", "<https://evil")
    assert [t for t in mrkdwn_texts(payload) if any(markup in t for markup in live)] == []
    assert "&lt;!channel&gt;" in payload["text"]


def test_a_resource_without_console_url_is_listed_without_a_link() -> None:
    subject = alert(AlertType.RESTORE_FAILED, Severity.HIGH, resources=[key(console_url="")])
    text = all_text(payload_of(subject))
    assert "*key/00000001-1111-2222-3333-444455556666*" in text


def test_the_sweep_is_named_when_no_event_caused_it() -> None:
    subject = alert(AlertType.RESTORED, Severity.INFO, actor=None, event_name=None, event_id=None)
    text = all_text(payload_of(subject))
    assert "the scheduled sweep" in text and "unknown (found by the sweep)" in text


def test_no_webhook_url_in_any_message() -> None:
    for subject in EVERY_TYPE.values():
        dumped = json.dumps(payload_of(subject))
        assert "hooks.slack.com" not in dumped and "/services/" not in dumped


def test_terminal_view_reads_like_the_message() -> None:
    view = render_terminal(payload_of(orphaned()))
    lines = view.splitlines()
    assert lines[0] == f"\N{LARGE ORANGE CIRCLE} HIGH · Orphaned principal: {ROLE}"
    assert f"Deleted role: `{ROLE}`" in lines
    assert "key/00000001-1111-2222-3333-444455556666 · `kms-key`" in view
    assert "<https://" not in view and "<!date" not in view
