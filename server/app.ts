/**
 * The app factory: one HTTP server (fastify) for the HTTP endpoints, with WebSocket upgrades on the
 * same port routed by path to the stream endpoint. This is the only module that knows `ws`; fastify
 * is known here and by the route modules in `http/`. `buildServer` builds without listening;
 * `MockServer.listen` binds (port 0 picks a free one).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger, DestinationStream } from 'pino';
import type { WebSocket } from 'ws';
import { Authenticator, credentialFromUpgrade, offeredProtocols, requireScope, SCOPE_STREAM, TokenStore, type Principal, type CredentialSource } from './auth.js';
import { RealClock, type Clock } from './clock.js';
import { AUTH_PATHS, registerAuthRoutes } from './http/auth-routes.js';
import { clip, fallbackServerOptions, registerFallbacks, type FallbackDeps } from './http/fallbacks.js';
import { RateLimiter } from './http/limits.js';
import { registerCors } from './http/cors.js';
import { registerOpenApiRoute } from './http/openapi-route.js';
import { LAZY_SCHEMA_COMPILERS } from './http/schema-compilers.js';
import { writeRawHttpError } from './http/reply.js';
import { registerUploadRoutes, UPLOAD_PATH, type UploadActivity } from './http/upload-route.js';
import { resolveOptions, wsMaxPayload, type ServerOptions, type ServerOptionsInput } from './options.js';
import { Random } from './random.js';
import { envelope, errorData, type Envelope } from './stream/envelope.js';
import { missingScopeMessage, sessionLimits, StreamSession } from './stream/session.js';
import { DEPRECATED_TIMING_NAMES, timingResolver } from './stream/timing.js';
import { WorkerPool } from './stream/worker-pool.js';
import { wsTransport } from './stream/ws-transport.js';
import { receiveMessages } from './connection.js';
import { assertValidServerEvent, loadWireValidators } from './validation.js';
import { ConnectionChoiceError, RANDOM_SCENARIO, ScenarioLibrary, loadScenarioGenerator, parseConnectionChoice, scenarioGeneratorLoaded } from './connection-choice.js';
import type { Scenario } from './types/generated.js';
import type { AdminApi } from './admin/api.js';
import { ControlPlane } from './admin/control-plane.js';
import { recordHttpExchanges } from './admin/http-exchanges.js';
import { registerAdminRoutes } from './admin/routes.js';
import { testIdOf, TestIdError } from './admin/test-scope.js';
import type { SessionRecord } from './admin/sessions.js';
import { registerMetricsRoute } from './metrics/route.js';
import { createLogger, logDestination as logDestinationFor, SessionLog } from './logging.js';
import type { ServingHeapTuning } from './heap-tuning.js';
import { packageVersion } from './paths.js';
import { requireCjs } from './require-cjs.js';

// CommonJS packages by `require`: faster to load than by `import` (require-cjs.ts).
const { fastify: Fastify, LogController } = requireCjs('fastify') as typeof import('fastify');
const { WebSocketServer } = requireCjs('ws') as typeof import('ws');

export const STREAM_PATH = '/v1/stream/analyze';
export const HEALTH_PATH = '/health';

/** Programmatic options: the config-schema options plus what only code can pass. */
export interface MockServerOptions extends Omit<ServerOptionsInput, 'scenario'> {
  /** Built-in scenario name, path to a scenario file, or a scenario object. */
  scenario?: string | Scenario;
  /** Clock for every timer and timestamp; default a real clock. Pass a `VirtualClock` to drive time. */
  clock?: Clock;
  /** Where JSON log lines go (default stderr). */
  logDestination?: DestinationStream;
  /** Called with every envelope any session sends. */
  onEvent?: (event: Envelope, session: StreamSession) => void;
  /** Called as each analysis window's results leave, with the lag behind an idle server's emit time (benchmarks). */
  onWindowEmitted?: (lagMs: number, session: StreamSession) => void;
  /** Called once per stream session when it ends, with its final counters in `session.stats`. */
  onSessionEnded?: (session: StreamSession) => void;
  /**
   * V8 garbage-collection tuning by open sessions (heap growing, the helper threads' priority), for
   * a process that only serves (the CLI passes one; server/heap-tuning.ts). Not for a process that
   * embeds the server among other work, and one server per tuning: it is told this server's count.
   */
  heapTuning?: ServingHeapTuning;
}

export interface MockServerUrls {
  /** `http://host:port` */
  baseUrl: string;
  /** `ws://host:port/v1/stream/analyze` */
  streamUrl: string;
}

export interface MockServer {
  readonly options: ServerOptions;
  readonly scenario: Scenario;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The fastify instance (for `inject` in tests). */
  readonly http: FastifyInstance;
  /** Sessions currently open. */
  readonly sessions: ReadonlySet<StreamSession>;
  /** The simulated model capacity every session shares (`workerPoolSize`). */
  readonly pool: WorkerPool;
  /** Uploads in progress: holding a concurrency slot, and of those, waiting out their processing time. */
  readonly uploads: UploadActivity;
  /**
   * The admin API in-process: the same operations as the HTTP routes under /__ih/ (sessions, journal,
   * waitFor, inject, queueFaults, setDefaults, reset, metrics; docs/control-plane.md).
   */
  readonly admin: AdminApi;
  /** Bind and start accepting connections. */
  listen(): Promise<MockServerUrls>;
  /** URLs once listening. */
  urls(): MockServerUrls;
  /** Close every session (1001), stop listening. */
  close(): Promise<void>;
}

/** Build the server without listening. */
export function buildServer(input: MockServerOptions = {}): MockServer {
  const { scenario: scenarioInput, clock: injectedClock, logDestination, onEvent, onWindowEmitted, onSessionEnded, heapTuning, ...rest } = input;
  const options = resolveOptions({ ...rest, scenario: typeof scenarioInput === 'string' ? scenarioInput : undefined });
  const library = new ScenarioLibrary();
  const scenario = library.serverScenario(typeof scenarioInput === 'object' ? scenarioInput : options.scenario, options.seed);
  const clock = injectedClock ?? new RealClock();
  const random = new Random(options.seed);
  const pool = new WorkerPool(options.workerPoolSize);
  const timingFor = timingResolver(options, scenario);
  // Separate streams, so HTTP traffic (a /health poll) never shifts the ids of stream sessions.
  const httpIds = random.fork('http-correlation-ids');
  const streamIds = random.fork('stream-correlation-ids');
  const sessionRandoms = random.fork('sessions');
  let sessionCount = 0;
  // Credentials are never passed to the logger by ih-mock's code; the logger scrubs them anyway
  // (libraries log request headers at trace level). Pretty lines on a terminal, JSON lines otherwise.
  const logger = createLogger({ level: options.logLevel, destination: logDestination ?? logDestinationFor(options.logFormat) });
  for (const [where, mode] of [['option timing', options.timing], [`scenario ${scenario.name} processing.timing`, scenario.processing?.timing]] as const) {
    if (mode && mode in DEPRECATED_TIMING_NAMES) logger.warn({ timing: mode, runs: DEPRECATED_TIMING_NAMES[mode] }, `${where}: "${mode}" is the old name of "${DEPRECATED_TIMING_NAMES[mode]}" timing (the default is now live)`);
  }
  // One authenticator for both transports: API keys and the access tokens POST /v1/auth issues.
  const tokens = new TokenStore({ clock, random: random.fork('access-tokens'), ttlSeconds: options.tokenTtlSeconds });
  const authenticator = new Authenticator({ apiKeys: options.apiKeys, keyPairs: options.keyPairs, tokens });
  // HTTP requests per account per minute (ih3001), shared by every HTTP route.
  const rateLimiter = new RateLimiter({ limit: options.rateLimitPerMinute, clock });
  const sessions = new Set<StreamSession>();
  const sessionsChanged = (): void => {
    if (!heapTuning) return;
    try {
      const change = heapTuning.sessionsOpen(sessions.size);
      if (change) logger.info({ openSessions: sessions.size, ...change }, 'V8 garbage collection tuned for the number of open sessions');
    } catch (err) {
      // Tuning is an optimisation: a failure must not leave a session half opened or half ended.
      logger.warn({ err }, 'V8 garbage collection could not be tuned');
    }
  };
  // The admin API, journal and metrics; told about every session, frame and HTTP answer below.
  const control = new ControlPlane({
    journalSize: options.journalSize,
    keepEndedSessions: options.keepEndedSessions,
    adminToken: options.adminToken,
    host: options.host,
    serverSeed: options.seed,
    scenario,
    version: packageVersion(),
    clock,
    library,
    onDefaultScenario: (s) => readSegmentsOf(s),
    onReset: () => uploadRoute.resetFaultCount(),
  });

  const fallback: FallbackDeps = {
    newId: () => httpIds.uuid(),
    logger,
    streamPath: STREAM_PATH,
    endpoints: `ih-mock serves ${STREAM_PATH} (WebSocket), POST /v1/upload/analyze, POST /v1/auth (and /v0/auth), GET /openapi.json, GET ${HEALTH_PATH}, GET /metrics and the admin API under /__ih/.`,
  };
  // forceCloseConnections: close() cuts HTTP requests still in flight (a client stalled mid-upload)
  // instead of waiting for them; stream sessions are closed politely before that.
  const http: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => httpIds.uuid(),
    forceCloseConnections: true,
    schemaController: { compilersFactory: LAZY_SCHEMA_COMPILERS },
    ...fallbackServerOptions(fallback),
  });
  http.addHook('onRequest', async (request, reply) => {
    reply.header('X-Correlation-ID', request.id);
  });
  registerFallbacks(http, fallback);
  // Before the exchange journal: a preflight is answered here and is no upload or token exchange.
  registerCors(http, options.corsOrigins);
  http.get(HEALTH_PATH, async () => ({ status: 'ok', sessions: sessions.size }));
  const testIdOfRequest = recordHttpExchanges(http, control, new Map([[UPLOAD_PATH, 'upload'], ...AUTH_PATHS.map((path) => [path, 'auth'] as const)]));
  registerAuthRoutes(http, { authenticator, rateLimiter, strict: options.strictEvents });
  const uploadRoute = registerUploadRoutes(http, {
    options,
    scenario,
    clock,
    authenticator,
    rateLimiter,
    random: random.fork('upload-faults'),
    queuedFaults: (request) => control.takeUploadFaults(testIdOfRequest(request)),
  });
  registerOpenApiRoute(http);
  registerAdminRoutes(http, control);
  registerMetricsRoute(http, control.counters);

  const wss = new WebSocketServer({
    noServer: true,
    // Large enough for the default scenario's segment limit; grown for the built-ins a connection
    // may choose (coverBuiltInScenarios) and for a new default (readSegmentsOf).
    maxPayload: wsMaxPayload(options, sessionLimits(options, scenario).maxSegmentBytes),
    perMessageDeflate: false,
    // Echo the subprotocol the credential came in (or the first one offered): a client that offered
    // subprotocols aborts a handshake that selects none.
    handleProtocols: (offered, request) => (request as UpgradeRequest).ihEchoProtocol ?? offered.values().next().value ?? false,
  });
  /** A scenario may allow larger segments than the WebSocket layer reads: grow it, so they get ih6002, not 1009. */
  function readSegmentsOf(s: Scenario): void {
    wss.options.maxPayload = Math.max(wss.options.maxPayload ?? 0, wsMaxPayload(options, sessionLimits(options, s).maxSegmentBytes));
  }
  // Any session may choose a built-in scenario, so the WebSocket layer must read the largest segment
  // any of them allows. Loading them all is a noticeable part of a start-up, so it happens after the
  // readiness line (listen) or at the first upgrade, whichever comes first, and once.
  let builtInsCovered = !options.connectionScenarios;
  function coverBuiltInScenarios(): void {
    if (builtInsCovered) return;
    for (const s of library.builtIns()) readSegmentsOf(s);
    builtInsCovered = true;
  }
  wss.on('headers', (headers, request) => {
    headers.push(`X-Correlation-ID: ${(request as UpgradeRequest).ihCorrelationId}`);
  });
  // A handshake the WebSocket layer refuses (no Sec-WebSocket-Key, a bad version, method or
  // subprotocol list): the v1 body instead of ws's text/html.
  wss.on('wsClientError', (err, socket, request) => {
    const correlationId = (request as UpgradeRequest).ihCorrelationId ?? httpIds.uuid();
    logger.info({ correlationId, problem: err.message }, 'stream upgrade refused: invalid WebSocket handshake');
    const versionHint = /Version/.test(err.message) ? { 'Sec-WebSocket-Version': '13' } : undefined;
    writeRawHttpError(socket, 'ih4900', correlationId, `Invalid WebSocket handshake: ${err.message}. ${STREAM_PATH} takes a GET with Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version: 13.`, versionHint);
  });

  http.server.on('upgrade', (request: UpgradeRequest, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => logger.debug({ err: err.message }, 'upgrade socket error'));
    try {
      coverBuiltInScenarios();
      onUpgrade(request, socket, head);
    } catch (err) {
      // A bug here must not take the server down: this connection gets a 500 and nothing else changes.
      logger.error({ err }, 'internal error while handling a WebSocket upgrade');
      writeRawHttpError(socket, 'ih1001', request.ihCorrelationId ?? httpIds.uuid());
    }
  });

  /** Whether the connection's scenario is to be generated from a seed (its URL's choice, else its test's defaults). */
  function runsRandomScenario(choice: ReturnType<typeof parseConnectionChoice>, testId: string | null): boolean {
    if (choice.scenario !== undefined) return choice.scenario === RANDOM_SCENARIO;
    const chosen = control.defaultsFor(testId).scenario;
    return chosen !== undefined && !chosen.scenario && chosen.name === RANDOM_SCENARIO;
  }

  function onUpgrade(request: UpgradeRequest, socket: Duplex, head: Buffer): void {
    const correlationId = streamIds.uuid();
    request.ihCorrelationId = correlationId;
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://ih-mock');
    } catch {
      writeRawHttpError(socket, 'ih4900', correlationId, `Cannot parse the request target ${JSON.stringify(clip(request.url ?? ''))}; use ${STREAM_PATH}.`);
      return;
    }
    if (url.pathname !== STREAM_PATH) {
      writeRawHttpError(socket, 'ih4904', correlationId, `No WebSocket endpoint at ${clip(url.pathname)}; use ${STREAM_PATH}.`);
      return;
    }
    if (request.httpVersion === '1.1' && request.headers.host === undefined) {
      writeRawHttpError(socket, 'ih4900', correlationId, 'An HTTP/1.1 request needs a Host header (RFC 9112 3.2).');
      return;
    }
    let choice: ReturnType<typeof parseConnectionChoice>;
    let testId: string | null;
    try {
      choice = parseConnectionChoice(url.searchParams, { allowed: options.connectionScenarios, library });
      testId = testIdOf(request.headers, url.searchParams);
    } catch (err) {
      if (!(err instanceof ConnectionChoiceError) && !(err instanceof TestIdError)) throw err;
      logger.warn({ correlationId, problem: err.message }, 'stream upgrade refused: bad query parameters');
      writeRawHttpError(socket, 'ih4900', correlationId, err.message);
      return;
    }
    const credential = credentialFromUpgrade(request.headers);
    const auth = authenticator.check(credential.value);
    if (!auth.ok) {
      logger.info({ correlationId, credentialSource: credential.source, code: auth.code }, 'stream upgrade refused');
      writeRawHttpError(socket, auth.code, correlationId);
      return;
    }
    request.ihEchoProtocol = credential.echoProtocol;
    // The WebSocket layer refuses empty list elements (`, key`), which the credential lookup skips:
    // it gets the list the credential was read from.
    const offered = offeredProtocols(request.headers['sec-websocket-protocol']);
    if (offered.length > 0) request.headers['sec-websocket-protocol'] = offered.join(', ');
    else delete request.headers['sec-websocket-protocol'];
    const accept = (): void =>
      wss.handleUpgrade(request, socket, head, (ws) => {
        try {
          openSession(ws, correlationId, auth.principal, credential.source, choice, testId);
        } catch (err) {
          logger.error({ err, correlationId }, 'internal error while opening a stream session');
          ws.close(1011, 'internal error');
        }
      });
    if (scenarioGeneratorLoaded() || !runsRandomScenario(choice, testId)) return accept();
    // A random scenario asked for while its generator still loads (just after start-up, see listen): this upgrade waits for it.
    void loadScenarioGenerator().then(accept, (err: unknown) => {
      logger.error({ err, correlationId }, 'could not load the scenario generator');
      writeRawHttpError(socket, 'ih1001', correlationId);
    });
  }

  function openSession(ws: WebSocket, correlationId: string, principal: Principal, credentialSource: CredentialSource, choice: ReturnType<typeof parseConnectionChoice>, testId: string | null): void {
    const log = new SessionLog(logger, correlationId, principal.account);
    if (!requireScope(principal, SCOPE_STREAM).ok) {
      // A good credential without the stream scope (e.g. an upload-only token): the upgrade succeeds,
      // then error ih2003 and close 4003, and no session.ready (docs/protocol.md §1).
      const refusal = envelope('error', errorData('ih2003', null, missingScopeMessage(principal.kind === 'access-token' ? 'access token' : 'API key')), correlationId, clock);
      if (options.strictEvents) assertValidServerEvent(refusal);
      const text = JSON.stringify(refusal);
      ws.send(text);
      ws.close(4003, 'insufficient-scope');
      control.sessionRefused(correlationId, testId, refusal, text, 4003, 'insufficient-scope');
      log.info({ credentialSource, credentialKind: principal.kind, code: 'ih2003', scopes: [...principal.scopes] }, 'stream session refused: missing scope');
      return;
    }
    // What the URL does not choose, the admin API's defaults for this test may (else the start-up options).
    const defaults = control.defaultsFor(testId);
    const seed = choice.seed ?? defaults.seed;
    // A seed of its own makes this session replayable on its own; otherwise it forks the server's.
    const sessionRandom = seed !== undefined ? new Random(seed).fork('session') : sessionRandoms.fork(sessionCount++);
    const sessionScenario =
      choice.scenario !== undefined ? library.connectionScenario(choice.scenario, seed ?? sessionRandom.int(0, 2 ** 32 - 1))
      : defaults.scenario === undefined ? scenario
      : (defaults.scenario.scenario ?? library.connectionScenario(defaults.scenario.name, seed ?? sessionRandom.int(0, 2 ** 32 - 1)));
    const timing = timingFor(sessionScenario, choice.timing ?? defaults.timing);
    const queuedFaults = control.takeSessionFaults(testId);
    const record: SessionRecord = control.sessionOpening({ id: correlationId, testId, scenario: sessionScenario, seed: seed ?? null, serverSeed: options.seed, timing, credentialSource, faultsQueued: queuedFaults.length });
    const session = new StreamSession({
      options,
      scenario: sessionScenario,
      timing,
      pool,
      clock,
      random: sessionRandom,
      correlationId,
      logger: log,
      // Tells the session's record about the close frame it sends or the connection it cuts.
      transport: wsTransport(ws, clock, record),
      tap: record,
      ...(queuedFaults.length > 0 ? { extraFaults: queuedFaults } : {}),
      onSend: onEvent ? (event) => onEvent(event, session) : undefined,
      onWindowEmitted: (lagMs) => {
        control.windowEmitted(lagMs);
        onWindowEmitted?.(lagMs, session);
      },
      onEnded: (s) => {
        sessions.delete(s);
        sessionsChanged();
        onSessionEnded?.(s);
        control.sessionEnded(record, s);
      },
    });
    record.attach(session);
    sessions.add(session);
    sessionsChanged();
    log.info({ credentialSource, scenario: sessionScenario.name, timing: timing.mode, ...(seed !== undefined ? { seed } : {}), ...(testId !== null ? { testId } : {}), ...(queuedFaults.length > 0 ? { queuedFaults: queuedFaults.length } : {}) }, 'stream session opened');
    receiveMessages(ws, (bytes, isBinary) => {
      try {
        // Text stays bytes until the session has checked its size (maxTextFrameBytes).
        if (isBinary) session.onBinary(bytes);
        else session.onText(bytes);
      } catch (err) {
        // A bug must not take the server (or other sessions) down: ih1001 and close 1011, this session only.
        session.fail(err);
      }
    });
    // ws reports frames that break RFC 6455 (bad UTF-8, unmasked, too large) as an error, then closes.
    let protocolError = false;
    ws.on('error', (err) => {
      protocolError = true;
      log.info({ err: err.message }, 'stream socket closed by the WebSocket layer');
    });
    ws.on('close', (code, reason) => {
      record.clientClosed(code, reason.toString());
      session.onClientClosed(protocolError ? 'protocol_error' : 'client_disconnected');
    });
    try {
      session.start();
    } catch (err) {
      session.fail(err);
    }
  }

  let bound: MockServerUrls | undefined;
  const server: MockServer = {
    options,
    scenario,
    clock,
    logger,
    http,
    sessions,
    pool,
    uploads: uploadRoute,
    admin: control,
    async listen() {
      await http.listen({ host: options.host, port: options.port });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      bound = { baseUrl: `http://${host}:${port}`, streamUrl: `ws://${host}:${port}${STREAM_PATH}` };
      // After the caller has heard the server is up (its readiness line): load what /metrics needs,
      // the scenario generator (upgrades asking for a random scenario wait for it), the built-in
      // scenarios' segment limits and the validators of requests and frames (else loaded by the
      // first that needs them).
      setImmediate(() => {
        try {
          loadWireValidators();
          coverBuiltInScenarios();
        } catch {
          // a failure shows where it is needed: the first request or upgrade, which tries again
        }
        void control.counters.load().catch(() => undefined); // a failure shows at the first scrape
        void loadScenarioGenerator().catch(() => undefined); // a failure shows at the first upgrade that needs it
      });
      return bound;
    },
    urls() {
      if (!bound) throw new Error('ih-mock: the server is not listening yet; call listen() first');
      return bound;
    },
    async close() {
      control.close();
      for (const session of [...sessions]) session.shutdown();
      // Give clients a moment to answer the 1001 close frame, so their close is clean, then cut.
      await Promise.all([...wss.clients].map((client) => closedWithin(client, 1000)));
      wss.close();
      await http.close();
    },
  };
  return server;
}

/** Build and listen. Defaults to port 0 (a free port), which is what tests want. */
export async function createMockServer(input: MockServerOptions = {}): Promise<MockServer & MockServerUrls> {
  if (input.scenario === RANDOM_SCENARIO) await loadScenarioGenerator();
  const server = buildServer({ port: 0, ...input });
  const urls = await server.listen();
  return Object.assign(server, urls);
}

interface UpgradeRequest extends IncomingMessage {
  ihCorrelationId?: string;
  ihEchoProtocol?: string | undefined;
}

/**
 * Resolve once `ws` has closed, terminating it if that takes longer than `ms`. Real time on purpose:
 * this waits for the network during shutdown, not for anything the protocol times.
 */
function closedWithin(ws: WebSocket, ms: number): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), ms);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === ws.OPEN) ws.close(1001, 'server shutting down');
  });
}
