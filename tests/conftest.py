"""Fixtures shared by every test folder that needs the local AWS.

`sandbox_server` starts one sandbox (moto's server on 127.0.0.1, the hub
deployed from template.yaml) per test session (per worker), about a second;
`sandbox` resets it before each test (tens of milliseconds), so every test starts
from a freshly deployed hub with no keys, secrets or recorded events. moto's state
is global to the process, so there is exactly one sandbox per process.

Every test that uses the sandbox is marked `sandbox` here, so `pytest -m "not
sandbox"` is the fast tier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pytest_socket import enable_socket, socket_allow_hosts

from driftguard.state import StateStore
from driftguard.vocabulary import AlertType, Severity
from driftguard_sandbox.sandbox import Sandbox
from driftguard_sandbox.story import AlertTail, Story
from tests.support.cli import run_cli

HUB = "333333333333"
WORKLOAD = "111111111111"
DATA = "222222222222"
SANDBOX_FIXTURES = frozenset({"sandbox", "sandbox_server"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SANDBOX_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.sandbox)
    # Longest first: xdist hands out modules in this order, so the long ones do not
    # end up last on one core while the other waits.
    items.sort(key=_seconds, reverse=True)


def _seconds(item: pytest.Item) -> float:
    """What a `heavy(seconds)` module took when last measured; 0 for the rest."""
    heavy = item.get_closest_marker("heavy")
    return float(heavy.args[0]) if heavy is not None else 0.0


FIGURE = "figure: "


@pytest.fixture
def figures(record_property: Callable[[str, object], None]) -> Callable[[str, object], None]:
    """`figures(name, value)`: a measured figure, printed in the run's summary (the
    reliability tests' numbers; they travel with the report, so xdist keeps them)."""
    return lambda name, value: record_property(FIGURE + name, value)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = [
        (report.nodeid.split("::")[-1], name.removeprefix(FIGURE), value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name.startswith(FIGURE)
    ]
    if not rows:
        return
    terminalreporter.section("reliability figures")
    for test, name, value in sorted(rows):
        terminalreporter.write_line(f"{test}: {name} = {value}")


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """Tests talk to the sandbox on 127.0.0.1 and to nothing else (unit tests: nothing)."""
    socket_allow_hosts(["127.0.0.1", "localhost"])
    yield
    enable_socket()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    sandbox = Sandbox.start(hub_account=HUB, member_accounts=(WORKLOAD, DATA))
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Iterator[Sandbox]:
    sandbox_server.reset()
    yield sandbox_server
    # No delivery may run after the test: the next one on this worker may be a unit
    # test, whose blocked sockets would break the server's accept loop.
    sandbox_server.settle()


@pytest.fixture(scope="session")
def _store(sandbox_server: Sandbox) -> StateStore:
    # The table keeps its name across resets; one client serves every test.
    return StateStore.for_table(sandbox_server.hub_session(), sandbox_server.hub.table_name)


@pytest.fixture
def store(sandbox: Sandbox, _store: StateStore) -> StateStore:
    """The hub's state table (emptied for each test), read as the functions read it."""
    return _store


@pytest.fixture
def alerts(sandbox: Sandbox) -> AlertTail:
    """Every alert published from now on (an SQS subscription to the alert topic)."""
    return AlertTail(sandbox)


@pytest.fixture
def undeclared_story(sandbox: Sandbox) -> Story:
    """The story's world: pod-role, the key and the secret, nothing declared yet."""
    story = Story.create(sandbox)
    sandbox.wait_idle()
    return story


@pytest.fixture
def story(sandbox: Sandbox, undeclared_story: Story, alerts: AlertTail) -> Story:
    """The story's world with both policies adopted in enforce mode; no alert yet but
    the two that say what was declared (every declaration change is alerted)."""
    arns = (undeclared_story.key_arn, undeclared_story.secret_arn)
    for arn in arns:
        code, output = run_cli("adopt", arn, "--mode", "enforce")
        assert code == 0, output
    sandbox.wait_idle()
    declared = sorted((a.type, a.severity, a.resources[0].arn) for a in alerts.read())
    changed, info = AlertType.DECLARATION_CHANGED, Severity.INFO
    assert declared == sorted((changed, info, arn) for arn in arns)  # not an incident
    return undeclared_story
