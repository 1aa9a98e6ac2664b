"""Block Kit messages for driftguard alerts: one layout per alert type. Pure.

`build_message(alert)` turns one `Alert` (one incident) into one Slack message,
built from slack_sdk's Block Kit models. A message is checked when it is made
(`check_block`: slack_sdk's validators, plus the rules slack_sdk has none for),
so a builder bug that would make Slack answer `invalid_blocks` fails here,
loudly, instead. The limits that matter:

- 50 blocks per message;
- 3000 characters in a section's text, 2000 in each of at most 10 fields;
- 150 characters in a header (plain text);
- 10 elements in a context block.

The builders stay inside those limits by construction: a long list is cut and
says how many items it left out ("and 12 more resources").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
    TextObject,
)

from driftguard.alerts import Alert, AlertResource, readable_changes
from driftguard.vocabulary import LINK_SUBJECT, AlertType, Mode, Severity, TriggerKind

__all__ = [
    "LAYOUTS",
    "MAX_BLOCKS",
    "MAX_CONTEXT_TEXT",
    "MAX_FALLBACK_TEXT",
    "MAX_FIELD_TEXT",
    "SEVERITY_STYLES",
    "SeverityStyle",
    "SlackMessage",
    "build_message",
    "check_block",
    "render_terminal",
]

# Slack's limits that slack_sdk has no attribute for. The others are read from its
# models: SectionBlock.text_max_length, .fields_max_length, HeaderBlock.text_max_length.
MAX_BLOCKS: Final = 50  # per message
MAX_FIELD_TEXT: Final = 2000  # per section field
# Per context element: neither Slack nor slack_sdk publishes one, so stay modest.
MAX_CONTEXT_TEXT: Final = 2000
# The notification text (push, sidebar, screen readers). Slack cuts at 40,000
# characters, but past a few lines nobody reads a notification.
MAX_FALLBACK_TEXT: Final = 1000
# Up to this many resources each get a section of their own with every detail;
# beyond it, one line each, packed into sections, so a role named by 30 policies
# still fits in one message.
DETAILED_RESOURCES: Final = 10
MAX_CHANGE_LINES: Final = 12  # per resource
# The one-line listing stops here: Slack cuts a message at 40,000 characters, and
# a list longer than a few screens is better read with `driftguard status`.
MAX_LISTING_TEXT: Final = 12_000
ELLIPSIS: Final = "…"


# --------------------------------------------------------------------------- payload


def check_block(block: Block | None) -> None:
    """Raise SlackObjectFormationError for a block Slack would answer `invalid_blocks`
    to: slack_sdk's validators, then the rules slack_sdk does not check. None is what
    slack_sdk parses a block of an unknown type to."""
    if block is None:
        raise SlackObjectFormationError("unknown block type")
    block.validate_json()
    texts: list[TextObject] = []
    if isinstance(block, HeaderBlock):
        if not isinstance(block.text, PlainTextObject):
            raise SlackObjectFormationError("a header's text must be plain_text")
        texts = [block.text]
    elif isinstance(block, SectionBlock):
        texts = [*([block.text] if block.text is not None else []), *block.fields]
        if any(len(field.text) > MAX_FIELD_TEXT for field in block.fields):
            raise SlackObjectFormationError(f"a field cannot exceed {MAX_FIELD_TEXT} characters")
    elif isinstance(block, ContextBlock):
        # slack_sdk parses an element of an unknown type to None.
        if not block.elements or any(element is None for element in block.elements):
            raise SlackObjectFormationError("a context needs elements of known types")
        texts = [element for element in block.elements if isinstance(element, TextObject)]
    if any(not isinstance(t.text, str) or not t.text for t in texts):
        raise SlackObjectFormationError("a text object needs at least one character")


@dataclass(frozen=True)
class SlackMessage:
    """What the notifier posts to the incoming webhook: `text` is the fallback
    (notifications, screen readers), `blocks` the message people read. Checked
    when made, so Slack's limits fail here rather than as Slack's answer."""

    text: str
    blocks: tuple[Block, ...]

    def __post_init__(self) -> None:
        if not 0 < len(self.text) <= MAX_FALLBACK_TEXT:
            raise SlackObjectFormationError(f"text must have 1 to {MAX_FALLBACK_TEXT} characters")
        if not 0 < len(self.blocks) <= MAX_BLOCKS:
            raise SlackObjectFormationError(f"a message has 1 to {MAX_BLOCKS} blocks")
        for block in self.blocks:
            check_block(block)

    def payload(self) -> dict[str, Any]:
        """The JSON body for the webhook."""
        return {
            "text": self.text,
            "blocks": [block.to_dict() for block in self.blocks],
            "unfurl_links": False,  # console links must not expand into previews
            "unfurl_media": False,
        }


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[_md(clip(text, MAX_CONTEXT_TEXT)) for text in texts])


# --------------------------------------------------------------------------- severity


@dataclass(frozen=True)
class SeverityStyle:
    emoji: str
    label: str
    meaning: str


# Widened (critical) must look worse than narrowed (medium) at a glance.
SEVERITY_STYLES: Final[Mapping[Severity, SeverityStyle]] = {
    Severity.CRITICAL: SeverityStyle(
        ":red_circle:", "CRITICAL", "access wider than declared, or no longer guarded"
    ),
    Severity.HIGH: SeverityStyle(
        ":large_orange_circle:", "HIGH", "access broken, or driftguard could not fix it"
    ),
    Severity.MEDIUM: SeverityStyle(
        ":large_yellow_circle:", "MEDIUM", "access narrower than declared"
    ),
    Severity.INFO: SeverityStyle(":large_green_circle:", "INFO", "back to the declared state"),
    # No alert carries it; styled so every severity has a look of its own.
    Severity.NONE: SeverityStyle(":white_circle:", "NONE", "nothing found"),
}

_FINDING_MARKERS: Final = {
    "widened": ":arrow_up: *widened*",
    "narrowed": ":arrow_down: narrowed",
    "missing": ":x: policy missing",
    "orphaned-principal": ":ghost: orphaned principal",
}


# --------------------------------------------------------------------------- text helpers


def escape(text: str) -> str:
    """Slack mrkdwn needs only these three escaped (also inside code spans)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def code(text: str) -> str:
    quoted = escape(text.replace("`", "'"))  # a backtick would end the code span
    return f"`{quoted}`"


def link(url: str, label: str) -> str:
    """A mrkdwn link; the label alone when there is no usable URL."""
    if not url.startswith("https://") or any(c in url for c in "|<> "):
        return escape(label)
    return f"<{url}|{escape(label.replace('|', '/'))}>"


def slack_date(moment: datetime) -> str:
    """Shown in each reader's own time zone; the ISO text is the fallback."""
    fallback = moment.isoformat(timespec="seconds")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time_secs}}|{fallback}>"


def duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def fit_lines(lines: Sequence[str], limit: int, more: Callable[[int], str]) -> str:
    """As many whole lines as fit in `limit` characters, then `more(left out)`.

    A first line longer than the limit is clipped rather than dropped, so the
    reader always sees something."""
    kept: list[str] = []
    for index, line in enumerate(lines):
        left_after = len(lines) - index - 1
        reserve = len(more(left_after)) + 1 if left_after else 0
        if len("\n".join([*kept, line])) + reserve <= limit:
            kept.append(line)
            continue
        if not kept:
            kept.append(clip(line, limit - reserve))
        break
    left = len(lines) - len(kept)
    return "\n".join([*kept, more(left)] if left else kept)


def _more_changes(count: int) -> str:
    return f"… and {plural(count, 'more change')}"


# --------------------------------------------------------------------------- building blocks


def _facts(pairs: Iterable[tuple[str, str | None]]) -> SectionBlock | None:
    """Label/value pairs as section fields; empty values are left out."""
    texts = [clip(f"*{label}*\n{value}", MAX_FIELD_TEXT) for label, value in pairs if value]
    fields = [_md(text) for text in texts[: SectionBlock.fields_max_length]]
    return SectionBlock(fields=fields) if fields else None


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_md(clip(text, SectionBlock.text_max_length)))


def _changed_by(alert: Alert) -> str | None:
    return escape(alert.actor) if alert.actor else None


# What made driftguard look, when no CloudTrail call did.
TRIGGER_CALLS: Final[Mapping[TriggerKind, str]] = {
    TriggerKind.POLICY_CHANGED: "a policy change",
    TriggerKind.ROLE_DELETED: "a deleted role",
    TriggerKind.ROLE_CREATED: "a created role",
    TriggerKind.SWEEP: "the scheduled sweep",
    TriggerKind.CLI: "the command line",
    TriggerKind.DECLARATION_CHANGED: "a write to its declaration (the state table's stream)",
}


def _call(alert: Alert) -> str:
    if not alert.event_name:
        return TRIGGER_CALLS[alert.trigger or TriggerKind.SWEEP]
    return code(alert.event_name) + (f" (event {code(alert.event_id)})" if alert.event_id else "")


def _when(moment: datetime | None) -> str | None:
    return slack_date(moment) if moment else None


def _resource_label(resource: AlertResource) -> str:
    """The part of the ARN a person recognises: `key/1234…`, `secret:name-AbCdEf`."""
    resource_part = resource.arn.split(":", 5)[-1]
    return resource_part or resource.arn


def _resource_heading(resource: AlertResource) -> str:
    markers = [_FINDING_MARKERS[f] for f in resource.findings if f in _FINDING_MARKERS]
    # Escaped too: a safeguard's region comes from the event, not from a checked ARN.
    place = escape(resource.account) + (f" / {escape(resource.region)}" if resource.region else "")
    where = f"{code(resource.kind or 'resource')} in {place}"
    status = f"status {code(resource.status)}" + (f" · {' · '.join(markers)}" if markers else "")
    return (
        f"*{link(resource.console_url, _resource_label(resource))}* · {where}\n"
        f"{code(resource.arn)}\n{status}"
    )


def _change_block(resource: AlertResource) -> str | None:
    changes = [clip(line, 300) for line in readable_changes(resource.diff)]
    if not changes:
        return None
    shown = changes[:MAX_CHANGE_LINES]
    body = "\n".join(escape(line.replace("```", "'''")) for line in shown)
    more = f"\n{_more_changes(len(changes) - len(shown))}" if len(changes) > len(shown) else ""
    return f"```\n{body}\n```{more}"


# --------------------------------------------------------------------------- layouts


def _history_or_status(alert: Alert) -> str:
    """The command that shows more: one resource's history, or the resources' status."""
    if len(alert.resources) == 1:
        return f"`driftguard history {escape(alert.resources[0].arn)}`"
    return f"`driftguard status --state {escape(alert.resources[0].status)}`"


@dataclass(frozen=True)
class _Layout:
    """What differs between alert types."""

    facts: Callable[[Alert], list[tuple[str, str | None]]]
    details: Callable[[AlertResource], list[str]]
    next_heading: str
    more: Callable[[Alert], str] = _history_or_status  # the footer's pointer


def _orphaned_facts(alert: Alert) -> list[tuple[str, str | None]]:
    ids = [
        f"{code(uid)} (was {code(arn)})" if arn else code(uid)
        for uid, arn in alert.unique_ids.items()
    ] or [code(uid) for r in alert.resources for uid in r.orphaned_ids]
    return [
        ("Deleted role", code(alert.role_arn) if alert.role_arn else None),
        ("Unique ID now in the policies", "\n".join(dict.fromkeys(ids)) or None),
        ("Deleted by", _changed_by(alert)),
        ("When", _when(alert.changed_at)),
    ]


def _orphaned_details(resource: AlertResource) -> list[str]:
    if not resource.orphaned_ids:
        return [f"_{escape(resource.reason)}_"] if resource.reason else []
    ids = ", ".join(code(uid) for uid in resource.orphaned_ids)
    return [f"names {ids} instead of the role"]


def _drift_facts(alert: Alert) -> list[tuple[str, str | None]]:
    return [
        ("Changed by", _changed_by(alert) or "unknown (found by the sweep)"),
        ("Call", _call(alert)),
        ("When", _when(alert.changed_at)),
        ("Mode", "detect: recorded, not restored"),
    ]


def _drift_details(resource: AlertResource) -> list[str]:
    changes = _change_block(resource)
    if not changes:
        return []
    return [f"*Live vs declared* (`+` added by the change, `-` removed):\n{changes}"]


def _restored_facts(alert: Alert) -> list[tuple[str, str | None]]:
    fixed = alert.time_to_fix_seconds
    return [
        ("Changed by", _changed_by(alert) or "unknown (found by the sweep)"),
        ("Call", _call(alert)),
        ("Changed at", _when(alert.changed_at)),
        ("Fixed after", duration(fixed) if fixed is not None else None),
    ]


def _restored_details(resource: AlertResource) -> list[str]:
    changes = _change_block(resource)
    before = (
        f"*Before* (the change; `+` added, `-` removed):\n{changes}"
        if changes
        else "*Before:* " + ", ".join(resource.findings or ["changed"])
    )
    after = "*After:* the declared policy, put back and verified by reading it again"
    fight = [f":rotating_light: _{escape(resource.reason)}_"] if resource.reason else []
    return [*fight, before, after]


def _why_facts(alert: Alert) -> list[tuple[str, str | None]]:
    return [
        ("Triggered by", _call(alert)),
        ("Changed by", _changed_by(alert)),
        ("When", _when(alert.changed_at)),
    ]


def _why_details(resource: AlertResource) -> list[str]:
    return [f"*Why:* {escape(resource.reason)}"] if resource.reason else []


def _quarantine_facts(alert: Alert) -> list[tuple[str, str | None]]:
    return [
        ("Keeps changing it", _changed_by(alert) or "unknown"),
        ("Last call", _call(alert)),
        ("When", _when(alert.changed_at)),
    ]


def _reason_and_changes(
    resource: AlertResource, changes_title: str, reason_title: str = "Why"
) -> list[str]:
    """The resource's reason, then its changes under `changes_title`, each when it has one."""
    lines = [f"*{reason_title}:* {escape(resource.reason)}"] if resource.reason else []
    if changes := _change_block(resource):
        lines.append(f"{changes_title}:\n{changes}")
    return lines


def _quarantine_details(resource: AlertResource) -> list[str]:
    return _reason_and_changes(resource, "*Latest change* (`+` added, `-` removed)")


def _key_call_facts(alert: Alert) -> list[tuple[str, str | None]]:
    return [
        ("Made by", _changed_by(alert) or "unknown"),
        ("Call", _call(alert)),
        ("When", _when(alert.changed_at)),
    ]


def _declaration_facts(alert: Alert) -> list[tuple[str, str | None]]:
    return [
        ("Declared by", _changed_by(alert) or "unknown"),
        ("Seen at", _when(alert.detected_at)),
    ]


def _declaration_details(resource: AlertResource) -> list[str]:
    return _reason_and_changes(resource, "*Declared policy* (`+` granted now, `-` no longer)")


def _safeguard_details(resource: AlertResource) -> list[str]:
    return _reason_and_changes(
        resource, "*The call* (its request, as CloudTrail recorded it)", "What it means"
    )


def _the_event(alert: Alert) -> str:
    """Safeguards are not declared resources: the CloudTrail event tells the rest."""
    where = f" in {escape(alert.resources[0].account)}" if alert.resources[0].account else ""
    return f"CloudTrail event {code(alert.event_id or 'unknown')}{where}"


def _trust_facts(alert: Alert) -> list[tuple[str, str | None]]:
    return [
        ("Role", code(alert.role_arn) if alert.role_arn else None),
        ("Changed by", _changed_by(alert) or "unknown"),
        ("Call", _call(alert)),
        ("When", _when(alert.changed_at)),
    ]


def _trust_details(resource: AlertResource) -> list[str]:
    return _reason_and_changes(
        resource, "*Trust policy now* (`+` added since approved, `-` removed)"
    )


def _path_link(alert: Alert) -> str | None:
    path = alert.path
    if path is None or path.broken is None:
        return None
    return f"{code(path.broken.value)}: {escape(LINK_SUBJECT[path.broken])}"


def _path_fix(alert: Alert) -> str | None:
    if alert.path is None or not alert.path.fix:
        return None
    body = escape(clip(alert.path.fix.replace("```", "'''"), MAX_FIELD_TEXT - 20))
    return f"```{body}```"


def _driftguard_did(alert: Alert) -> str | None:
    """What driftguard did about it: the safe fix's calls, or nothing (detect mode, or
    no safe fix for this link)."""
    path = alert.path
    if path is None:
        return None
    calls = ", ".join(code(call) for call in path.driftguard_calls)
    if alert.type is AlertType.PATH_HEALED:
        return f"put it right: {calls}, then verified every link" if calls else None
    if calls:
        return f"putting it right (enforce mode): {calls}"
    if path.mode == Mode.ENFORCE.value:
        return "nothing: no safe fix for this link (only a disabled or deleted key has one)"
    return "nothing: detect mode"


def _actor_label(alert: Alert, healed: bool) -> str:
    """Who made the call: it broke the path, or healed it; when driftguard's fix healed
    it, the call's maker is still who broke it."""
    if healed and alert.path and alert.path.driftguard_calls:
        return "Broken by"
    return "Healed by" if healed else "Broken by"


def _path_facts(alert: Alert) -> list[tuple[str, str | None]]:
    healed = alert.type is AlertType.PATH_HEALED
    return [
        ("Access path", code(alert.path.name) if alert.path else None),
        ("First broken link", _path_link(alert)),
        ("Fix", _path_fix(alert)),
        (_actor_label(alert, healed), _changed_by(alert) or "unknown"),
        ("Call", _call(alert)),
        ("When", _when(alert.changed_at)),
        ("driftguard", _driftguard_did(alert)),
    ]


def _path_details(resource: AlertResource) -> list[str]:
    return [f"*Why:* {escape(resource.reason)}"] if resource.reason else []


def _verify_path(alert: Alert) -> str:
    name = alert.path.name if alert.path else alert.resources[0].arn.removeprefix("path/")
    return f"`driftguard verify-path {escape(name)}`"


def _principal(alert: Alert) -> str:
    return f"`driftguard principals {escape(alert.role_arn or alert.resources[0].arn)}`"


LAYOUTS: Final[Mapping[AlertType, _Layout]] = {
    AlertType.ORPHANED_PRINCIPAL: _Layout(
        _orphaned_facts, _orphaned_details, ":hourglass_flowing_sand: What happens next"
    ),
    AlertType.DRIFT_DETECTED: _Layout(_drift_facts, _drift_details, ":mag: What to do"),
    AlertType.RESTORED: _Layout(
        _restored_facts, _restored_details, ":white_check_mark: Anything to do?"
    ),
    AlertType.CHECK_FAILED: _Layout(_why_facts, _why_details, ":wrench: What to do"),
    AlertType.RESTORE_FAILED: _Layout(_why_facts, _why_details, ":wrench: What to do"),
    AlertType.PENDING_PRINCIPAL: _Layout(_why_facts, _why_details, ":wrench: What to do"),
    AlertType.INVALID_DECLARATION: _Layout(_why_facts, _why_details, ":wrench: What to do"),
    AlertType.PRINCIPAL_TRUST_CHANGED: _Layout(
        _trust_facts, _trust_details, ":mag: What to do", _principal
    ),
    AlertType.QUARANTINED: _Layout(_quarantine_facts, _quarantine_details, ":no_entry: What to do"),
    AlertType.SAFEGUARD_CHANGED: _Layout(
        _why_facts, _safeguard_details, ":rotating_light: What to do", _the_event
    ),
    AlertType.PATH_BROKEN: _Layout(_path_facts, _path_details, ":wrench: What to do", _verify_path),
    AlertType.PATH_HEALED: _Layout(
        _path_facts, _path_details, ":white_check_mark: Anything to do?", _verify_path
    ),
    AlertType.KEY_REPLICATED: _Layout(_key_call_facts, _why_details, ":inbox_tray: What to do"),
    AlertType.KEY_GRANT_CREATED: _Layout(_key_call_facts, _why_details, ":mag: What to do"),
    AlertType.DECLARATION_CHANGED: _Layout(
        _declaration_facts, _declaration_details, ":memo: Anything to do?"
    ),
    AlertType.DECLARATION_REFUSED: _Layout(
        _why_facts, _declaration_details, ":rotating_light: What to do"
    ),
}


def _more_resources(count: int, alert: Alert) -> ContextBlock:
    statuses = sorted({r.status for r in alert.resources})
    hint = " · ".join(f"`driftguard status --state {s}`" for s in statuses[:3])
    return _context(f"… and {plural(count, 'more resource')} not shown: {hint}")


def _resource_blocks(
    alert: Alert, layout: _Layout, budget: int
) -> list[SectionBlock | ContextBlock]:
    """The resources in at most `budget` blocks, trimmed with a count."""
    resources = alert.resources
    if len(resources) <= min(DETAILED_RESOURCES, budget):
        return [
            _section(
                fit_lines(
                    [_resource_heading(r), *layout.details(r)],
                    SectionBlock.text_max_length,
                    lambda n: f"… {plural(n, 'more detail')} cut",
                )
            )
            for r in resources
        ]
    # One line each, packed into sections as long as Slack allows.
    limit = SectionBlock.text_max_length
    packed: list[list[str]] = [[]]
    for resource in resources:
        line = clip(
            f"• *{link(resource.console_url, _resource_label(resource))}* "
            f"{code(resource.kind or 'resource')} {resource.account} / {resource.region} · "
            f"{code(resource.status)}",
            limit,
        )
        if packed[-1] and len("\n".join([*packed[-1], line])) > limit:
            packed.append([])
        packed[-1].append(line)
    sections = len(packed)
    if sections > budget or sum(len(line) for p in packed for line in p) > MAX_LISTING_TEXT:
        # Keep whole sections while they fit, and one block for "and N more".
        kept, used = 0, 0
        while kept < min(sections, budget - 1):
            used += sum(len(line) for line in packed[kept])
            if used > MAX_LISTING_TEXT:
                break
            kept += 1
        packed = packed[: max(kept, 1)]
    blocks: list[SectionBlock | ContextBlock] = [_section("\n".join(p)) for p in packed]
    left = len(resources) - sum(len(p) for p in packed) + alert.omitted
    if left:
        blocks.append(_more_resources(left, alert))
    return blocks


def build_message(alert: Alert) -> SlackMessage:
    """One Slack message for one alert (one incident, however many resources)."""
    style = SEVERITY_STYLES[alert.severity]
    layout = LAYOUTS[alert.type]
    title = clip(f"{style.emoji} {style.label} · {alert.title}", HeaderBlock.text_max_length)
    header = HeaderBlock(text=PlainTextObject(text=title, emoji=True))
    context = _context(
        f"*{style.label}*: {style.meaning}",
        f"{code(alert.type.value)} · {plural(len(alert.resources) + alert.omitted, 'resource')}",
        f"detected {slack_date(alert.detected_at)}",
    )
    head: list[Block] = [header, context, _section(escape(alert.summary))]
    if facts := _facts(layout.facts(alert)):
        head.append(facts)
    head.append(DividerBlock())
    tail: list[Block] = []
    if alert.next_steps:
        tail.append(_section(f"*{layout.next_heading}*\n{escape(alert.next_steps)}"))
    tail.append(_footer(alert))
    budget = MAX_BLOCKS - len(head) - len(tail)
    blocks = [*head, *_resource_blocks(alert, layout, budget), *tail]
    return SlackMessage(text=fallback_text(alert), blocks=tuple(blocks))


def _footer(alert: Alert) -> ContextBlock:
    return _context("driftguard", LAYOUTS[alert.type].more(alert))


def fallback_text(alert: Alert) -> str:
    """The notification line: severity, title, how many resources."""
    style = SEVERITY_STYLES[alert.severity]
    count = len(alert.resources) + alert.omitted
    # Slack parses this text too: a role path like /<!channel>/ must not notify anyone.
    text = f"{style.label}: {escape(alert.title)}" + (f" ({count} resources)" if count > 1 else "")
    return clip(text, MAX_FALLBACK_TEXT)


# --------------------------------------------------------------------------- terminal view


def render_terminal(payload: Mapping[str, Any]) -> str:
    """A posted message as plain lines, for the demo and for test failure output.

    Links show their label, Slack dates their fallback text; blocks of types
    driftguard does not post are left out."""
    lines: list[str] = []
    for block in Block.parse_all(payload.get("blocks")):
        if isinstance(block, HeaderBlock) and block.text is not None:
            lines.append(_emoji(block.text.text))
        elif isinstance(block, SectionBlock):
            if block.text is not None:
                lines.append(_plain(block.text.text))
            for field in block.fields:
                label, _, value = _plain(field.text).partition("\n")
                lines.append(f"{label}: {value.replace(chr(10), '; ')}")
        elif isinstance(block, ContextBlock):
            texts = [e.text for e in block.elements if isinstance(e, TextObject)]
            lines.append(" | ".join(_plain(text) for text in texts))
        elif isinstance(block, DividerBlock):
            lines.append("-" * 40)
    return "\n".join(lines)


# The shortcodes these layouts use, as a terminal shows them.
_EMOJI: Final = {
    ":red_circle:": "\N{LARGE RED CIRCLE}",
    ":large_orange_circle:": "\N{LARGE ORANGE CIRCLE}",
    ":large_yellow_circle:": "\N{LARGE YELLOW CIRCLE}",
    ":large_green_circle:": "\N{LARGE GREEN CIRCLE}",
    ":white_circle:": "\N{MEDIUM WHITE CIRCLE}",
    ":arrow_up:": "\N{UPWARDS BLACK ARROW}",
    ":arrow_down:": "\N{DOWNWARDS BLACK ARROW}",
    ":x:": "\N{CROSS MARK}",
    ":ghost:": "\N{GHOST}",
    ":hourglass_flowing_sand:": "\N{HOURGLASS WITH FLOWING SAND}",
    ":mag:": "\N{LEFT-POINTING MAGNIFYING GLASS}",
    ":white_check_mark:": "\N{WHITE HEAVY CHECK MARK}",
    ":wrench:": "\N{WRENCH}",
    ":no_entry:": "\N{NO ENTRY}",
}
_EMOJI_CODE: Final = re.compile(r":[a-z_]+:")


def _emoji(text: str) -> str:
    return _EMOJI_CODE.sub(lambda m: _EMOJI.get(m.group(0), m.group(0)), text)


def _plain(text: str) -> str:
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<[^|>]+\|([^>]*)>", r"\1", text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)  # *bold*
    text = _emoji(text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
