# A minimal client for the conformance kit (contract: ../README.md), Python websockets 10: passes every case.
import asyncio, json, os, urllib.error, urllib.request, websockets
env = os.environ
def note(o):
    if env.get("IH_OBSERVATIONS"):
        with open(env["IH_OBSERVATIONS"], "a") as f: f.write(json.dumps(o) + "\n")
def upload():  # POST the file as multipart/form-data; surface an error, or read the signals (each with "type")
    b = "ihmockboundary"; body = f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="call.webm"\r\n\r\n'.encode() + open(env["IH_MEDIA_FILE"], "rb").read() + f"\r\n--{b}--\r\n".encode()
    req = urllib.request.Request(env["IH_API_BASE_URL"] + "/v1/upload/analyze", body, {"Authorization": "Bearer " + env["IH_API_KEY"], "Content-Type": "multipart/form-data; boundary=" + b})
    signals = []
    try: signals = json.load(urllib.request.urlopen(req))["signals"]
    except urllib.error.HTTPError as e: note({"kind": "error", "code": json.load(e)["error_id"]})
    except OSError: pass  # no answer: the connection was cut
    note({"kind": "spans", "spans": [{"signal_type": s["type"], "start": s["start"], "end": s["end"]} for s in signals]})
async def send_media(ws, limit):  # in its own task, so the events keep being read meanwhile
    whole = open(env["IH_MEDIA_FILE"], "rb").read()  # one message if it fits, else the 3-s segments
    try:
        for part in [whole] if len(whole) <= limit else [open(p, "rb").read() for p in env["IH_MEDIA_SEGMENTS"].split("\n")]: await ws.send(part)
        await ws.send(json.dumps({"type": "session.close"}))
    except websockets.ConnectionClosed: pass
async def main():
    active, done, last = {}, [], 0
    async with websockets.connect(env["IH_STREAM_URL"], extra_headers={"Authorization": "Bearer " + env["IH_API_KEY"]}, max_size=None) as ws:
        try:
            async for raw in ws:
                e = json.loads(raw); t, d = e["type"], e.get("data") or {}
                note({"kind": "event", "type": t, "data": d})
                last = max([last] + [d[k] for k in ("start", "end") if isinstance(d.get(k), (int, float))])
                if t == "session.ready": asyncio.ensure_future(send_media(ws, d["max_segment_size_bytes"]))
                elif t == "signal.detected": active[d["signal_type"]] = d["start"]
                elif t == "signal.ended" and d["signal_type"] in active: done.append({"signal_type": d["signal_type"], "start": active.pop(d["signal_type"]), "end": d["end"]})
                elif t == "error": note({"kind": "error", "code": d["code"], "segment": d.get("segment")})
        except websockets.ConnectionClosed: pass
    note({"kind": "spans", "spans": done + [{"signal_type": k, "start": s, "end": last} for k, s in active.items()]})
upload() if env.get("IH_TRANSPORT") == "upload" else asyncio.run(main())
