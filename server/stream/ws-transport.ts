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
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Clock } from '../clock.js';
import { socketOf } from '../connection.js';
import type { SessionTransport } from './outbound.js';

/** Told when the session closes or cuts its connection (the admin API's session record). */
export interface TransportObserver {
  closeSent(code: number, reason: string): void;
  disconnected(): void;
}

/**
 * One object per session, its methods on the prototype: a server with thousands of sessions keeps
 * one transport each for the sessions' lives, and every mark-compact walks them.
 */
class WsTransport implements SessionTransport {
  /** Without the socket, frames simply go one by one. */
  private readonly socket: Socket | undefined;
  private corked = false;
  /** Bytes queued by this turn's frames, still corked: not a sign that the client is behind. */
  private queuedThisTurn = 0;
  private readonly flushLater = (): void => this.flush();

  constructor(
    private readonly ws: WebSocket,
    private readonly clock: Clock,
    private readonly observer: TransportObserver | undefined,
  ) {
    this.socket = socketOf(ws);
  }

  send(text: string): void {
    const socket = this.socket;
    if (!this.corked && socket && !socket.destroyed) {
      socket.cork();
      this.corked = true;
      if (this.clock.afterTurn) this.clock.afterTurn(this.flushLater);
      else setImmediate(this.flushLater);
    }
    const before = this.ws.bufferedAmount;
    this.ws.send(text);
    if (this.corked) this.queuedThisTurn += this.ws.bufferedAmount - before;
  }

  close(code: number, reason: string): void {
    this.observer?.closeSent(code, reason);
    this.flush();
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.observer?.disconnected();
    this.flush();
    this.ws.terminate();
  }

  // ws counts what sits in the socket's buffer (corked frames included) and its own queue; what is
  // left of earlier turns is what the client has not taken.
  backlogBytes(): number {
    return this.ws.bufferedAmount - this.queuedThisTurn;
  }

  private flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.queuedThisTurn = 0;
    this.socket!.uncork();
  }
}

export function wsTransport(ws: WebSocket, clock: Clock, observer?: TransportObserver): SessionTransport {
  return new WsTransport(ws, clock, observer);
}
