/**
 * `ih-mock/vitest`: an emulator for a vitest test file, a test id per test, cleanup included
 * (docs/vitest.md).
 *
 * ```ts
 * import { useIhMock } from 'ih-mock/vitest';
 * const ih = useIhMock({ timing: 'instant' });
 * it('reconnects after a disconnect', async () => {
 *   await ih.queueFaults('sessions', { when: { segment: 2 }, action: 'disconnect' });
 *   // connect to ih.streamUrl with ih.headers ..., then:
 *   await ih.waitFor({ type: 'disconnect' });
 * });
 * ```
 *
 * Call it at the top of a file (or of a describe block): it registers beforeAll/afterAll (or
 * beforeEach/afterEach with `perTest`) to start and close the emulator, and beforeEach/afterEach to
 * give each test its own test id and reset that test's scope after it. Tests of one file run one at
 * a time (vitest's default); `describe.concurrent` tests would share the current test id.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { IhMockHarness, type IhMockOptions, type TestName } from './harness.js';

export { IhMockHarness, testIdFor } from './harness.js';
export type { IhMockOptions, TestName } from './harness.js';

/** A vitest task's describe blocks and name, outermost first (the file itself is not named). */
function nameOf(task: { name: string; suite?: { name: string; suite?: unknown } | undefined }): TestName {
  const path = [task.name];
  for (let suite = task.suite as typeof task.suite; suite; suite = suite.suite as typeof task.suite) {
    if (suite.name) path.unshift(suite.name);
  }
  return { path };
}

/** Start an emulator for this file (or each test), and scope every test to a test id of its own. */
export function useIhMock(options: IhMockOptions = {}): IhMockHarness {
  const harness = new IhMockHarness(options);
  beforeAll(() => harness.startFile());
  afterAll(() => harness.endFile());
  beforeEach(({ task }) => harness.startTest(nameOf(task)));
  afterEach(() => harness.endTest());
  return harness;
}
