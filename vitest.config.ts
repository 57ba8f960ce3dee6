import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['server/**/*.test.ts', 'scenarios/**/*.test.ts', 'conformance/**/*.test.ts', 'schemas/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Files attached to a test's output (context.annotate, e.g. the dashboard's screenshots) stay with the rest of it.
    attachmentsDir: 'test-results/attachments',
    // Most of the suite waits on sockets and child processes (the conformance files on client
    // subprocesses and scripted delays): two workers halve its wall time on a 2-core machine.
    maxWorkers: 2,
    // Each file in a process of its own (vitest's defaults, said here because two files rely on
    // them): upload.test.ts and message-release.test.ts set V8 flags at run time (--expose-gc,
    // synchronous array-buffer sweeping), which must not reach the other files.
    pool: 'forks',
    isolate: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
