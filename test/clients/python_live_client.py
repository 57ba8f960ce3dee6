"""A stream client that stays connected: sends its segments, then listens until ih-mock ends the session.

Usage: python_live_client.py URL SEGMENT [SEGMENT ...]
  $IH_API_KEY    the API key (Authorization: Bearer)
  $IH_TEST_ID    sent as the X-IH-Test-Id header, when set

Sends {"include": [...]} after session.ready, then each file whole as one binary message, and
never closes by itself: the test steers the session through ih-mock's admin API (a fault injected
ends it). Prints every server message as one JSON line on stdout, {"sent": N} once the N segments
are written, then {"close": {"code": ..., "reason": ...}} once the connection has closed (1006: it
was cut without a close frame).
"""
import asyncio
import json
import os
import sys

import websockets

INCLUDE = ["conversation_quality_overall"]


def show(value):
    print(json.dumps(value), flush=True)


async def main(url, paths):
    headers = {"Authorization": "Bearer " + os.environ.get("IH_API_KEY", "ih_test_key")}
    if os.environ.get("IH_TEST_ID"):
        headers["X-IH-Test-Id"] = os.environ["IH_TEST_ID"]
    async with websockets.connect(url, extra_headers=headers, max_size=None) as ws:
        try:
            while True:
                raw = await ws.recv()
                show(json.loads(raw))
                if json.loads(raw)["type"] == "session.ready":
                    break
            await ws.send(json.dumps({"include": INCLUDE}))
            for path in paths:
                with open(path, "rb") as f:
                    await ws.send(f.read())
            show({"sent": len(paths)})
            async for raw in ws:
                show(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
    show({"close": {"code": ws.close_code, "reason": ws.close_reason}})


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
