"""pytest-ih-mock: run ih-mock, the local Interhuman v1 API emulator, from pytest, and steer it.

Fixtures (registered by the `pytest11` entry point, or with `-p pytest_ih_mock`):

- `ih_mock`: ih-mock as the current test sees it (`stream_url`, `api_base_url`, `api_key`,
  `admin_url`, `headers`, `env`, and `admin`, a control-plane client scoped to the test);
- `ih_mock_server`: the process itself, shared by the tests of a session (or of the scope chosen
  with --ih-mock-scope / ih_mock_scope).

Outside fixtures: `start()` returns a running `IhMockServer` (a context manager) for your own fixtures.
"""
from .admin import AdminClient, AdminError, WaitTimedOut
from .plugin import ih_mock, ih_mock_server, pytest_addoption, pytest_runtest_makereport
from .server import Endpoints, IhMockError, IhMockServer, ScopedIhMock, resolve_command, start, test_id_of

__all__ = [
    "AdminClient",
    "AdminError",
    "Endpoints",
    "IhMockError",
    "IhMockServer",
    "ScopedIhMock",
    "WaitTimedOut",
    "ih_mock",
    "ih_mock_server",
    "pytest_addoption",
    "pytest_runtest_makereport",
    "resolve_command",
    "start",
    "test_id_of",
]
