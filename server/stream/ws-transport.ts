/**
 * A session's transport over a `ws` socket, with the frames of one event-loop turn coalesced into
 * one network write.
 *
 * Why: `ws` writes every frame with its own `writev` system call. The emulator sends a few small
 * envelopes per window, windows complete on timers and many complete in the same turn, so under
 * load the emulator spent more time in `writev` than in all of its analysis. Corking the socket at
 * the first frame of a turn and uncorking it at the clock's `afterTurn` (real time: after this
 * turn's timers and reads; virtual time: before the clock moves) turns those calls into one, at a
 * cost of at most one turn of the event loop in latency.
 *
 * Order is kept: everything goes through the one socket buffer. A close frame flushes by itself
 * (`ws` ends the socket, and `end()` uncorks). `terminate()` destroys the socket, so what was sent
 * before it is flushed first: a fault's events before an abrupt disconnect still reach the client.
 *
 * Backlog: bytes of earlier turns the socket has not handed to the kernel, i.e. that the client has
 * not read (its TCP window is full). This turn's corked frames do not count: a client reading at its
 * own pace would otherwise look behind after any burst. (What one turn queues is bounded by what one
 * turn reads from the client.)
 */
import type { WebSocket } from 'ws';
import type { Clock } from '../clock.js';
import { socketOf } from '../connection.js';
import type { SessionTransport } from './outbound.js';

export function wsTransport(ws: WebSocket, clock: Clock): SessionTransport {
  const afterTurn = clock.afterTurn?.bind(clock) ?? setImmediate;
  // Without the socket, frames simply go one by one.
  const socket = socketOf(ws);
  let corked = false;
  /** Bytes queued by this turn's frames, still corked: not a sign that the client is behind. */
  let queuedThisTurn = 0;
  const flush = () => {
    if (!corked) return;
    corked = false;
    queuedThisTurn = 0;
    socket!.uncork();
  };
  return {
    send(text) {
      if (!corked && socket && !socket.destroyed) {
        socket.cork();
        corked = true;
        afterTurn(flush);
      }
      const before = ws.bufferedAmount;
      ws.send(text);
      if (corked) queuedThisTurn += ws.bufferedAmount - before;
    },
    close(code, reason) {
      flush();
      ws.close(code, reason);
    },
    terminate() {
      flush();
      ws.terminate();
    },
    // ws counts what sits in the socket's buffer (corked frames included) and its own queue; what
    // is left of earlier turns is what the client has not taken.
    backlogBytes: () => ws.bufferedAmount - queuedThisTurn,
  };
}
