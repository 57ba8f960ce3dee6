/**
 * Paired measurements of two running servers. `alternatingPairs`: a warm-up run each (JIT, socket
 * buffers), then `repetitions` pairs back to back, alternating which goes first, for loads one
 * client cannot give two servers at once (the control plane's lag). `togetherPairs`: one client
 * drives both at once, for the CPU figures (bench/cpu-guard.ts, the control plane's CPU rows).
 */
import type { ServerHandle } from './child-handle.js';

export async function alternatingPairs<R>(
  servers: readonly [ServerHandle, ServerHandle],
  run: (server: ServerHandle, warmUp: boolean) => Promise<R>,
  repetitions: number,
  onPair: (a: R, b: R) => void,
): Promise<Array<[R, R]>> {
  const [a, b] = servers;
  for (const server of servers) await run(server, true);
  const pairs: Array<[R, R]> = [];
  for (let rep = 0; rep < repetitions; rep++) {
    const runs = new Map<ServerHandle, R>();
    for (const server of rep % 2 === 0 ? [b, a] : [a, b]) runs.set(server, await run(server, false));
    const pair: [R, R] = [runs.get(a)!, runs.get(b)!];
    pairs.push(pair);
    onPair(...pair);
  }
  return pairs;
}

/**
 * Paired measurements of two running servers measured together: a warm-up run (with `alternate`,
 * one in each order), then `repetitions`
 * runs in which one client drives both at once (`run` measures each over the same moments), so the
 * pair's ratio cancels how fast the machine happens to be. Used by the CPU figures (bench/cpu-guard.ts).
 *
 * `alternate`: every other run drives them in the other order (within a run, each message goes to
 * the first server given, then to the second). The order is not neutral: in December 2026 the server sent to
 * first fell into the mark-compact state sooner, whichever configuration it had (bench/README.md,
 * "Control plane cost"). Results are always in `servers`' order.
 */
export async function togetherPairs<R>(
  servers: readonly [ServerHandle, ServerHandle],
  run: (servers: readonly [ServerHandle, ServerHandle]) => Promise<[R, R]>,
  repetitions: number,
  onPair: (a: R, b: R) => void,
  { alternate = false }: { alternate?: boolean } = {},
): Promise<Array<[R, R]>> {
  const [a, b] = servers;
  const runInOrder = async (swapped: boolean): Promise<[R, R]> => {
    if (!swapped) return run(servers);
    const [rb, ra] = await run([b, a]);
    return [ra, rb];
  };
  await runInOrder(false);
  if (alternate) await runInOrder(true);
  const pairs: Array<[R, R]> = [];
  for (let rep = 0; rep < repetitions; rep++) {
    const pair = await runInOrder(alternate && rep % 2 === 1);
    pairs.push(pair);
    onPair(...pair);
  }
  return pairs;
}
