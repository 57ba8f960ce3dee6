/**
 * What a test-runner helper needs, whatever the runner: an emulator per test file (or per test), a
 * test id per test (the control plane's scoping, docs/control-plane.md#scoping-by-test), the URLs
 * and headers that carry it, and waits and faults scoped to it. `vitest.ts` binds it to vitest's
 * hooks; another runner with before/after hooks needs only such a binding.
 *
 * Invariants: a test's faults and waits only ever concern its own test id, so a fault it queues can
 * never reach another test; after each test its scope is reset (queued faults, defaults, journal
 * entries), whether the test passed or not.
 */
import type { AdminApi, JournalQuery, WaitQuery } from '../admin/api.js';
import { TEST_ID_HEADER_NAME, TEST_ID_PARAM } from '../admin/test-scope.js';
import { createMockServer, type MockServer, type MockServerOptions, type MockServerUrls } from '../app.js';
import type { DefaultsRequest, Fault, InjectResult, JournalEntry, JournalPage, QueueState } from '../types/generated.js';

export interface IhMockOptions extends MockServerOptions {
  /** A fresh emulator for every test instead of one per file (slower; for tests that change what the whole server does). */
  perTest?: boolean;
}

/** A test's place in its file, as the runner names it. */
export interface TestName {
  /** The names of the enclosing describe blocks, outermost first, then the test's. */
  path: readonly string[];
}

/** The longest test id the control plane accepts. */
const MAX_TEST_ID = 200;

/**
 * A test id from a test's name: printable ASCII (other characters become `_`), at most 200
 * characters, made unique within the file by a sequence number, so two tests of the same name never
 * share a scope.
 */
export function testIdFor(name: TestName, sequence: number): string {
  const prefix = `${sequence}:`;
  const text = name.path.join(' > ').replace(/[^ -~]/g, '_').trim().replace(/^ +| +$/g, '');
  return `${prefix}${text.slice(0, MAX_TEST_ID - prefix.length).trimEnd()}`;
}

/** The running emulator and the current test, as a test reads them. */
export class IhMockHarness {
  private current: MockServer & MockServerUrls | undefined;
  private currentTestId: string | null = null;
  private sequence = 0;

  constructor(private readonly options: IhMockOptions = {}) {}

  /** The emulator (its admin API in-process: `server.admin`). */
  get server(): MockServer & MockServerUrls {
    if (!this.current) throw new Error('ih-mock: no emulator is running here; use it inside a test (or a hook) of the file that called useIhMock()');
    return this.current;
  }

  /** `http://127.0.0.1:<port>`: the upload and token endpoints. */
  get baseUrl(): string {
    return this.server.baseUrl;
  }

  /** The current test's id: every session, upload and admin call made through this helper carries it. */
  get testId(): string {
    if (this.currentTestId === null) throw new Error('ih-mock: there is no current test (testId is set for each test, in beforeEach)');
    return this.currentTestId;
  }

  /** The stream URL with this test's `?test_id=`: sessions opened with it belong to the test (a browser can use it too). */
  get streamUrl(): string {
    return `${this.server.streamUrl}?${new URLSearchParams({ [TEST_ID_PARAM]: this.testId })}`;
  }

  /** Headers that put an HTTP call (an upload, a token exchange) or a WebSocket upgrade in this test's scope. */
  get headers(): Record<string, string> {
    return { [TEST_ID_HEADER_NAME]: this.testId };
  }

  /** The admin API, unscoped (every test's sessions); the methods below are scoped to the current test. */
  get admin(): AdminApi {
    return this.server.admin;
  }

  /** The first journal entry of this test matching `query`, already recorded or yet to come (30 s at most by default). */
  async waitFor(query: Omit<WaitQuery, 'testId'>): Promise<JournalEntry> {
    return (await this.admin.waitFor({ ...query, testId: this.testId })).entry;
  }

  /** This test's journal entries matching `query`. */
  journal(query: Omit<JournalQuery, 'testId'> = {}): Promise<JournalPage> {
    return this.admin.journal({ ...query, testId: this.testId });
  }

  /** Apply faults to one of this test's live sessions now (its id: the session's correlation id, or a journal entry's `session`). */
  inject(sessionId: string, faults: Fault | readonly Fault[]): Promise<InjectResult> {
    return this.admin.inject(sessionId, faults, { testId: this.testId });
  }

  /** Faults for this test's next `count` stream sessions (`sessions`) or uploads (`uploads`). */
  queueFaults(target: 'sessions' | 'uploads', faults: Fault | readonly Fault[], count = 1): Promise<QueueState> {
    return this.admin.queueFaults({ target, faults, count, testId: this.testId });
  }

  /** What this test's new sessions run (scenario, seed, timing) when their URL does not choose. */
  setDefaults(change: DefaultsRequest): Promise<unknown> {
    return this.admin.setDefaults(change, { testId: this.testId });
  }

  // The lifecycle, called by a runner binding's hooks.

  async startFile(): Promise<void> {
    if (!this.options.perTest) this.current = await createMockServer(this.serverOptions());
  }

  async startTest(name: TestName): Promise<void> {
    if (this.options.perTest) this.current = await createMockServer(this.serverOptions());
    this.currentTestId = testIdFor(name, ++this.sequence);
  }

  async endTest(): Promise<void> {
    const testId = this.currentTestId;
    this.currentTestId = null;
    if (this.options.perTest) return this.closeServer();
    // The next test starts clean: nothing this one queued or set can reach it.
    if (testId !== null && this.current) await this.current.admin.reset({ testId });
  }

  async endFile(): Promise<void> {
    await this.closeServer();
  }

  private async closeServer(): Promise<void> {
    const server = this.current;
    this.current = undefined;
    await server?.close();
  }

  private serverOptions(): MockServerOptions {
    const { perTest: _perTest, ...options } = this.options;
    return { host: '127.0.0.1', logLevel: 'warn', ...options };
  }
}
