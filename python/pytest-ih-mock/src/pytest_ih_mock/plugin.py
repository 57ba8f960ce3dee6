"""The pytest side: options, and the `ih_mock_server` and `ih_mock` fixtures.

Settings, first found wins: the command-line option, then (for the command) $IH_MOCK_COMMAND, then
the ini option (pytest.ini, tox.ini, setup.cfg or pyproject.toml's [tool.pytest.ini_options]).
"""
from __future__ import annotations

import os
from typing import Iterator, Optional

import pytest

from .server import IhMockServer, ScopedIhMock, start, test_id_of

SCOPES = ("session", "package", "module", "class", "function")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ih-mock", "ih-mock, the Interhuman v1 API emulator")
    group.addoption("--ih-mock-command", dest="ih_mock_command", metavar="COMMAND", help="How to run ih-mock, e.g. 'node ./node_modules/ih-mock/bin/ih-mock.js' (default: $IH_MOCK_COMMAND, the ih_mock_command ini option, ih-mock on PATH, then npx --yes ih-mock).")
    group.addoption("--ih-mock-args", dest="ih_mock_args", metavar="ARGS", help="More ih-mock serve flags, e.g. '--scenario steady --timing instant' (default: the ih_mock_args ini option).")
    group.addoption("--ih-mock-scope", dest="ih_mock_scope", choices=SCOPES, help="How long one ih-mock serves: session (default), package, module, class or function (a new one per test).")
    parser.addini("ih_mock_command", "How to run ih-mock (see --ih-mock-command).")
    parser.addini("ih_mock_args", "More ih-mock serve flags (see --ih-mock-args).")
    parser.addini("ih_mock_scope", "How long one ih-mock serves (see --ih-mock-scope).", default="session")
    parser.addini("ih_mock_start_timeout", "Seconds ih-mock has to print its readiness line.", default="60")
    parser.addini("ih_mock_stop_timeout", "Seconds ih-mock has to exit after SIGTERM before it is killed.", default="10")


def _setting(config: pytest.Config, name: str, env: Optional[str] = None) -> Optional[str]:
    value = config.getoption(name)
    if value:
        return value
    if env and os.environ.get(env):
        return os.environ[env]
    return config.getini(name) or None


def _server_scope(fixture_name: str, config: pytest.Config) -> str:
    scope = _setting(config, "ih_mock_scope") or "session"
    if scope not in SCOPES:
        raise pytest.UsageError(f"ih_mock_scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    return scope


@pytest.fixture(scope=_server_scope)
def ih_mock_server(request: pytest.FixtureRequest) -> Iterator[IhMockServer]:
    """A running ih-mock, started once per session (or per --ih-mock-scope), unscoped: it sees every test."""
    config = request.config
    server = start(
        command=_setting(config, "ih_mock_command", env="IH_MOCK_COMMAND"),
        args=_setting(config, "ih_mock_args") or (),
        start_timeout=float(config.getini("ih_mock_start_timeout")),
        stop_timeout=float(config.getini("ih_mock_stop_timeout")),
    )
    try:
        yield server
        server.check_running()
    finally:
        server.stop()


@pytest.fixture
def ih_mock(ih_mock_server: IhMockServer, request: pytest.FixtureRequest) -> Iterator[ScopedIhMock]:
    """ih-mock as this test sees it: the test's node id is its test id (in `stream_url`, `headers`, `env`,
    and on every `admin` call), so tests sharing a server never see each other's sessions or faults.
    Afterwards the test's scope is reset (its journal entries, queued faults and defaults go)."""
    view = ih_mock_server.for_test(test_id_of(request.node.nodeid))
    yield view
    ih_mock_server.check_running()
    view.admin.reset()


#: Lines of ih-mock's log shown under a failed test that used it.
LOG_LINES_ON_FAILURE = 40


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed test that used ih-mock shows the end of ih-mock's log, next to its captured output."""
    outcome = yield
    report = outcome.get_result()
    server = getattr(item, "funcargs", {}).get("ih_mock_server")
    if report.failed and isinstance(server, IhMockServer):
        lines = server.stderr().splitlines()[-LOG_LINES_ON_FAILURE:]
        if lines:
            report.sections.append((f"ih-mock log ({server.base_url}, last {len(lines)} lines)", "\n".join(lines)))
