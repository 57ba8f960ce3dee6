// Testing your own stream client against ih-mock with vitest: one emulator for the file, a test id
// per test, faults queued for the current test only. Run by ih-mock's own suite.
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import { useIhMock } from 'ih-mock/vitest';

const ih = useIhMock({ scenario: 'steady', timing: 'instant' });

// The code under test (yours): open a session and resolve with the code of the error that ends it.
function endingError(url: string, apiKey: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${apiKey}` } });
    let code: string | undefined;
    ws.on('message', (text) => {
      const event = JSON.parse(String(text));
      if (event.type === 'error') code = event.data.code;
    });
    ws.on('close', () => resolve(code));
    ws.on('error', reject);
  });
}

it('reports the quota error that ends a session', async () => {
  await ih.queueFaults('sessions', { action: 'quota_exhausted' });
  expect(await endingError(ih.streamUrl, 'ih_live_example')).toBe('ih3003');
  // What the emulator saw, for this test only.
  const ended = await ih.waitFor({ kind: 'session', type: 'session.ended' });
  expect(ended.test_id).toBe(ih.testId);
});
