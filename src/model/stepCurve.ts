/**
 * Piecewise-linear lookup-table terms of the step-time model (docs/model.md §5): integer
 * picoseconds at integer token counts, evaluated with one multiply and one add, so a WGSL
 * engine reproduces them exactly with 64-bit integer emulation.
 */
import { z } from 'zod';
import { numberIn, parseWith } from '../zodRules.ts';
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

const int = (max: number, rule: string) => numberIn({ min: 0, max, int: true, rule });

/** A piecewise-linear lookup table of a model file (checked by `checkCurve`). */
export const stepCurveSchema: z.ZodType<StepCurve> = z
  .object(
    {
      tokens: z.array(z.number({ error: 'must be strictly increasing integers in [1, 2^20]' }), { error: 'must be an object with arrays tokens, ps and slopePs' }),
      ps: z.array(int(MAX_CURVE_PS, 'an integer number of picoseconds in [0, 2^46]'), { error: 'must be an object with arrays tokens, ps and slopePs' }),
      slopePs: z.array(int(MAX_CURVE_SLOPE_PS, 'an integer number of picoseconds per token in [0, 2^32)'), {
        error: 'must be an object with arrays tokens, ps and slopePs',
      }),
    },
    { error: 'must be an object with arrays tokens, ps and slopePs' },
  )
  .check((ctx) => {
    const { tokens, ps, slopePs } = ctx.value;
    const n = tokens.length;
    if (n < 1 || n > MAX_CURVE_POINTS || ps.length !== n || slopePs.length !== n) {
      ctx.issues.push({ code: 'custom', message: `tokens, ps and slopePs must have the same length, 1 to ${MAX_CURVE_POINTS}`, input: n });
      return;
    }
    for (let i = 0; i < n; i++) {
      const x = tokens[i];
      if (!Number.isInteger(x) || x < 1 || x > 2 ** 20 || (i > 0 && x <= tokens[i - 1])) {
        ctx.issues.push({ code: 'custom', message: 'must be strictly increasing integers in [1, 2^20]', input: x, path: ['tokens', i] });
        return;
      }
    }
  })
  .transform((c) => ({ tokens: [...c.tokens], ps: [...c.ps], slopePs: [...c.slopePs] }));

/** Check a curve read from a model file; throws InputError naming `field`. */
export function checkCurve(raw: unknown, field: string): StepCurve {
  return parseWith(stepCurveSchema, raw, field);
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
