/**
 * ih-mock's programmatic API.
 *
 * ```ts
 * import { createMockServer, VirtualClock } from 'ih-mock';
 * const clock = new VirtualClock();
 * const server = await createMockServer({ scenario: 'steady', clock });
 * // connect to server.streamUrl, send media, then: await clock.advance(12_000); (live timing: results 8-11 s after a window is due)
 * const [session] = await server.admin.sessions();            // the admin API, in-process
 * await server.admin.inject(session.id, { action: 'error', code: 'ih3003' });
 * await server.close();
 * ```
 */
import * as scenarioGenerator from '../scenarios/generator.js';
import { provideScenarioGenerator } from './connection-choice.js';

export { buildServer, createMockServer, STREAM_PATH, HEALTH_PATH } from './app.js';
export type { MockServer, MockServerOptions, MockServerUrls } from './app.js';
export type { UploadActivity } from './http/upload-route.js';
export { ADMIN_PREFIX } from './admin/control-plane.js';
export type { AdminApi, JournalQuery, WaitQuery, Scoped, QueueFaultsRequest } from './admin/api.js';
export { connectAdmin, AdminClient, AdminHttpError } from './admin/client.js';
export type { AdminClientOptions } from './admin/client.js';
export { AdminError, ADMIN_ERROR_TABLE, ADMIN_ERROR_CODES } from './admin/errors.js';
export { TEST_ID_HEADER_NAME, TEST_ID_PARAM } from './admin/test-scope.js';
export { ADMIN_TOKEN_HEADER_NAME } from './admin/guard.js';
export { METRICS_PATH } from './metrics/metrics.js';
export { RealClock, VirtualClock, VIRTUAL_EPOCH_MS, isoMicros } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { Random } from './random.js';
export { ServingHeapTuning } from './heap-tuning.js';
export type { HeapTuningChange, HeapTuningOptions } from './heap-tuning.js';
export { ERROR_TABLE, ERROR_CODES, errorLink, httpErrorBody } from './errors.js';
export type { ErrorCode, ErrorSpec, HttpErrorBody } from './errors.js';
export { resolveOptions, OptionsError } from './options.js';
export type { ServerOptions, ServerOptionsInput } from './options.js';
export { StreamSession, SUPPORTED_INCLUDE } from './stream/session.js';
export type { SessionStats, SessionState, EndReason, SessionLimits } from './stream/session.js';
export type { Envelope } from './stream/envelope.js';
export { WorkerPool } from './stream/worker-pool.js';
export { resolveTiming, describeTiming, TIMING_MODES, DEPRECATED_TIMING_NAMES } from './stream/timing.js';
export type { SessionTiming, ResolvedTimingMode, TimingMode } from './stream/timing.js';
export type { MediaRange } from './stream/window-pipeline.js';
export { loadScenario, parseScenario, listScenarios, scenarioFromObject, validateScenario, ScenarioError } from '../scenarios/loader.js';
export {
  scenarioArbitrary,
  signalSpansArbitrary,
  engagementArbitrary,
  qualityArbitrary,
  loadArbitrary,
  faultScheduleArbitrary,
  uploadFaultScheduleArbitrary,
  generateScenario,
  scenarioToYaml,
} from '../scenarios/generator.js';
export type { GeneratorOptions, FaultScheduleOptions } from '../scenarios/generator.js';
// This API exports the generator, so it is loaded anyway: servers built through it (buildServer) can
// generate a random scenario at once, without loading it again (connection-choice.ts).
provideScenarioGenerator(scenarioGenerator);
export type * from './types/generated.js';
export { createRecorder } from './record/proxy.js';
export type { Recorder, RecorderOptions } from './record/proxy.js';
export { readRecording, parseRecording, serverEvents, RecordingError } from './record/reader.js';
export type { Recording, RecordedStream, RecordedExchange, RecordingProblem } from './record/reader.js';
export { createReplayServer } from './record/replay.js';
export type { ReplayServer, ReplayOptions, ReplayPace, Divergence } from './record/replay.js';
export { extractScenario, extractScenarioWithNotes } from './record/extract.js';
export { REDACTED } from './record/redact.js';
export { SERVER_INVARIANTS, checkTrace } from '../conformance/invariants.js';
export type { Invariant, Violation, CheckResult, Severity } from '../conformance/invariants.js';
export { tracesFromRecording, traceFromRecordedStream } from '../conformance/trace.js';
export type { Trace, TraceFrame } from '../conformance/trace.js';
