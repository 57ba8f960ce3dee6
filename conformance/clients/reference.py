#!/usr/bin/env python3
"""A correct Interhuman v1 client in Python, run by the conformance kit (contract: ../README.md).

The same client as reference.mjs. Stream (IH_TRANSPORT=stream): connects, waits for session.ready and
honours its size limit, sends one config frame, the media and {"type":"session.close"}, tracks signal
spans, ignores unknown event types, surfaces errors. Never reconnects. Upload (IH_TRANSPORT=upload):
posts the media file as multipart/form-data with both include[] flags (standard library only), waits
for the answer, retries a 429 (ih3001, ih3002), a 5xx or a cut connection after Retry-After (else
1 s) at most 3 times, and reads the signals' "type". Both report what they observed to
IH_OBSERVATIONS. Written for Debian's python3-websockets 10.4 (on websockets 14+, extra_headers= is
additional_headers=).
"""
import asyncio
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

import websockets

env = os.environ
KNOWN = {'session.ready', 'session.updated', 'signal.detected', 'signal.updated', 'signal.ended', 'engagement.updated',
         'conversation_quality.updated', 'error', 'session.closing', 'session.ended', 'coverage.dropped'}
OBSERVATIONS = env.get('IH_OBSERVATIONS')
if OBSERVATIONS:
    open(OBSERVATIONS, 'w').close()


def log(*args):
    print(f"[{env.get('IH_CASE', 'reference.py')}]", *args, file=sys.stderr, flush=True)


def observe(obj):
    if OBSERVATIONS:
        with open(OBSERVATIONS, 'a', encoding='utf-8') as f:
            f.write(json.dumps(obj, ensure_ascii=False, separators=(',', ':')) + '\n')


def read(path):
    with open(path, 'rb') as f:
        return f.read()


async def send_media(ws, limit):
    """The config frame, the media within `limit` bytes per message, then session.close (a task, so
    that a send failing on a closed connection never stops the receive loop)."""
    try:
        file = read(env['IH_MEDIA_FILE'])
        segments = [p for p in env.get('IH_MEDIA_SEGMENTS', '').split('\n') if p]
        parts = [file] if len(file) <= limit or not segments else [read(p) for p in segments]
        await ws.send(json.dumps({'include': ['conversation_quality_overall', 'conversation_quality_timeline']}))
        for i, part in enumerate(parts, 1):
            if not ws.open:
                return  # the server closed: stop sending
            if len(part) > limit:
                log(f'segment {i} is {len(part)} bytes, over max_segment_size_bytes {limit}: skipped')
                observe({'kind': 'error', 'code': 'client.segment-too-large', 'segment': i, 'bytes': len(part), 'max_segment_size_bytes': limit})
                continue
            await ws.send(part)
        await ws.send(json.dumps({'type': 'session.close'}))
    except websockets.ConnectionClosed:
        pass  # the server closed: stop sending
    except Exception:
        await ws.close(1011, 'client error')  # our own failure (unreadable media, say): give up
        raise


async def main():
    spans = []     # every signal span, in the order detected: {signal_type, start, end?}
    active = {}    # signal_type -> its span while active
    media_time = 0  # the latest media second any event told us about
    ready = ended = errored = False
    code = None
    sender = None
    headers = {'Authorization': f"Bearer {env['IH_API_KEY']}"}
    try:
        async with websockets.connect(env['IH_STREAM_URL'], extra_headers=headers, max_size=None) as ws:
            try:
                async for raw in ws:
                    try:
                        event = json.loads(raw) if isinstance(raw, str) else None
                    except ValueError:
                        event = None
                    if not isinstance(event, dict) or not isinstance(event.get('type'), str):
                        log('ignoring a frame that is not an event')
                        continue
                    etype, data = event['type'], event.get('data', {})
                    observe({'kind': 'event', 'type': etype, 'data': data})
                    if etype not in KNOWN:
                        log(f'ignoring unknown event type {etype}')
                        continue
                    times = [data.get('start'), data.get('end')] + [p.get('end') for p in data.get('timeline') or []]
                    for t in times:
                        if isinstance(t, (int, float)) and not isinstance(t, bool):
                            media_time = max(media_time, t)
                    if etype == 'session.ready':
                        ready = True
                        sender = asyncio.create_task(send_media(ws, data['max_segment_size_bytes']))
                    elif etype in ('signal.detected', 'signal.updated'):  # an update keeps the span's start
                        if data['signal_type'] not in active:
                            span = {'signal_type': data['signal_type'], 'start': data['start']}
                            active[span['signal_type']] = span
                            spans.append(span)
                    elif etype == 'signal.ended':
                        span = active.pop(data['signal_type'], None)
                        if span is not None:
                            span['end'] = data['end']
                    elif etype == 'error':
                        errored = True
                        segment = data.get('segment')
                        log(f"error {data.get('code')}{'' if segment is None else f' (segment {segment})'}: {data.get('message')}")
                        observe({'kind': 'error', 'code': data.get('code'), **({} if segment is None else {'segment': segment})})
                    elif etype == 'session.ended':
                        ended = True
            except websockets.ConnectionClosed:
                pass  # an abrupt drop (1006) or a close without a clean handshake
            code = ws.close_code
    except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as err:
        log(f'connection error: {err!r}')
    if sender is not None and sender.done() and not sender.cancelled() and sender.exception():
        log(f'giving up: {sender.exception()!r}')
        return 1
    if sender is not None:
        sender.cancel()
    # Signals still active when the connection ended end at the last media time we knew of.
    for span in active.values():
        span['end'] = max(media_time, span['start'])
    observe({'kind': 'spans', 'spans': spans})
    # Explained: a graceful end, a close after an error envelope, or a network drop mid-session.
    explained = (ended and code == 1000) or errored or (ready and code == 1006)
    log(f"connection {'never opened' if code is None else f'closed with {code}'}: {'session handled' if explained else 'giving up'}")
    return 0 if explained else 1


def multipart(fields, file_field, filename, content_type, data):
    """A multipart/form-data body: text fields, then one file."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode() for name, value in fields]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode() + data + b'\r\n')
    parts.append(f'--{boundary}--\r\n'.encode())
    return b''.join(parts), f'multipart/form-data; boundary={boundary}'


def retry_wait(status, code, retry_after, attempt):
    """Seconds to wait before trying again, or None: a 429 for rate or concurrency, a 5xx or no answer, 3 times at most."""
    transient = status == 0 or status >= 500 or (status == 429 and code in ('ih3001', 'ih3002'))
    if not transient or attempt > 3:
        return None
    return float(retry_after) if retry_after is not None and retry_after.strip().isdigit() else 1.0  # whole seconds, else 1 s


def upload():
    body, content_type = multipart([('include[]', 'conversation_quality_overall'), ('include[]', 'conversation_quality_timeline')],
                                   'file', 'call.webm', 'video/webm', read(env['IH_MEDIA_FILE']))
    spans, exit_code, attempt = [], 1, 0
    while True:
        attempt += 1
        request = urllib.request.Request(f"{env['IH_API_BASE_URL']}/v1/upload/analyze", data=body, method='POST',
                                         headers={'Authorization': f"Bearer {env['IH_API_KEY']}", 'Content-Type': content_type})
        status, code, retry_after, answer = 0, None, None, None
        try:
            with urllib.request.urlopen(request) as res:  # no timeout: the real analysis takes minutes
                status, answer = res.status, json.load(res)
        except urllib.error.HTTPError as err:
            status, retry_after = err.code, err.headers.get('Retry-After')
            try:
                code = json.load(err).get('error_id')
            except ValueError:
                code = None
        except OSError as err:  # no answer: the connection was cut
            log(f'upload {attempt}: {err!r}')
        if status == 200:
            spans = [{'signal_type': s['type'], 'start': s['start'], 'end': s['end']} for s in answer['signals']]
            log(f'upload {attempt}: {len(spans)} signals')
            exit_code = 0
            break
        wait = retry_wait(status, code, retry_after, attempt)
        if wait is None:
            log(f'upload {attempt}: {status} {code or ""}: giving up')
            if code:
                observe({'kind': 'error', 'code': code})
            exit_code = 0 if code else 1  # an error surfaced is a handled upload; no answer at all is not
            break
        log(f'upload {attempt}: {status} {code or ""}: retrying in {wait} s')
        time.sleep(wait)
    observe({'kind': 'spans', 'spans': spans})
    return exit_code


if __name__ == '__main__':
    sys.exit(upload() if env.get('IH_TRANSPORT') == 'upload' else asyncio.run(main()))
