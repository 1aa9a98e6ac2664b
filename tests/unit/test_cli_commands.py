"""The command line's commands, as main.py assembles them: every command module adds
the parsers it names, and every command explains itself (an example, the exit codes).
The list is main.py's own, so a new command cannot be left out."""

from __future__ import annotations

import argparse
import sys
import types

import pytest

from driftguard_cli.commands._common import Command
from driftguard_cli.exit_codes import EXIT_CODES_HELP, EXIT_OK, EXIT_USAGE
from driftguard_cli.main import COMMANDS, build_parser, main
from tests.support.cli import run_cli, run_cli_full

NAMES = [name for module in COMMANDS for name in module.NAMES]
KEY = "arn:aws:kms:us-east-1:333333333333:key/x"
POD_ROLE = "arn:aws:iam::111111111111:role/pod-role"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subparsers.choices)


@pytest.mark.parametrize("module", COMMANDS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_a_command_module_registers_exactly_the_commands_it_names(module: Command) -> None:
    parser = argparse.ArgumentParser(prog="driftguard")
    module.register(parser.add_subparsers(dest="command"))
    assert list(_subcommands(parser)) == list(module.NAMES)


def test_the_parser_has_every_command_once() -> None:
    assert len(NAMES) == len(set(NAMES))
    assert list(_subcommands(build_parser())) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_command_explains_itself_with_an_example(name: str) -> None:
    code, text = run_cli(name, "--help")
    assert code == EXIT_OK
    assert text.startswith(f"usage: driftguard {name} ")
    examples = text[text.index("\nexamples:\n") :]
    assert f"\n  driftguard {name}" in examples
    assert text.rstrip().endswith(EXIT_CODES_HELP)


def test_the_top_level_help_lists_every_command() -> None:
    code, text = run_cli("--help")
    assert code == EXIT_OK
    assert all(f"\n    {name} " in text for name in NAMES)
    assert text.rstrip().endswith(EXIT_CODES_HELP)


def test_read_commands_all_take_json_and_csv() -> None:
    parser = build_parser()
    operand = {"drift": [KEY], "history": [KEY], "principals": [POD_ROLE]}
    operand["whois"] = ["AROAABCDEFGHIJKLMNOPQ"]
    for command in ("status", "drift", "history", "principals", "whois", "scan", "report"):
        args = parser.parse_args([command, "--json", *operand.get(command, [])])
        assert args.output == "json", command
        args = parser.parse_args([command, "--output", "csv", *operand.get(command, [])])
        assert args.output == "csv", command
        assert parser.parse_args([command, *operand.get(command, [])]).output == "table"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["principals", KEY], "not an IAM role ARN"),
        (["whois", "pod-role"], "not an IAM role or user unique id"),
        (["history", KEY, "--limit", "0"], "must be a positive number: 0"),
        (["report", "--days", "-3"], "must be a positive number: -3"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ],
)
def test_a_usage_error_is_exit_2_before_anything_runs(argv: list[str], message: str) -> None:
    code, out, err = run_cli_full(*argv)
    assert code == EXIT_USAGE and out == ""
    assert err.startswith("usage: driftguard") and message in err


def test_whois_takes_a_session_suffixed_id_as_the_id() -> None:
    args = build_parser().parse_args(["whois", "AROAABCDEFGHIJKLMNOPQ:botocore-session-1"])
    assert args.unique_id == "AROAABCDEFGHIJKLMNOPQ"


def test_demo_hands_the_sandbox_the_cli_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox never imports the command line: `demo` gives it `main` to run."""
    calls: list[object] = []

    def run_demo(out: object, command_line: object, *, chaos: bool) -> int:
        calls.append((command_line, chaos))
        return 0

    # A stand-in for the sandbox's demo module: the real one would start moto.
    stand_in = types.ModuleType("driftguard_sandbox.demo")
    stand_in.run_demo = run_demo  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "driftguard_sandbox.demo", stand_in)
    assert run_cli("demo") == (EXIT_OK, "")
    assert run_cli("demo", "--chaos") == (EXIT_OK, "")
    assert calls == [(main, False), (main, True)]
