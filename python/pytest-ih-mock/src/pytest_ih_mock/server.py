"""Start ih-mock as a child process, wait until it serves, and stop it without leaving a process.

`start()` runs `<command> --port 0 <args>` (a free port chosen by the system), reads the first
line the CLI prints, `ih-mock ready at <base URL>` (fixed so scripts can wait for it), and returns
an `IhMockServer` with the URLs and a control-plane client. `IhMockServer.stop()` sends SIGTERM to
the process group (ih-mock closes open sessions with 1001 and exits 0; `npx` and what it started go
too), waits, and kills the group after a timeout.
"""
from __future__ import annotations

import collections
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import urllib.parse
from typing import Deque, Dict, List, Mapping, Optional, Sequence, Union

from .admin import TEST_ID_HEADER, AdminClient

READY_LINE = re.compile(r"^ih-mock ready at (https?://\S+)\s*$")
STREAM_PATH = "/v1/stream/analyze"
ADMIN_PATH = "/__ih"
#: The API key clients are given when the arguments configure none (ih-mock then accepts any non-empty key).
DEFAULT_API_KEY = "ih_test_pytest_ih_mock"
#: How much of the child's stderr is kept for error messages.
_TAIL_BYTES = 16 * 1024

_POSIX = os.name == "posix"


class IhMockError(Exception):
    """ih-mock could not be found, did not start, or stopped on its own."""


def resolve_command(command: Union[str, Sequence[str], None] = None, path: Optional[str] = None) -> List[str]:
    """The command that runs ih-mock: `command` (a shell-like string or a list) if given, else
    `ih-mock` on PATH, else `npx --yes ih-mock` (the project's copy, or one npm fetches)."""
    if command:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if argv:
            return argv
    found = shutil.which("ih-mock", path=path)
    if found:
        return [found]
    npx = shutil.which("npx", path=path)
    if npx:
        return [npx, "--yes", "ih-mock"]
    raise IhMockError(
        "ih-mock was not found: neither `ih-mock` nor `npx` is on PATH. Install it (npm install --save-dev ih-mock) "
        "or name the command with --ih-mock-command, the ih_mock_command ini option or $IH_MOCK_COMMAND."
    )


def flag_value(args: Sequence[str], flag: str) -> Optional[str]:
    """The value of the first `--flag value` or `--flag=value` in `args`, else None."""
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :]
    return None


def _with_query(url: str, params: Mapping[str, Optional[str]]) -> str:
    given = {k: str(v) for k, v in params.items() if v is not None}
    if not given:
        return url
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(given.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class Endpoints:
    """The URLs, key and control plane of a running ih-mock, as one test (or every test) sees them."""

    base_url: str
    api_key: str
    test_id: Optional[str]
    admin: AdminClient

    @property
    def api_base_url(self) -> str:
        """`http://127.0.0.1:PORT`: POST /v1/auth and POST /v1/upload/analyze live here."""
        return self.base_url

    @property
    def stream_url(self) -> str:
        """The stream endpoint, `ws://127.0.0.1:PORT/v1/stream/analyze`, with `?test_id=` when scoped to a test."""
        return self.stream_url_with()

    def stream_url_with(self, **params: Optional[str]) -> str:
        """The stream URL with more query parameters (scenario=, seed=, timing=) after the test id."""
        ws = "ws" + self.base_url[len("http") :]
        return _with_query(ws + STREAM_PATH, {"test_id": self.test_id, **params})

    @property
    def admin_url(self) -> str:
        """`http://127.0.0.1:PORT/__ih`: the control plane."""
        return self.base_url + ADMIN_PATH

    @property
    def headers(self) -> Dict[str, str]:
        """What an HTTP or WebSocket client sends: the API key, and the test id when scoped."""
        headers = {"Authorization": "Bearer " + self.api_key}
        if self.test_id is not None:
            headers[TEST_ID_HEADER] = self.test_id
        return headers

    @property
    def env(self) -> Dict[str, str]:
        """Environment variables for a client run as a subprocess (the names `ih-mock conformance` and
        `ih-mock exec` give): IH_STREAM_URL, IH_API_BASE_URL, IH_API_KEY, IH_ADMIN_URL, IH_MOCK_URL
        (what the `ih-mock sessions|journal|wait|inject` commands read) and IH_TEST_ID when scoped."""
        env = {
            "IH_STREAM_URL": self.stream_url,
            "IH_API_BASE_URL": self.api_base_url,
            "IH_API_KEY": self.api_key,
            "IH_ADMIN_URL": self.admin_url,
            "IH_MOCK_URL": self.base_url,
        }
        if self.test_id is not None:
            env["IH_TEST_ID"] = self.test_id
        return env


class ScopedIhMock(Endpoints):
    """A running ih-mock as one test sees it: its stream URL carries the test id, its admin client is scoped."""

    def __init__(self, server: "IhMockServer", test_id: str):
        self.server = server
        self.base_url = server.base_url
        self.api_key = server.api_key
        self.test_id = test_id
        self.admin = server.admin.scoped(test_id)

    def __repr__(self) -> str:
        return f"<ScopedIhMock {self.base_url} test_id={self.test_id!r}>"


class _Drain(threading.Thread):
    """Reads a child's output to its end (so the child never blocks on a full pipe), keeping the tail,
    and notes the readiness line."""

    def __init__(self, stream, name: str):
        super().__init__(name=name, daemon=True)
        self._stream = stream
        self._tail: Deque[str] = collections.deque()
        self._size = 0
        self._lock = threading.Lock()
        self.ready_url: Optional[str] = None
        #: Set at the readiness line and at end of output, whichever comes first.
        self.settled = threading.Event()
        #: Set at end of output: every process holding the pipe has closed it.
        self.closed = threading.Event()

    def run(self) -> None:
        try:
            for raw in iter(self._stream.readline, b""):
                line = raw.decode("utf-8", "replace")
                with self._lock:
                    self._tail.append(line)
                    self._size += len(line)
                    while self._size > _TAIL_BYTES and len(self._tail) > 1:
                        self._size -= len(self._tail.popleft())
                if self.ready_url is None:
                    match = READY_LINE.match(line.rstrip("\r\n"))
                    if match:
                        self.ready_url = match.group(1).rstrip("/")
                        self.settled.set()
        finally:
            self._stream.close()
            self.closed.set()
            self.settled.set()

    def text(self) -> str:
        with self._lock:
            return "".join(self._tail)


class IhMockServer(Endpoints):
    """A running ih-mock process. Every test sees all of it (no test id); `for_test(id)` scopes."""

    def __init__(self, process: subprocess.Popen, argv: List[str], base_url: str, api_key: str, admin_token: Optional[str], stdout: _Drain, stderr: _Drain, stop_timeout: float):
        self.process = process
        self.argv = argv
        self.base_url = base_url
        self.api_key = api_key
        self.test_id = None
        self.admin = AdminClient(base_url, admin_token=admin_token)
        self.stop_timeout = stop_timeout
        self._stdout = stdout
        self._stderr = stderr
        self._stopped = False

    def __repr__(self) -> str:
        return f"<IhMockServer {self.base_url} pid={self.pid}>"

    def __enter__(self) -> "IhMockServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.process.pid

    def for_test(self, test_id: str) -> ScopedIhMock:
        """This server as the test `test_id` sees it (see `test_id_of` for making one from a test's name)."""
        return ScopedIhMock(self, test_id)

    def stdout(self) -> str:
        """What ih-mock printed on stdout (the readiness lines), the last 16 KB."""
        return self._stdout.text()

    def stderr(self) -> str:
        """ih-mock's log (stderr), the last 16 KB."""
        return self._stderr.text()

    def check_running(self) -> None:
        """Raise IhMockError if the process has exited on its own."""
        code = self.process.poll()
        if code is not None and not self._stopped:
            raise IhMockError(f"ih-mock ({' '.join(self.argv)}) exited with code {code} while the tests ran{_tail(self._stderr)}")

    def stop(self) -> Optional[int]:
        """SIGTERM to the process group, wait `stop_timeout`, then SIGKILL; returns the exit code."""
        if self._stopped:
            return self.process.returncode
        self._stopped = True
        # Signal the group only while something of it is left (the leader, or a process holding its
        # output): a group id is not reused while it has members, so no other process is hit.
        if self.process.poll() is None or not (self._stdout.closed.is_set() and self._stderr.closed.is_set()):
            _signal_group(self.process, signal.SIGTERM if _POSIX else None)
        try:
            self.process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL if _POSIX else None, kill=True)
            self.process.wait()
        # End of output: every process that held the pipes (npx's ih-mock too) is gone.
        for drain in (self._stdout, self._stderr):
            if not drain.closed.wait(self.stop_timeout):
                _signal_group(self.process, signal.SIGKILL if _POSIX else None, kill=True)
                drain.closed.wait(self.stop_timeout)
            drain.join(self.stop_timeout)
        return self.process.returncode


def _signal_group(process: subprocess.Popen, sig: Optional[int], kill: bool = False) -> None:
    if _POSIX and sig is not None:
        try:
            os.killpg(process.pid, sig)  # the child leads its own group (start_new_session)
        except ProcessLookupError:
            pass
    elif kill:
        process.kill()
    else:
        process.terminate()


def _tail(drain: _Drain) -> str:
    text = drain.text().strip()
    return f"; its stderr ends with:\n{text}" if text else " (nothing on stderr)"


def start(
    command: Union[str, Sequence[str], None] = None,
    args: Union[str, Sequence[str]] = (),
    cwd: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    start_timeout: float = 60.0,
    stop_timeout: float = 10.0,
) -> IhMockServer:
    """Start ih-mock on a free port of 127.0.0.1 and return once it serves.

    `command`: how to run it (see `resolve_command`); `args`: more `ih-mock serve` flags (a string is
    split like a shell would, e.g. "--scenario steady --timing instant"); `env`: the child's
    environment (default: this process's). Raises IhMockError if it exits or prints no readiness
    line within `start_timeout` seconds (it is stopped then).
    """
    env = dict(os.environ if env is None else env)
    extra = shlex.split(args) if isinstance(args, str) else list(args)
    argv = resolve_command(command, path=env.get("PATH"))
    if flag_value(extra, "--port") is None:
        argv += ["--port", "0"]
    argv += extra
    env.setdefault("NO_COLOR", "1")
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=_POSIX,  # a group of its own: stop() signals npx and ih-mock together
        )
    except OSError as err:
        raise IhMockError(f"could not run ih-mock ({' '.join(argv)}): {err}") from None
    stdout = _Drain(process.stdout, "ih-mock stdout")
    stderr = _Drain(process.stderr, "ih-mock stderr")
    stdout.start()
    stderr.start()
    api_key = flag_value(extra, "--api-key") or DEFAULT_API_KEY
    admin_token = flag_value(extra, "--admin-token") or env.get("IH_ADMIN_TOKEN") or None
    server = IhMockServer(process, argv, "", api_key, admin_token, stdout, stderr, stop_timeout)
    if not stdout.settled.wait(start_timeout) or stdout.ready_url is None:
        ended = stdout.closed.is_set()  # its output ended before a readiness line: it exited
        server.stop()
        why = f"exited with code {process.returncode}" if ended else f'printed no "ih-mock ready at <URL>" line within {start_timeout:g} s'
        raise IhMockError(f"ih-mock ({' '.join(argv)}) {why}{_tail(stderr)}")
    server.base_url = stdout.ready_url
    server.admin = AdminClient(stdout.ready_url, admin_token=admin_token)
    return server


_NOT_TEST_ID = re.compile(r"[^ -~]")


def test_id_of(name: str) -> str:
    """A valid test id (1 to 200 printable ASCII characters, no space at either end) for a test's name:
    other characters become "?", and a longer name is cut and ends with a hash of the whole, so two
    tests never share an id."""
    text = _NOT_TEST_ID.sub("?", name).strip() or "test"
    if len(text) <= 200 and text == name:
        return text
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]
    return text[: 200 - 13].rstrip() + "#" + digest


test_id_of.__test__ = False  # type: ignore[attr-defined]  # not a test, whatever pytest's naming rules say
