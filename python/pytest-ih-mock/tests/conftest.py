"""Shared by the plugin's own tests: real media made with ffmpeg, and a real `websockets` client.

Run them with the plugin loaded and ih-mock named, from the repository root:

    PYTHONPATH=python/pytest-ih-mock/src IH_MOCK_COMMAND="node $PWD/bin/ih-mock.js" \\
        /usr/bin/python3 -m pytest -p pytest_ih_mock python/pytest-ih-mock/tests
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import threading
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import pytest
import websockets

pytest_plugins = ["pytester"]

SEGMENT_SECONDS = 4
SEGMENTS = 3


@pytest.fixture(scope="session")
def segments() -> Iterator[List[str]]:
    """Three self-contained 4-s MP4 files (H.264 + AAC, 160x120, 10 fps, a keyframe a second), as
    clients that write one file per segment send them: one ffmpeg run, cut by its segment muxer."""
    with tempfile.TemporaryDirectory(prefix="ih-mock-pytest-media-") as folder:
        seconds = SEGMENT_SECONDS * SEGMENTS
        subprocess.run(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                "-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=10:duration={seconds}",
                "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10",
                "-c:a", "aac", "-b:a", "32k", "-threads", "1",
                "-f", "segment", "-segment_time", str(SEGMENT_SECONDS), "-reset_timestamps", "1",
                "-segment_format", "mp4", os.path.join(folder, "segment-%03d.mp4"),
            ],
            check=True,
        )
        files = sorted(os.path.join(folder, name) for name in os.listdir(folder))
        assert len(files) == SEGMENTS, files
        yield files


class LiveClient(threading.Thread):
    """A stream client in a thread of its own, so the test steers ih-mock while it streams: it waits
    for session.ready, sends each file whole as one binary message, then (with `close`) asks for a
    graceful end with session.close, and reads until the connection closes. `messages` holds every
    server message, `close_code` how the connection ended (1006: cut without a close frame)."""

    def __init__(self, url: str, headers: Mapping[str, str], files: Sequence[str], close: bool = False):
        super().__init__(daemon=True)
        self.url = url
        self.headers = dict(headers)
        self.files = list(files)
        self.graceful = close
        self.messages: List[Dict[str, Any]] = []
        self.close_code: Optional[int] = None
        self.failure: Optional[BaseException] = None

    def run(self) -> None:
        try:
            asyncio.run(self._stream())
        except BaseException as err:  # reported by finish()
            self.failure = err

    async def _stream(self) -> None:
        async with websockets.connect(self.url, extra_headers=self.headers, max_size=None) as ws:
            self.messages.append(json.loads(await ws.recv()))
            try:
                if self.messages[0]["type"] == "session.ready":
                    for path in self.files:
                        with open(path, "rb") as f:
                            await ws.send(f.read())
                    if self.graceful:
                        await ws.send(json.dumps({"type": "session.close"}))
            except websockets.ConnectionClosed:
                pass  # ended while sending: what it sent before the close is still to be read
            try:
                async for raw in ws:
                    self.messages.append(json.loads(raw))
            except websockets.ConnectionClosed:
                pass
        self.close_code = ws.close_code

    def finish(self, timeout: float = 60) -> "LiveClient":
        """Wait for the connection to end; re-raise what went wrong in the client."""
        self.join(timeout)
        assert not self.is_alive(), f"the client still runs after {timeout} s; it got {[m['type'] for m in self.messages]}"
        if self.failure is not None:
            raise self.failure
        return self

    def types(self) -> List[str]:
        return [m["type"] for m in self.messages]


@pytest.fixture
def live_client():
    """Start a LiveClient; every one started is finished (and its failure raised) by the end of the test."""
    started: List[LiveClient] = []

    def begin(url: str, headers: Mapping[str, str], files: Sequence[str], close: bool = False) -> LiveClient:
        client = LiveClient(url, headers, files, close)
        client.start()
        started.append(client)
        return client

    yield begin
    for client in started:
        client.join(60)
