"""A client of ih-mock's control plane (the admin API under /__ih/), with urllib only.

Each method calls one route (docs/control-plane.md in the ih-mock repository) and returns the JSON
the route answers; an error answer raises AdminError with the route's code (ihm4004, ...) and
message. A client may carry a test id: every call then sends it (X-IH-Test-Id) and sees and acts on
that test's sessions, journal entries, queued faults and defaults only.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

TEST_ID_HEADER = "X-IH-Test-Id"
ADMIN_TOKEN_HEADER = "X-IH-Admin-Token"

#: The journal filters the routes take, by keyword: each a value or a list of values (any of).
JOURNAL_FILTERS = ("session", "kind", "direction", "type", "code", "signal_type")

#: What a call waits for the HTTP answer beyond the server's own wait timeout, in seconds.
_SLACK_SECONDS = 15.0

Fault = Mapping[str, Any]
Faults = Union[Fault, Sequence[Fault]]


class AdminError(Exception):
    """An error answer of the admin API: `status` (HTTP), `code` (ihm4004, ...), `message`."""

    def __init__(self, status: int, code: Optional[str], message: str, correlation_id: Optional[str] = None):
        super().__init__(f"{code or 'HTTP ' + str(status)}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.correlation_id = correlation_id


class WaitTimedOut(AdminError):
    """`wait` found nothing matching within its timeout (408 ihm4008); the message names the seq to continue from."""


class AdminClient:
    """The control plane of one ih-mock, optionally scoped to a test id.

    >>> admin = AdminClient("http://127.0.0.1:4747", test_id="checkout")
    >>> entry = admin.wait(direction="out", type="signal.detected", signal_type="agreement")
    >>> admin.inject(entry["session"], [{"action": "error", "code": "ih3003"}, {"action": "disconnect"}])
    """

    def __init__(self, base_url: str, test_id: Optional[str] = None, admin_token: Optional[str] = None, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.test_id = test_id
        self.admin_token = admin_token
        self.timeout = timeout

    def scoped(self, test_id: Optional[str]) -> "AdminClient":
        """The same server seen from another test id (None: every test, and the unscoped queue and defaults)."""
        return AdminClient(self.base_url, test_id=test_id, admin_token=self.admin_token, timeout=self.timeout)

    # --- routes -------------------------------------------------------------------------------

    def status(self) -> Dict[str, Any]:
        """GET /__ih/: version, scenario, seed, session counts, the journal's size and newest seq."""
        return self._call("GET", "/__ih/")

    def sessions(self, state: Optional[str] = None) -> List[Dict[str, Any]]:
        """GET /__ih/sessions: session summaries, oldest first; `state` is open, ended or all (default)."""
        return self._call("GET", "/__ih/sessions", {"state": state})["sessions"]

    def session(self, session_id: str) -> Dict[str, Any]:
        """GET /__ih/sessions/{id}: one session's summary, limits, shed media and scenario."""
        return self._call("GET", "/__ih/sessions/" + urllib.parse.quote(session_id, safe=""))

    def journal(self, since: Optional[int] = None, limit: Optional[int] = None, **filters: Any) -> Dict[str, Any]:
        """GET /__ih/journal: a page {"entries", "next", "more", ...} of the entries after `since` matching the filters."""
        return self._call("GET", "/__ih/journal", {**_filters(filters), "since": since, "limit": limit})

    def wait(self, since: Optional[int] = None, timeout_ms: Optional[int] = None, **filters: Any) -> Dict[str, Any]:
        """GET /__ih/journal/wait: the first entry after `since` matching the filters, already there or yet to come.

        Returns the entry; to wait for the following match, pass `since=entry["seq"]`. Raises
        WaitTimedOut when nothing matched within `timeout_ms` (the server's default is 30 s).
        """
        seconds = (timeout_ms if timeout_ms is not None else 30_000) / 1000.0
        answer = self._call("GET", "/__ih/journal/wait", {**_filters(filters), "since": since, "timeout_ms": timeout_ms}, timeout=seconds + _SLACK_SECONDS)
        return answer["entry"]

    def clear_journal(self) -> Dict[str, Any]:
        """DELETE /__ih/journal: the scope's entries (every entry, without a test id)."""
        return self._call("DELETE", "/__ih/journal")

    def inject(self, session_id: str, faults: Faults) -> Dict[str, Any]:
        """POST /__ih/sessions/{id}/inject: faults (the scenario vocabulary) into a live session."""
        return self._call("POST", "/__ih/sessions/" + urllib.parse.quote(session_id, safe="") + "/inject", body={"faults": _fault_list(faults)})

    def queue_faults(self, target: str, faults: Faults, count: Optional[int] = None) -> Dict[str, Any]:
        """POST /__ih/queue/sessions or /__ih/queue/uploads: faults for the next `count` (default 1) sessions or uploads."""
        if target not in ("sessions", "uploads"):
            raise ValueError(f'target must be "sessions" or "uploads", got {target!r}')
        body: Dict[str, Any] = {"faults": _fault_list(faults)}
        if count is not None:
            body[target] = count
        return self._call("POST", "/__ih/queue/" + target, body=body)

    def queue(self) -> Dict[str, Any]:
        """GET /__ih/queue: the faults still queued in this scope."""
        return self._call("GET", "/__ih/queue")

    def clear_queue(self) -> Dict[str, Any]:
        """DELETE /__ih/queue"""
        return self._call("DELETE", "/__ih/queue")

    def defaults(self) -> Dict[str, Any]:
        """GET /__ih/defaults: what new sessions of the scope run."""
        return self._call("GET", "/__ih/defaults")

    def set_defaults(self, **change: Any) -> Dict[str, Any]:
        """POST /__ih/defaults with any of scenario=, seed=, timing= (None restores the start-up value)."""
        unknown = set(change) - {"scenario", "seed", "timing"}
        if unknown:
            raise TypeError(f"set_defaults() takes scenario, seed and timing, not {', '.join(sorted(unknown))}")
        return self._call("POST", "/__ih/defaults", body=change)

    def reset(self) -> Dict[str, Any]:
        """POST /__ih/reset: the scope back to its start-up state (open sessions are left alone)."""
        return self._call("POST", "/__ih/reset")

    def metrics(self) -> str:
        """GET /metrics: the Prometheus text."""
        return self._call("GET", "/metrics", raw=True)

    # --- HTTP ---------------------------------------------------------------------------------

    def _call(self, method: str, path: str, query: Optional[Mapping[str, Any]] = None, body: Any = None, timeout: Optional[float] = None, raw: bool = False) -> Any:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        headers = {"Accept": "application/json"}
        if self.test_id is not None:
            headers[TEST_ID_HEADER] = self.test_id
        if self.admin_token is not None:
            headers[ADMIN_TOKEN_HEADER] = self.admin_token
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout if timeout is not None else self.timeout) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            raise _error_of(err) from None
        return text if raw else json.loads(text)


def _filters(filters: Mapping[str, Any]) -> Dict[str, Optional[str]]:
    unknown = set(filters) - set(JOURNAL_FILTERS)
    if unknown:
        raise TypeError(f"unknown journal filter {', '.join(sorted(unknown))}: the filters are {', '.join(JOURNAL_FILTERS)}")
    return {name: _list_value(value) for name, value in filters.items()}


def _list_value(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(v) for v in value)
    return str(value)


def _fault_list(faults: Faults) -> List[Fault]:
    if isinstance(faults, Mapping):
        return [faults]
    return list(faults)


def _error_of(err: urllib.error.HTTPError) -> AdminError:
    text = err.read().decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and "message" in body:
        kind = WaitTimedOut if body.get("error_id") == "ihm4008" else AdminError
        return kind(err.code, body.get("error_id"), str(body["message"]), body.get("correlation_id"))
    return AdminError(err.code, None, text.strip() or str(err.reason))

