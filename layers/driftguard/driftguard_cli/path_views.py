"""Access paths at the terminal (pure: data and a width in, rich renderables out):
`verify-path`'s links in chain order, `paths`' list, and what `declare-path` and
`adopt-path` are about to declare.

Down to 80 columns nothing is cut: reasons and fixes wrap at spaces under their link,
and a word longer than the line (an ARN) is left whole for the terminal to wrap, so
it still copies as one line (as `list_views` does). Not at a terminal the console is
wide enough that every line stays whole (one per link, for grep).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from driftguard.path_model import Irsa, PathDeclaration, via
from driftguard.vocabulary import Link
from driftguard_cli.list_views import Entry, arn_line, fits, listing
from driftguard_cli.path_answers import LinkRow, PathAnswer, link_state
from driftguard_cli.path_declaring import PathPlan
from driftguard_cli.report_paths import PathRow
from driftguard_cli.styles import when

__all__ = ["declare_plan_view", "paths_view", "verify_view"]

OK_STYLE: Final = "green"
BROKEN_STYLE: Final = "red"
FIRST_BROKEN_STYLE: Final = "bold white on red"
DETAIL_INDENT: Final = 4  # a link's reason and fix: room for a key ARN at 80 columns
LABEL_WIDTH: Final = 12
LINK_WIDTH: Final = max(len(link.value) for link in Link)


def wrapped(text: str | Text, width: int | None, indent: int = 0, style: str = "") -> list[Text]:
    """`text` broken at spaces into lines that fit `width` after `indent` (every line
    indented); a word longer than a line (an ARN, a JSON string) is never broken or
    cut: it overflows for the terminal to wrap. `width` None: one line."""
    text = text if isinstance(text, Text) else Text(text, style=style)
    plain, room = text.plain, (width or 0) - indent
    breaks: list[int] = []
    start = 0
    for word in re.finditer(r"\S+", plain):
        if width is not None and word.end() - start > room and word.start() > start:
            breaks.append(word.start())
            start = word.start()
    lines = text.divide(breaks) if breaks else [text]
    out = []
    for line in lines:
        line.rstrip()
        indented = Text(" " * indent).append_text(line)
        indented.no_wrap, indented.overflow = True, "ignore"
        out.append(indented)
    return out


def _fix(fix: str, width: int | None, indent: int = DETAIL_INDENT) -> list[Text]:
    return wrapped(Text("fix: ", style="bold").append(fix), width, indent)


def labelled(label: str, value: str, width: int | None, indent: int = 2) -> list[Text]:
    """ "  label     value" when it fits, else the label, then the value on its own line."""
    head = " " * indent + label.ljust(LABEL_WIDTH - indent)
    if width is None or len(head) + len(value) <= width:
        line = Text(head).append(value)
        line.no_wrap, line.overflow = True, "ignore"
        return [line]
    return [Text(head.rstrip()), arn_line(value, width, indent + 2)]


def _access_lines(declaration: PathDeclaration, width: int | None) -> list[Text]:
    path, access = declaration.path, declaration.path.access
    lines = [*labelled("role", path.role_arn, width), *labelled("secret", path.secret_arn, width)]
    lines += labelled("key", path.key_arn, width)
    if isinstance(access, Irsa):
        lines += labelled("provider", access.oidc_provider_arn, width)
    else:
        lines += labelled("cluster", access.cluster_arn, width)
    lines += labelled("pod", f"{access.namespace}/{access.service_account}", width)
    lines += labelled("boundary", declaration.boundary_arn or "none required", width)
    return lines


def _title(declaration: PathDeclaration, width: int | None) -> list[Text]:
    title = Text("access path ")
    title.append(declaration.name, style="bold")
    access = declaration.path.access
    title.append(
        f" (version {declaration.version}, {declaration.mode.value} mode, "
        f"{via(access)} {access.namespace}/{access.service_account})"
    )
    return wrapped(title, width)


# --------------------------------------------------------------------------- verify-path


def _link_head(row: LinkRow, first: bool) -> Table:
    grid = Table.grid(padding=(0, 2, 0, 0))
    grid.add_column(no_wrap=True, min_width=len("broken"))
    grid.add_column(no_wrap=True, min_width=LINK_WIDTH)
    grid.add_column()
    state = Text(link_state(row.ok), style=OK_STYLE if row.ok else BROKEN_STYLE)
    subject = Text(row.subject)
    if first:
        state.stylize(FIRST_BROKEN_STYLE)
        subject.append(" (first broken: fix it first)", style="bold")
    grid.add_row(state, Text(row.link.value, style="bold" if first else ""), subject)
    return grid


def _link_parts(row: LinkRow, first: bool, width: int | None) -> list[RenderableType]:
    parts: list[RenderableType] = [Padding(_link_head(row, first), (0, 0, 0, 2), expand=False)]
    if not row.ok:
        parts += wrapped(row.reason, width, DETAIL_INDENT, BROKEN_STYLE)
        parts += _fix(row.fix, width)
    return parts


def verify_view(answer: PathAnswer, width: int | None = None) -> RenderableType:
    """`verify-path`: the declared path, then every link in chain order, the first
    broken one marked, each broken one with why and the exact fix; then the grants
    that let other principals use the key, and what else is wrong around the path."""
    parts: list[RenderableType] = [*_title(answer.declaration, width)]
    parts += _access_lines(answer.declaration, width)
    if answer.refused is not None:
        refused = Text("refused: ", style=FIRST_BROKEN_STYLE).append(answer.refused)
        parts += wrapped(refused, width)
        parts += wrapped(
            "nothing was checked: declare the path again (declare-path or adopt-path)", width
        )
        return Group(*parts)
    first = answer.first_broken
    for row in answer.links:
        parts += _link_parts(row, row is first, width)
    parts += wrapped(_verdict(answer), width)
    parts += _grant_lines(answer, width)
    for found in answer.hygiene:
        parts += wrapped(
            Text(f"{found.finding.value}: ", style="yellow").append(found.detail), width
        )
        parts += _fix(found.fix, width, 2)
    return Group(*parts)


def _verdict(answer: PathAnswer) -> Text:
    first = answer.first_broken
    if first is None:
        return Text("works: every link holds", style=OK_STYLE)
    broken = sum(1 for row in answer.links if not row.ok)
    line = Text(f"broken at {first.link.value}", style=FIRST_BROKEN_STYLE)
    more = f" ({broken} links broken: put the first right, then verify again)"
    return line.append(more if broken > 1 else ": the pod cannot read its secret")


def _grant_lines(answer: PathAnswer, width: int | None) -> list[Text]:
    if not answer.grants:
        return [Text("grants on the key: none")]
    lines = wrapped(f"grants on the key (access beside its policy): {len(answer.grants)}", width)
    for grant in answer.grants:
        lines += wrapped(grant.grantee, width, 2)
        operations = ", ".join(grant.operations) or "no operation"
        lines += wrapped(f"{operations} (grant {grant.grant_id})", width, DETAIL_INDENT, "dim")
    return lines


# --------------------------------------------------------------------------- paths

PATHS_HEADERS: Final = ("PATH", "STATE", "FIRST BROKEN", "SINCE (UTC)", "VIA", "MODE", "SECRET")


def _state(row: PathRow) -> Text:
    if row.works is None:
        return Text("not verified yet", style="dim")
    return Text("works", style=OK_STYLE) if row.works else Text("broken", style=BROKEN_STYLE)


def _path_entry(row: PathRow) -> Entry:
    broken = Text(row.first_broken.value if row.first_broken else "-")
    since = when(row.since) if row.since else "-"
    details: list[Text] = []
    if row.checked_at is not None:
        details.append(Text(f"since {since} · last checked {when(row.checked_at)}"))
    if row.first_broken is not None:  # stacked: list_views wraps these under the path
        details.append(Text(row.reason, style=BROKEN_STYLE))
        details.append(Text("fix: ", style="bold").append(row.fix))
    return Entry(
        cells=(
            Text(row.name),
            _state(row),
            broken,
            Text(since),
            Text(row.via),
            Text(row.mode),
            Text(row.secret),
        ),
        head=(Text(row.name, style="bold"), _state(row), broken, Text(row.via), Text(row.mode)),
        arn=row.secret,
        details=tuple(details),
    )


def paths_view(rows: Sequence[PathRow], width: int | None = None) -> RenderableType:
    """`paths`: a row per declared path (broken first) with its last stored verdict;
    then, for the broken ones, why and the fix (in the table, after it; stacked, under
    each)."""
    if not rows:
        return Text("no access paths declared")
    entries = [_path_entry(row) for row in rows]
    parts: list[RenderableType] = [listing(PATHS_HEADERS, entries, width)]
    broken = sum(1 for row in rows if row.works is False)
    unverified = sum(1 for row in rows if row.works is None)
    summary = Text(f"{len(rows)} path{'s' if len(rows) != 1 else ''}: ")
    summary.append(f"{broken} broken", style=BROKEN_STYLE if broken else OK_STYLE)
    if unverified:
        summary.append(f", {unverified} not verified yet")
    parts.append(summary)
    if fits(PATHS_HEADERS, entries, width):
        for row in rows:
            if row.first_broken is not None:
                parts += wrapped(Text(f"{row.name}: ").append(row.reason), width, 2)
                parts += _fix(row.fix, width)
    return Group(*parts)


# --------------------------------------------------------------------------- declaring


def declare_plan_view(plan: PathPlan, width: int | None = None) -> RenderableType:
    """`declare-path` / `adopt-path` before anything is signed: what would be declared,
    and what changes against the current declaration."""
    new, previous = plan.declaration, plan.previous
    head = Text("declaring access path ")
    head.append(new.name, style="bold")
    head.append(f" as version {new.version}, {new.mode.value} mode")
    parts: list[RenderableType] = [*wrapped(head, width), *_access_lines(new, width)]
    if previous is None:
        parts.append(Text("first declaration", style="bold").append(" (nothing declared yet)"))
        return Group(*parts)
    against = Text(f"against version {previous.version} (by {previous.declared_by}): ")
    if not plan.changes:
        parts += wrapped(against.append("no change", style="green"), width)
        return Group(*parts)
    parts += wrapped(against.append(f"{len(plan.changes)} changed", style="yellow"), width)
    for change in plan.changes:
        parts += wrapped(change, width, 2)
    return Group(*parts)
