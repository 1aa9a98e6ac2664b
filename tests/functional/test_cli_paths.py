"""Access paths through the CLI's entry point, against the sandbox's story: adopt-path
finds the key, the OIDC provider and the service account from a role and a secret;
verify-path names the first broken link and its fix (exit 1), refuses a declaration
nobody signed (exit 2) and knows no path it was not told of (exit 3); declare-path asks
at a terminal and signs; paths lists the last verdicts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from driftguard.path_model import Irsa, PathDeclaration
from driftguard.path_store import PATH_PK, PathStatus, PathStore
from driftguard.state import StateStore
from driftguard.vocabulary import Link, Mode
from driftguard_cli.exit_codes import EXIT_DRIFT, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import OIDC_HOST, POD_ROLE_ARN, WORKLOAD, Story
from tests.support.cli import run_cli_full, run_cli_typing

PROVIDER = f"arn:aws:iam::{WORKLOAD}:oidc-provider/{OIDC_HOST}"
STORY_ACCESS = Irsa(PROVIDER, "testnamespace", "testapp")


def adopt(story: Story, *extra: str, mode: str = "detect") -> PathDeclaration:
    code, _out, err = run_cli_full(
        "adopt-path", POD_ROLE_ARN, story.secret_arn, "--mode", mode, *extra
    )
    assert code == EXIT_OK, err
    return declared(story, "testsecret")


def declared(story: Story, name: str) -> PathDeclaration:
    store = StateStore.for_table(story.sandbox.hub_session(), story.sandbox.hub.table_name)
    found = PathStore(store).get(name)
    assert found is not None
    return found


def test_adopt_path_finds_the_rest_and_every_link_holds(undeclared_story: Story) -> None:
    story = undeclared_story
    code, out, err = run_cli_full("adopt-path", POD_ROLE_ARN, story.secret_arn, "--mode", "enforce")
    assert code == EXIT_OK, err
    assert "declaring access path testsecret as version 1, enforce mode" in out
    assert "first declaration" in out
    assert "declared access path testsecret (version 1, enforce): every link holds" in out
    path = declared(story, "testsecret")
    assert (path.path.role_arn, path.path.secret_arn) == (POD_ROLE_ARN, story.secret_arn)
    assert path.path.key_arn == story.key_arn  # from the secret's KmsKeyId
    assert path.path.access == STORY_ACCESS  # from the role's trust policy
    assert (path.mode, path.version, path.boundary_arn) == (Mode.ENFORCE, 1, None)
    assert path.signature and ":assumed-role/" in path.declared_by

    code, out, err = run_cli_full("verify-path", "testsecret")
    assert code == EXIT_OK, err
    states = [
        line.split()[:2] for line in out.splitlines() if line.startswith(("  ok", "  broken"))
    ]
    assert states == [["ok", link.value] for link in Link]
    assert "works: every link holds" in out

    code, out, _ = run_cli_full("verify-path", "testsecret", "--json")
    answer = json.loads(out)
    assert code == EXIT_OK
    assert (answer["name"], answer["ok"], answer["first_broken"]) == ("testsecret", True, None)
    assert [link["state"] for link in answer["links"]] == ["ok"] * len(Link)
    assert answer["key_arn"] == story.key_arn and answer["grants"] == []


def test_a_disabled_key_is_the_first_broken_link_with_its_fix(
    sandbox: Sandbox, undeclared_story: Story
) -> None:
    story = undeclared_story
    adopt(story)  # detect: nobody enables the key again
    with sandbox.events_paused():
        story.kms.disable_key(KeyId=story.key_arn.rsplit("/", 1)[1])  # moto: an id
    fix = f"aws kms enable-key --key-id {story.key_arn}"

    code, out, _ = run_cli_full("verify-path", "testsecret")
    assert code == EXIT_DRIFT
    (head,) = [line for line in out.splitlines() if line.startswith("  broken")]
    assert head.split()[:2] == ["broken", "key-state"] and "first broken" in head
    assert f"    {story.key_arn} is Disabled" in out.splitlines()
    assert f"    fix: {fix}" in out.splitlines()
    assert "broken at key-state: the pod cannot read its secret" in out

    code, out, _ = run_cli_full("verify-path", "--all", "--json")
    (answer,) = json.loads(out)
    assert code == EXIT_DRIFT and answer["ok"] is False
    assert answer["first_broken"] == {
        "link": "key-state",
        "reason": f"{story.key_arn} is Disabled",
        "fix": fix,
    }
    assert [link["link"] for link in answer["links"] if not link["ok"]] == ["key-state"]
    assert story.key_state() == "Disabled"  # verify-path only reads


def test_a_path_declaration_nobody_signed_is_refused(
    store: StateStore, undeclared_story: Story
) -> None:
    story = undeclared_story
    adopt(story)
    # Straight into the table, as someone who may write it but not sign: a copy with
    # another service account, unsigned, and the adopted one pointed at another key.
    item = store.table.get_item(Key={"pk": PATH_PK, "sk": "DECLARED#testsecret"})["Item"]
    forged = item | {"sk": "DECLARED#forged", "name": "forged", "service_account": "mallory"}
    store.table.put_item(Item=forged | {"signature": ""})
    other = story.key_arn.replace(story.key_arn[-12:], "0" * 12)
    store.table.update_item(
        Key={"pk": PATH_PK, "sk": "DECLARED#testsecret"},
        UpdateExpression="SET key_arn = :k",
        ExpressionAttributeValues={":k": other},
    )

    code, out, err = run_cli_full("verify-path", "forged")
    assert code == EXIT_USAGE
    assert "refused access path forged" in err and "is not signed" in err
    assert "refused: " in out and "nothing was checked" in out
    assert not [line for line in out.splitlines() if line.startswith("  ok")]

    code, out, err = run_cli_full("verify-path", "--all", "--json")
    assert code == EXIT_USAGE
    answers = {a["name"]: a for a in json.loads(out)}
    assert "does not verify" in answers["testsecret"]["refused"]
    assert all(a["links"] == [] and a["ok"] is False for a in answers.values())


def test_an_unknown_path_is_not_found(undeclared_story: Story) -> None:
    code, out, err = run_cli_full("verify-path", "nope")
    assert (code, out) == (EXIT_NOT_FOUND, "")
    assert "no access path named nope is declared" in err
    code, out, _ = run_cli_full("verify-path", "--all")
    assert (code, out) == (EXIT_OK, "no access paths declared\n")


def test_adopting_a_trust_without_an_exact_service_account_is_refused(
    sandbox: Sandbox, undeclared_story: Story
) -> None:
    with sandbox.events_paused():
        undeclared_story.widen_trust()  # StringLike system:serviceaccount:testnamespace:*
    code, _out, err = run_cli_full(
        "adopt-path", POD_ROLE_ARN, undeclared_story.secret_arn, "--mode", "detect"
    )
    assert code == EXIT_USAGE
    assert "any service account of the cluster may become the role (a finding)" in err
    assert "driftguard declare-path NAME" in err and "--irsa-provider" in err
    assert (
        PathStore(
            StateStore.for_table(sandbox.hub_session(), sandbox.hub.table_name)
        ).declarations()
        == []
    )


def test_declare_path_asks_at_a_terminal_and_resolves_a_key_alias(
    store: StateStore, undeclared_story: Story
) -> None:
    story = undeclared_story
    story.kms.create_alias(AliasName="alias/testsecret", TargetKeyId=story.key_arn)
    argv = [
        *("declare-path", "payments", "--role", POD_ROLE_ARN, "--secret", story.secret_arn),
        *("--key", "alias/testsecret", "--irsa-provider", PROVIDER),
        *("--namespace", "testnamespace", "--service-account", "testapp", "--mode", "detect"),
    ]
    code, out, err = run_cli_typing(*argv, typed="n\n")
    assert code == EXIT_USAGE and "Declare this access path? [y/N]" in out
    assert "declined: nothing declared for access path payments" in err
    assert PathStore(store).get("payments") is None

    code, out, _ = run_cli_typing(*argv, typed="y\n")
    assert code == EXIT_OK and "every link holds" in out
    first = PathStore(store).get("payments")
    assert first is not None and first.path.key_arn == story.key_arn  # the alias's key

    moved = [
        *argv[: argv.index("--namespace") + 1],
        "other",
        *argv[argv.index("--namespace") + 2 :],
    ]
    code, out, _ = run_cli_full(*moved)  # a pipeline: never asked
    assert code == EXIT_OK and "[y/N]" not in out
    assert "against version 1" in out and "namespace: testnamespace -> other" in out
    assert "broken at trust" in out
    second = PathStore(store).get("payments")
    assert second is not None and second.version == 2
    assert second.path.access == replace(STORY_ACCESS, namespace="other")
    history = store.history("path/payments")
    assert [e.after_digest != e.before_digest for e in history] == [True, True]


def test_paths_lists_the_last_verdicts_broken_first(
    sandbox: Sandbox, store: StateStore, undeclared_story: Story
) -> None:
    code, out, _ = run_cli_full("paths")
    assert (code, out) == (EXIT_OK, "no access paths declared\n")
    adopt(undeclared_story)
    sandbox.wait_idle()  # the declaration's write is checked at once (a sweep worker)
    code, out, _ = run_cli_full("paths")
    (row,) = [line for line in out.splitlines() if line.startswith("testsecret")]
    assert code == EXIT_OK and row.split()[:2] == ["testsecret", "works"]

    at = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    fix = f"aws kms enable-key --key-id {undeclared_story.key_arn}"
    PathStore(store).record(
        PathStatus(
            "testsecret", Link.KEY_STATE, "the key is Disabled", fix, 1, at, at, (Link.KEY_STATE,)
        )
    )
    code, out, _ = run_cli_full("paths")
    assert code == EXIT_DRIFT
    (row,) = [line for line in out.splitlines() if line.startswith("testsecret")]
    assert row.split()[:3] == ["testsecret", "broken", "key-state"]
    assert f"fix: {fix}" in out
    code, out, _ = run_cli_full("paths", "--json")
    (listed,) = json.loads(out)
    assert (listed["ok"], listed["first_broken"], listed["fix"]) == (False, "key-state", fix)
    assert listed["since"] == at.isoformat()
