"""The report's access paths: each declared path's links in chain order with the state
its last verification stored, broken paths first, the fix in words (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from driftguard.path_model import AccessPath, Irsa, PathDeclaration
from driftguard.path_store import PathStatus
from driftguard.vocabulary import Link, Mode
from driftguard_cli.report import render_html
from driftguard_cli.report_paths import LinkState, path_rows
from tests.unit.test_render_report import KEY, NOW, POD_ROLE, SECRET, story_report
from tests.unit.test_report_page import Texts

PROVIDER = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"
PATH = AccessPath(POD_ROLE, SECRET, KEY, Irsa(PROVIDER, "testnamespace", "testapp"))
DECLARED = PathDeclaration("pod/testsecret", PATH, Mode.ENFORCE, 1, "someone", NOW)
FIX = "aws kms cancel-key-deletion --key-id " + KEY


def status(name: str, *failing: Link) -> PathStatus:
    return PathStatus(
        name=name,
        broken=failing[0] if failing else None,
        reason="the key is PendingDeletion" if failing else "every link holds",
        fix=FIX if failing else "",
        version=1,
        since=NOW - timedelta(hours=2),
        checked_at=NOW - timedelta(minutes=5),
        failing=failing,
    )


def test_each_link_has_its_state_and_broken_paths_come_first() -> None:
    declared = [
        replace(DECLARED, name="a-works"),
        replace(DECLARED, name="b-never-checked"),
        replace(DECLARED, name="c-broken"),
    ]
    statuses = {
        "a-works": status("a-works"),
        "c-broken": status("c-broken", Link.KEY_STATE, Link.KEY_POLICY),
    }
    rows = path_rows(declared, statuses)
    assert [r.name for r in rows] == ["c-broken", "b-never-checked", "a-works"]
    broken, unchecked, works = rows
    assert [link.link for link in broken.links] == list(Link)  # chain order, all of them
    states = {link.link: link.state for link in broken.links}
    assert states[Link.KEY_STATE] is states[Link.KEY_POLICY] is LinkState.BROKEN
    assert states[Link.TRUST] is LinkState.HOLDS
    assert (broken.works, broken.first_broken, broken.fix) == (False, Link.KEY_STATE, FIX)
    assert {link.state for link in unchecked.links} == {LinkState.UNCHECKED}
    assert unchecked.works is None and unchecked.checked_at is None
    assert works.works is True and works.reason == "" and works.fix == ""


def test_the_page_shows_each_path_link_by_link_with_the_fix_in_words() -> None:
    rows = path_rows([DECLARED], {DECLARED.name: status(DECLARED.name, Link.KEY_STATE)})
    page = Texts(render_html(replace(story_report(), paths=rows)))
    (path,) = page.text("path", data_path="pod/testsecret")
    assert path.index(POD_ROLE) < path.index(SECRET) < path.index(KEY)
    assert "broken" in path and "key-state (first broken)" in path
    assert "Fix: " + FIX in path
    (key_state,) = page.text("path-link", data_link="key-state")
    assert key_state.endswith("broken")  # the state is a word, not only a colour
    (trust,) = page.text("path-link", data_link="trust")
    assert trust.endswith("holds")


def test_without_paths_the_page_says_how_to_declare_one() -> None:
    page = Texts(render_html(story_report()))
    assert page.text("empty", id="no-paths") == [
        "No access path is declared (driftguard adopt-path ROLE_ARN SECRET_ARN)."
    ]
