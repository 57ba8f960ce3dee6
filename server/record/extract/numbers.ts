/** Numbers: the tolerance of comparisons, bounds and formatting shared by the reconstruction (see ../extract.ts). */

export const EPS = 1e-9;
/** Most windows a reconstruction considers (83 h of media with the default hop). */
export const MAX_WINDOWS = 100_000;

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
export function finite(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}
export function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= EPS * Math.max(1, Math.abs(a), Math.abs(b));
}
export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}
export function fmt(x: number): string {
  return String(Math.round(x * 1e6) / 1e6);
}
