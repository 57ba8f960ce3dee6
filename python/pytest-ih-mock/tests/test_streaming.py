"""The fixture as a test author uses it: a real `websockets` client streams ffmpeg-made media to the
ih-mock the fixture started, and the test steers that session through the control plane (wait,
inject, queued faults, journal, sessions), scoped to the test."""
from __future__ import annotations

import urllib.request

import pytest

from conftest import SEGMENTS
from pytest_ih_mock import AdminError, WaitTimedOut


def test_waits_for_a_signal_then_injects_a_quota_error_and_a_cut_the_client_sees(ih_mock, segments, live_client):
    ih_mock.admin.set_defaults(scenario="steady", timing="instant")
    client = live_client(ih_mock.stream_url, ih_mock.headers, segments)

    # "The client got signal.detected for agreement", without sleeping: the wait long-poll.
    detected = ih_mock.admin.wait(direction="out", type="signal.detected", signal_type="agreement", timeout_ms=30_000)
    session = detected["session"]
    assert detected["test_id"] == ih_mock.test_id
    # Every segment in, chaining waits on the journal.
    since = 0
    for _ in range(SEGMENTS):
        since = ih_mock.admin.wait(session=session, direction="in", type="binary", since=since, timeout_ms=30_000)["seq"]

    result = ih_mock.admin.inject(session, [{"action": "error", "code": "ih3003"}, {"action": "disconnect"}])
    assert result == {"session": session, "applied": 2, "armed": 0, "state": "ended"}

    client.finish()
    assert client.close_code == 1006  # cut without a close frame
    errors = [m for m in client.messages if m["type"] == "error"]
    assert len(errors) == 1 and errors[0]["data"]["code"] == "ih3003" and errors[0]["data"]["segment"] is None
    assert client.messages[-1] == errors[0]
    assert client.types().index("signal.detected") < client.messages.index(errors[0])
    assert {m["correlation_id"] for m in client.messages} == {session}

    # What the client received is what the journal says was sent, in order.
    page = ih_mock.admin.journal(session=session, kind="frame", direction="out")
    assert [e["event"] for e in page["entries"] if e["event"] is not None] == client.messages
    assert [e["type"] for e in page["entries"]][-2:] == ["error", "disconnect"]
    (summary,) = ih_mock.admin.sessions()
    assert summary["id"] == session and summary["test_id"] == ih_mock.test_id
    assert summary["state"] == "ended" and summary["end_reason"] == "scripted_fault" and summary["faults_injected"] == 2
    assert summary["stats"]["binary_messages"] == SEGMENTS


def test_a_fault_queued_for_the_next_session_reaches_the_client(ih_mock, segments, live_client):
    queued = ih_mock.admin.queue_faults("sessions", {"action": "quota_exhausted", "when": {"segment": 2}})
    assert len(queued["sessions"]) == 1
    client = live_client(ih_mock.stream_url_with(scenario="steady", timing="instant"), ih_mock.headers, segments).finish()

    assert client.close_code == 4029
    error = next(m for m in client.messages if m["type"] == "error")
    assert error["data"]["code"] == "ih3003"
    assert client.messages[-1] == error
    (summary,) = ih_mock.admin.sessions()
    assert summary["faults_queued"] == 1 and summary["state"] == "ended"
    assert ih_mock.admin.queue()["sessions"] == []  # served its one session


def test_tests_sharing_a_server_do_not_see_each_other(ih_mock, ih_mock_server, segments, live_client):
    other = ih_mock_server.for_test(ih_mock.test_id + " (other)")
    try:
        other.admin.queue_faults("sessions", {"action": "error", "code": "ih3003", "close": True})
        mine = live_client(ih_mock.stream_url_with(scenario="steady", timing="instant"), ih_mock.headers, segments, close=True)
        theirs = live_client(other.stream_url_with(scenario="steady", timing="instant"), other.headers, segments, close=True)
        mine.finish()
        theirs.finish()

        # The fault queued in the other scope met the other client only.
        assert mine.close_code == 1000 and "error" not in mine.types() and mine.types()[-1] == "session.ended"
        assert theirs.close_code == 4029 and theirs.messages[-1]["data"]["code"] == "ih3003"
        assert [s["test_id"] for s in ih_mock.admin.sessions()] == [ih_mock.test_id]
        assert [s["test_id"] for s in other.admin.sessions()] == [other.test_id]
        everyone = {s["id"] for s in ih_mock_server.admin.sessions()}  # no test id: every test's
        assert {mine.messages[0]["correlation_id"], theirs.messages[0]["correlation_id"]} <= everyone
    finally:
        other.admin.reset()


def test_urls_key_and_errors(ih_mock):
    with urllib.request.urlopen(ih_mock.api_base_url + "/health", timeout=10) as answer:
        assert answer.status == 200
    assert ih_mock.stream_url.startswith("ws://127.0.0.1:") and "/v1/stream/analyze?test_id=" in ih_mock.stream_url
    assert ih_mock.admin_url == ih_mock.base_url + "/__ih"
    assert ih_mock.env["IH_STREAM_URL"] == ih_mock.stream_url and ih_mock.env["IH_API_KEY"] == ih_mock.api_key
    assert ih_mock.admin.status()["routes"]

    with pytest.raises(WaitTimedOut) as timed_out:
        ih_mock.admin.wait(type="signal.detected", timeout_ms=100)
    assert timed_out.value.status == 408 and timed_out.value.code == "ihm4008"
    with pytest.raises(AdminError) as unknown:
        ih_mock.admin.inject("no-such-session", {"action": "disconnect"})
    assert unknown.value.status == 404 and unknown.value.code == "ihm4004"
    with pytest.raises(AdminError) as invalid:
        ih_mock.admin.queue_faults("sessions", {"action": "delay"})
    assert invalid.value.code == "ihm4001" and 'requires "seconds"' in invalid.value.message
    assert "ih_mock_sessions_total" in ih_mock.admin.metrics()
