/** The outbound channel's throttle: rate, order, the close behind the frames, and terminate. */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../clock.js';
import { Outbound } from './outbound.js';

function harness() {
  const clock = new VirtualClock();
  const log: string[] = [];
  const out = new Outbound(
    {
      send: (text) => log.push(`${clock.now() - start}:${text}`),
      close: (code) => log.push(`${clock.now() - start}:close ${code}`),
      terminate: () => log.push(`${clock.now() - start}:terminate`),
    },
    clock,
    (err) => {
      throw err;
    },
  );
  const start = clock.now();
  return { clock, log, out };
}

describe('Outbound', () => {
  it('sends straight through when not throttled', () => {
    const { out, log } = harness();
    out.send('a');
    out.close(1000, 'bye');
    expect(log).toEqual(['0:a', '0:close 1000']);
  });

  it('throttled: each frame waits size/rate after the previous one; the close waits behind them', () => {
    const { out, log, clock } = harness();
    out.throttle(100, undefined); // 100 bytes per second
    out.send('x'.repeat(50)); // leaves at 0, occupies 500 ms
    out.send('y'.repeat(100)); // leaves at 500, occupies 1000 ms
    out.send('z');
    out.close(1000, 'bye');
    clock.tick(10_000);
    expect(log.map((l) => l.split(':')[0] + ':' + l.split(':')[1]!.slice(0, 5))).toEqual(['0:xxxxx', '500:yyyyy', '1500:z', '1510:close']);
  });

  it('after the throttle expires, the queue still drains in order, then frames go straight out', () => {
    const { out, log, clock } = harness();
    out.throttle(10, 1); // 10 B/s for 1 s
    out.send('0123456789'); // occupies 1 s
    out.send('late');
    clock.tick(1000);
    out.send('direct');
    expect(log).toEqual(['0:0123456789', '1000:late', '1000:direct']);
  });

  it('terminate drops whatever is queued', () => {
    const { out, log, clock } = harness();
    out.throttle(1, undefined);
    out.send('first');
    out.send('never');
    out.terminate();
    clock.tick(60_000);
    expect(log).toEqual(['0:first', '0:terminate']);
  });
});
