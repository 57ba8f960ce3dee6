"""A desktop-style Interhuman v1 stream client: self-contained MP4 segments over `websockets`.

Usage: python_mp4_client.py URL SEGMENT.mp4 [SEGMENT.mp4 ...]   (API key from $IH_API_KEY)

Sends each file whole as one binary message, as clients that write a file per segment with
OpenCV or ffmpeg do, then closes gracefully. Prints every server message as one JSON line on
stdout, then {"close": {"code": ..., "reason": ...}} once the socket has closed.
"""
import asyncio
import json
import os
import sys

import websockets

INCLUDE = ["conversation_quality_overall", "conversation_quality_timeline"]


def show(raw):
    print(json.dumps(json.loads(raw)), flush=True)


async def main(url, paths):
    key = os.environ.get("IH_API_KEY", "ih_test_key")
    async with websockets.connect(url, extra_headers={"Authorization": f"Bearer {key}"}, max_size=None) as ws:
        try:
            while True:
                raw = await ws.recv()
                show(raw)
                if json.loads(raw)["type"] == "session.ready":
                    break
            await ws.send(json.dumps({"include": INCLUDE}))
            for path in paths:
                with open(path, "rb") as f:
                    await ws.send(f.read())  # bytes: one binary message per file
            await ws.send(json.dumps({"type": "session.close"}))
            async for raw in ws:  # until the server closes the connection
                show(raw)
        except websockets.ConnectionClosed:
            pass  # closed with an error code (or early): reported below
    print(json.dumps({"close": {"code": ws.close_code, "reason": ws.close_reason}}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
