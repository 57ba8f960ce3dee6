/**
 * The answers to HTTP requests no route answers: an unknown path or method, an error no route
 * handled, a request target fastify cannot route, a request Node's HTTP parser rejects (bad request
 * line or headers, headers too large, bad chunked encoding, a body cut short), a CONNECT, an
 * unknown `Expect`. Each gets the v1 error body with `X-Correlation-ID` (docs/protocol.md §1), never a
 * framework's own reply. The codes are ih-mock's own ih49xx (docs/errors.md): the live error table
 * has none for these.
 *
 * Invariants: nothing here logs a request's URL, headers or bytes (they may hold credentials); a
 * response already on its way is never followed by a second one on the same socket.
 */
import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerOptions as HttpServerOptions } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { ErrorCode } from '../errors.js';
import { sendHttpError, writeRawHttpError } from './reply.js';

export interface FallbackDeps {
  /** A fresh correlation id (the server's seeded HTTP id stream). */
  newId: () => string;
  logger: Logger;
  /** One sentence naming the endpoints, for 404 messages. */
  endpoints: string;
  /** The WebSocket path, for a plain GET of it. */
  streamPath: string;
}

/** Longest piece of a request echoed in a message. */
const ECHO_LIMIT = 120;

/** `text` cut to `limit` characters, marked when cut. */
export function clip(text: string, limit = ECHO_LIMIT): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

/** Options that only the fastify constructor takes. */
export function fallbackServerOptions(deps: FallbackDeps): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> & { http: HttpServerOptions } {
  return {
    // A target fastify cannot decode (`/%zz`): fastify's own 400 body otherwise.
    frameworkErrors: (error, request, reply) => {
      deps.logger.debug({ reqId: request.id, code: error.code }, 'request refused: bad request target');
      return sendHttpError(reply, 'ih4900', `The request target cannot be decoded (${clip(request.url.split('?')[0] ?? '')}): check its percent-escapes.`);
    },
    clientErrorHandler: (err, socket) => onClientError(err as ParserError, socket as Socket, deps),
    // Node answers a Host-less HTTP/1.1 request with an empty 400 of its own; the onRequest hook
    // in registerFallbacks answers it instead.
    http: { requireHostHeader: false },
  };
}

/** Handlers registered on the built instance. */
export function registerFallbacks(http: FastifyInstance, deps: FallbackDeps): void {
  http.addHook('onRequest', async (request, reply) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return sendHttpError(reply, 'ih4900', 'An HTTP/1.1 request needs a Host header (RFC 9112 3.2).');
    }
    return undefined;
  });
  http.setNotFoundHandler((request, reply) => sendHttpError(reply, 'ih4904', notFoundMessage(request, deps)));
  http.setErrorHandler((err: FastifyError, request, reply) => onRouteError(err, request, reply));
  // CONNECT asks for a tunnel; Node closes the connection without a word unless someone answers.
  http.server.on('connect', (_request, socket: Socket) => {
    socket.on('error', () => {});
    writeRawHttpError(socket, 'ih4900', deps.newId(), 'CONNECT is not supported: ih-mock is not a proxy.');
  });
  // An `Expect` other than 100-continue: Node answers 417 with no body unless someone listens.
  // RFC 9110 10.1.1 lets a server ignore an expectation it does not understand, so the request is
  // served as if it had none.
  http.server.on('checkExpectation', (request, response) => http.routing(request, response));
}

function notFoundMessage(request: FastifyRequest, deps: FallbackDeps): string {
  const path = clip(request.url.split('?')[0] ?? '');
  if (path === deps.streamPath) {
    return `${deps.streamPath} is a WebSocket endpoint: open it with a WebSocket upgrade (GET with Upgrade: websocket and Connection: Upgrade), e.g. new WebSocket("ws://host:port${deps.streamPath}").`;
  }
  return `No route ${clip(request.method, 16)} ${path}. ${deps.endpoints}`;
}

/** Errors of routes without an error handler of their own (the upload and auth routes have theirs). */
function onRouteError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    request.log.debug({ code: err.code, status }, 'request refused by the framework');
    const code: ErrorCode = status === 404 ? 'ih4904' : status === 408 ? 'ih4908' : status === 431 ? 'ih4931' : 'ih4900';
    return sendHttpError(reply, code, `The request could not be processed: ${clip(err.message, 200)}`);
  }
  request.log.error({ err }, 'internal error');
  return sendHttpError(reply, 'ih1001', 'Internal error in ih-mock. Please report it with this correlation id.');
}

/** What Node's HTTP parser reports (`code` HPE_… from llhttp, `reason` its static description). */
type ParserError = Error & { code?: string; reason?: string };

/** Node's 'clientError': the request never became a request object, so the answer goes on the socket. */
function onClientError(err: ParserError, socket: Socket, deps: FallbackDeps): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already under way (the parser failed in the middle of a body whose answer has
  // started): a second status line would corrupt it; only cut. `_httpMessage` is how Node's own
  // default handler makes the same check.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const { code, message } = describeParserError(err);
  // The error's rawPacket holds the request's bytes, headers included: only its code is logged.
  deps.logger.debug({ code: err.code, answer: code }, 'malformed HTTP request refused');
  socket.on('error', () => {});
  writeRawHttpError(socket, code, deps.newId(), message);
}

/** The answer to a parser error. */
export function describeParserError(err: ParserError): { code: ErrorCode; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'ih4931', message: `The request headers are larger than ${maxHeaderSize} bytes, the most the server reads.` };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'ih4908', message: 'The request headers did not arrive in time (the HTTP server closes a connection that sends them too slowly).' };
    case 'HPE_INVALID_EOF_STATE':
      return { code: 'ih4900', message: 'The connection ended in the middle of the request: the body is shorter than its Content-Length or chunked encoding announced.' };
    default:
      return { code: 'ih4900', message: `The HTTP request could not be parsed: ${clip(err.reason ?? err.message, 200)}${err.code ? ` (${err.code})` : ''}.` };
  }
}
