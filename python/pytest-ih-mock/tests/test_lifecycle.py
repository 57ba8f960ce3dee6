"""The fixture's life cycle, seen from outside: an inner pytest run (pytester, in a subprocess) uses
the fixtures, writes down the pid and URL of each ih-mock it got, and the outer test checks how many
servers ran, that each was reachable during its tests, and that no process is left once the run is
over: stopped with SIGTERM, killed (with the processes it started) when it ignores SIGTERM."""
from __future__ import annotations

import json
import os
import shlex
import stat
import sys
import textwrap
from typing import Dict, List

import pytest

import pytest_ih_mock
from pytest_ih_mock import IhMockError, resolve_command, test_id_of

#: Records, from inside a test, which ih-mock served it and that it answered.
RECORDING_TEST = """
import json, os, urllib.request

def test_{name}(ih_mock, ih_mock_server):
    with urllib.request.urlopen(ih_mock.api_base_url + "/health", timeout=10) as answer:
        assert answer.status == 200
    with open({log!r}, "a") as log:
        log.write(json.dumps({{"test": "{name}", "pid": ih_mock_server.pid, "url": ih_mock.base_url,
                              "argv": ih_mock_server.argv, "test_id": ih_mock.test_id}}) + "\\n")
"""


@pytest.fixture(autouse=True)
def same_plugin_inside(monkeypatch):
    """The inner runs (in another folder) import this very copy of the plugin."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(pytest_ih_mock.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in [here, os.environ.get("PYTHONPATH")] if p))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")


def alive(pid: int) -> bool:
    """Whether `pid` still runs. A zombie does not: it has exited, and its new parent (init, once its
    own parent is gone) has not collected it yet."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def run_inner(pytester: pytest.Pytester, *args: str):
    return pytester.runpytest_subprocess("-p", "pytest_ih_mock", "-p", "no:cacheprovider", *args, timeout=240)


def records(path) -> List[Dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


def write_tests(pytester: pytest.Pytester, log, *modules: List[str]) -> None:
    for index, names in enumerate(modules):
        source = "".join(RECORDING_TEST.format(name=name, log=str(log)) for name in names)
        pytester.makepyfile(**{f"test_module_{index}": source})


def test_one_server_for_the_session_by_default_stopped_at_the_end(pytester):
    log = pytester.path / "servers.jsonl"
    write_tests(pytester, log, ["a", "b"], ["c"])
    result = run_inner(pytester)
    result.assert_outcomes(passed=3)
    served = records(log)
    assert len({r["pid"] for r in served}) == 1 and len({r["url"] for r in served}) == 1
    assert len({r["test_id"] for r in served}) == 3  # a test id per test
    assert served[0]["test_id"] == "test_module_0.py::test_a"
    assert not alive(served[0]["pid"])


def test_function_scope_starts_a_server_per_test(pytester):
    log = pytester.path / "servers.jsonl"
    write_tests(pytester, log, ["a", "b"])
    result = run_inner(pytester, "--ih-mock-scope", "function")
    result.assert_outcomes(passed=2)
    pids = [r["pid"] for r in records(log)]
    assert len(set(pids)) == 2
    assert [alive(pid) for pid in pids] == [False, False]


def test_module_scope_from_the_ini_file(pytester):
    log = pytester.path / "servers.jsonl"
    write_tests(pytester, log, ["a", "b"], ["c"])
    pytester.makeini("[pytest]\nih_mock_scope = module\n")
    run_inner(pytester).assert_outcomes(passed=3)
    served = records(log)
    assert served[0]["pid"] == served[1]["pid"] != served[2]["pid"]
    assert not any(alive(r["pid"]) for r in served)


def test_ih_mock_found_on_path(pytester, monkeypatch):
    # A folder on PATH holding an `ih-mock` that runs this repository's CLI.
    command = resolve_command(os.environ.get("IH_MOCK_COMMAND"))
    bin_dir = pytester.mkdir("bin")
    shim = bin_dir / "ih-mock"
    shim.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in command) + ' "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("IH_MOCK_COMMAND", raising=False)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    log = pytester.path / "servers.jsonl"
    write_tests(pytester, log, ["a"])
    run_inner(pytester).assert_outcomes(passed=1)
    (served,) = records(log)
    assert served["argv"][0] == str(shim)
    assert not alive(served["pid"])


def test_serve_flags_that_ih_mock_refuses_fail_the_tests_with_its_message(pytester):
    pytester.makepyfile("def test_a(ih_mock):\n    pass\n")
    result = run_inner(pytester, "--ih-mock-args", "--timing sometimes")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*IhMockError: ih-mock (*--timing sometimes) exited with code 2; its stderr ends with:*", "*sometimes*"])


def test_a_command_that_does_not_exist(pytester):
    pytester.makepyfile("def test_a(ih_mock):\n    pass\n")
    result = run_inner(pytester, "--ih-mock-command", "/nonexistent/ih-mock")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*IhMockError: could not run ih-mock (/nonexistent/ih-mock --port 0): *No such file or directory*"])


def test_a_server_that_dies_during_a_test_fails_it_at_teardown(pytester):
    pytester.makepyfile(
        """
        import os, signal
        def test_a(ih_mock, ih_mock_server):
            os.kill(ih_mock_server.pid, signal.SIGKILL)
            ih_mock_server.process.wait()
        """
    )
    result = run_inner(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*IhMockError: ih-mock (*) exited with code -9 while the tests ran*"])


def test_a_failed_test_shows_the_end_of_the_ih_mock_log(pytester):
    pytester.makepyfile(
        """
        import urllib.request
        def test_a(ih_mock):
            urllib.request.urlopen(ih_mock.api_base_url + "/v1/auth", data=b"{}", timeout=10)  # 400: no credentials
        """
    )
    result = run_inner(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- ih-mock log (http://127.0.0.1:*, last * lines) -*", '*"msg":"Server listening at http://127.0.0.1:*'])


# Stands in for an ih-mock that hangs on shutdown (the thing under test is the fixture's stop): it
# ignores SIGTERM, starts a child that holds its stdout as `npx` does, prints the readiness line and
# waits forever. Both pids go to the file named by its first argument.
STUBBORN = """
import os, signal, socket, subprocess, sys, threading
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, threading; signal.signal(signal.SIGTERM, signal.SIG_IGN); threading.Event().wait()"])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
print(f"ih-mock ready at http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
threading.Event().wait()
"""


def test_a_server_that_ignores_sigterm_is_killed_with_what_it_started(pytester):
    script = pytester.path / "stubborn.py"
    script.write_text(STUBBORN)
    pids = pytester.path / "pids.txt"
    pytester.makepyfile("def test_a(ih_mock_server):\n    assert ih_mock_server.base_url.startswith('http://127.0.0.1:')\n")
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(pids))}"
    result = run_inner(pytester, "--ih-mock-command", command, "-o", "ih_mock_stop_timeout=2")
    result.assert_outcomes(passed=1)
    server, child = (int(p) for p in pids.read_text().split())
    assert not alive(server) and not alive(child)


def test_resolving_the_command(tmp_path):
    assert resolve_command("node '/opt/my ih-mock/bin/ih-mock.js'") == ["node", "/opt/my ih-mock/bin/ih-mock.js"]
    assert resolve_command(["ih-mock"]) == ["ih-mock"]
    npx = tmp_path / "npx"
    npx.write_text("#!/bin/sh\n")
    npx.chmod(0o755)
    assert resolve_command(None, path=str(tmp_path)) == [str(npx), "--yes", "ih-mock"]
    found = tmp_path / "ih-mock"
    found.write_text("#!/bin/sh\n")
    found.chmod(0o755)
    assert resolve_command(None, path=str(tmp_path)) == [str(found)]
    with pytest.raises(IhMockError, match="ih-mock was not found"):
        resolve_command(None, path=str(tmp_path / "empty"))


def test_test_ids_are_valid_and_distinct():
    assert test_id_of("tests/test_x.py::test_y[1-a]") == "tests/test_x.py::test_y[1-a]"
    accented = test_id_of("tests/test_x.py::test_y[café]")
    assert accented.startswith("tests/test_x.py::test_y[caf?]#") and accented != test_id_of("tests/test_x.py::test_y[cafè]")
    long = test_id_of("t::" + "x" * 500)
    assert len(long) == 200 and long != test_id_of("t::" + "x" * 499)
    assert all(" " <= c <= "~" for c in long + accented)
