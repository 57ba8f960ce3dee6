/**
 * What a stream session reports about its frames as they happen, for whoever watches it (the admin
 * journal and the metrics). The session calls these synchronously on its hot path, once per frame:
 * an implementation must be cheap (record a reference or a few numbers; never serialise).
 *
 * Order: for a frame from the client, `received` comes first, then whatever the session sends
 * because of it (`sent`: an error, session.updated, events), then `decided` with what became of the
 * frame. Nothing else happens in between, since a frame is processed synchronously.
 */
import type { ErrorCode } from '../errors.js';
import type { Envelope } from './envelope.js';

/** What a client frame was read as. `text`: not read, because the session was closing or had ended. */
export type InboundType = 'binary' | 'session.config' | 'session.close' | 'text.invalid' | 'text';

/** What became of a client frame: taken, refused with an ih code, or ignored (the session had ended). */
export type InboundVerdict = 'accepted' | 'rejected' | 'ignored';

export interface SessionTap {
  /** An envelope was handed to the connection (written, or queued behind a throttle) as `text`. */
  sent(event: Envelope, text: string): void;
  /** A client frame arrived, before it is processed: binary or text, its size, and a binary message's 1-based index (null once the session has ended). */
  received(binary: boolean, bytes: number, segment: number | null): void;
  /** What became of the frame just `received`; for binary messages, the session's accepted media end after it and the seconds it added. */
  decided(type: InboundType, verdict: InboundVerdict, code: ErrorCode | null, mediaEnd: number | null, mediaSeconds: number | null): void;
}
