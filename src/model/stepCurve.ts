/**
 * Piecewise-linear lookup-table terms of the step-time model (docs/model.md §5): integer
 * picoseconds at integer token counts, evaluated with one multiply and one add, so a WGSL
 * engine reproduces them exactly with 64-bit integer emulation.
 */
import { InputError } from '../errors.ts';
import type { StepCurve } from './types.ts';

/** Largest per-point value and slope accepted (keeps value(x) < 2^53 for x < 2^20). */
export const MAX_CURVE_PS = 2 ** 46;
export const MAX_CURVE_SLOPE_PS = 2 ** 32 - 1;
/** Most breakpoints a curve may have (the GPU engine keeps a curve in a small uniform array). */
export const MAX_CURVE_POINTS = 512;

/**
 * value(x) = ps[i] + slopePs[i] * max(0, x - tokens[i]), i = last index with tokens[i] <= x
 * (0 when x is below the first breakpoint). Binary search: O(log n).
 */
export function curvePs(c: StepCurve, x: number): number {
  const t = c.tokens;
  let lo = 0;
  let hi = t.length - 1;
  if (x <= t[0]) return c.ps[0];
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return c.ps[lo] + c.slopePs[lo] * (x - t[lo]);
}

/** Largest value the curve takes on [1, xMax] (its maximum is at a breakpoint or at xMax). */
export function curveMaxPs(c: StepCurve, xMax: number): number {
  let m = curvePs(c, Math.max(1, xMax));
  for (let i = 0; i < c.tokens.length && c.tokens[i] <= xMax; i++) {
    const end = i + 1 < c.tokens.length ? Math.min(xMax, c.tokens[i + 1] - 1) : xMax;
    m = Math.max(m, c.ps[i] + c.slopePs[i] * Math.max(0, end - c.tokens[i]));
  }
  return m;
}

/** Check a curve read from a model file; throws InputError naming `field`. */
export function checkCurve(raw: unknown, field: string): StepCurve {
  const c = raw as Partial<StepCurve> | undefined;
  if (c === null || typeof c !== 'object' || !Array.isArray(c.tokens) || !Array.isArray(c.ps) || !Array.isArray(c.slopePs)) {
    throw new InputError(field, raw, 'must be an object with arrays tokens, ps and slopePs');
  }
  const n = c.tokens.length;
  if (n < 1 || n > MAX_CURVE_POINTS || c.ps.length !== n || c.slopePs.length !== n) {
    throw new InputError(field, n, `tokens, ps and slopePs must have the same length, 1 to ${MAX_CURVE_POINTS}`);
  }
  for (let i = 0; i < n; i++) {
    const x = c.tokens[i];
    if (!Number.isInteger(x) || x < 1 || x > 2 ** 20 || (i > 0 && x <= c.tokens[i - 1])) {
      throw new InputError(`${field}.tokens[${i}]`, x, 'must be strictly increasing integers in [1, 2^20]');
    }
    const y = c.ps[i];
    if (!Number.isInteger(y) || y < 0 || y > MAX_CURVE_PS) {
      throw new InputError(`${field}.ps[${i}]`, y, `must be an integer number of picoseconds in [0, 2^46]`);
    }
    const s = c.slopePs[i];
    if (!Number.isInteger(s) || s < 0 || s > MAX_CURVE_SLOPE_PS) {
      throw new InputError(`${field}.slopePs[${i}]`, s, `must be an integer number of picoseconds per token in [0, 2^32)`);
    }
  }
  return { tokens: [...c.tokens], ps: [...c.ps], slopePs: [...c.slopePs] };
}

/**
 * Build an integer curve through real-valued points (x_i, y_i in ps): ps[i] = round(y_i),
 * slope = round((y_{i+1} - y_i) / (x_{i+1} - x_i)) clamped at 0 (the calibrated terms are
 * non-decreasing in tokens; callers make y non-decreasing first), and the last segment keeps
 * the previous slope (linear extrapolation beyond the last point).
 */
export function curveThrough(xs: readonly number[], ys: readonly number[]): StepCurve {
  const tokens: number[] = [];
  const ps: number[] = [];
  const slopePs: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    tokens.push(xs[i]);
    ps.push(Math.max(0, Math.round(ys[i])));
  }
  for (let i = 0; i < xs.length; i++) {
    if (i + 1 < xs.length) slopePs.push(Math.max(0, Math.round((ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]))));
    else slopePs.push(i > 0 ? slopePs[i - 1] : 0);
  }
  return { tokens, ps, slopePs };
}
