/**
 * Length samplers for prompts and outputs (LengthDist). Every sampler returns whole tokens >= 1;
 * output lengths are additionally capped at the workload's max_output by the caller.
 *
 * - fixed:     always `value`.
 * - uniform:   integers in [min, max], both inclusive (one u32 per draw, multiply-shift).
 * - lognormal: round(median * exp(sigma * Z)), clamped to [min, max] (defaults 1, unbounded).
 * - empirical: inverse CDF of a built-in profile's quantile table with linear interpolation
 *              between quantile points, rounded.
 */
import { InputError } from '../errors.ts';
import type { Rng } from '../rng.ts';
import type { LengthDist } from './types.ts';
import { getProfile } from './profiles.ts';

export const LENGTH_KINDS = ['fixed', 'uniform', 'lognormal', 'empirical'] as const;
/** Largest length accepted anywhere (fits Int32Array and leaves room for p + o sums). */
export const MAX_TOKENS = 1 << 30;

/** Which column of a profile an empirical distribution reads. */
export type LengthRole = 'prompt' | 'output';

/**
 * Check a LengthDist and return it in canonical form (only the fields that matter, defaults
 * filled in), so that equal distributions serialise identically. `field` is 'prompt' or 'output'.
 */
export function normalizeLengthDist(dist: unknown, field: LengthRole): LengthDist {
  if (dist === null || typeof dist !== 'object') {
    throw new InputError(field, dist, `expected a length distribution such as {kind: lognormal, median: 500, sigma: 1}; kinds: ${LENGTH_KINDS.join(', ')}`);
  }
  const d = dist as Record<string, unknown>;
  switch (d.kind) {
    case 'fixed':
      return { kind: 'fixed', value: tokenCount(d.value, `${field}.value`) };
    case 'uniform': {
      const min = tokenCount(d.min, `${field}.min`);
      const max = tokenCount(d.max, `${field}.max`);
      if (max < min) throw new InputError(`${field}.max`, d.max, `must be >= ${field}.min (${min})`);
      return { kind: 'uniform', min, max };
    }
    case 'lognormal': {
      const median = positive(d.median, `${field}.median`);
      const sigma = d.sigma;
      if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0 || sigma > 10) {
        throw new InputError(`${field}.sigma`, sigma, 'must be a number in [0, 10] (the standard deviation of ln(length))');
      }
      const min = d.min === undefined ? 1 : tokenCount(d.min, `${field}.min`);
      const max = d.max === undefined ? MAX_TOKENS : tokenCount(d.max, `${field}.max`);
      if (max < min) throw new InputError(`${field}.max`, d.max, `must be >= ${field}.min (${min})`);
      return { kind: 'lognormal', median, sigma, min, max };
    }
    case 'empirical': {
      const profile = d.profile;
      getProfile(profile as string, `${field}.profile`); // throws for unknown names
      return { kind: 'empirical', profile: profile as string };
    }
    default:
      throw new InputError(`${field}.kind`, d.kind, `unknown length distribution; known: ${LENGTH_KINDS.join(', ')}`);
  }
}

function tokenCount(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TOKENS) {
    throw new InputError(field, v, `must be a whole number of tokens between 1 and ${MAX_TOKENS}`);
  }
  return v;
}

function positive(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_TOKENS) {
    throw new InputError(field, v, `must be a number of tokens > 0`);
  }
  return v;
}

/** Short human-readable form for labels: fixed(512), lognormal(1020,0.9), empirical(azure_conv). */
export function describeLengthDist(d: LengthDist): string {
  switch (d.kind) {
    case 'fixed':
      return `fixed(${d.value})`;
    case 'uniform':
      return `uniform(${d.min},${d.max})`;
    case 'lognormal': {
      const lim = (d.min ?? 1) !== 1 || (d.max ?? MAX_TOKENS) !== MAX_TOKENS ? `,[${d.min ?? 1},${d.max ?? MAX_TOKENS}]` : '';
      return `lognormal(${d.median},${d.sigma}${lim})`;
    }
    case 'empirical':
      return `empirical(${d.profile})`;
  }
}

/** Inverse CDF of a quantile table q at u in [0, 1): linear interpolation, rounded, >= 1. */
export function inverseCdf(q: Float64Array, u: number): number {
  const x = u * (q.length - 1);
  const i = Math.floor(x);
  const lo = q[i];
  const v = i + 1 < q.length ? lo + (x - i) * (q[i + 1] - lo) : lo;
  const r = Math.round(v);
  return r < 1 ? 1 : r;
}

/**
 * Draw n lengths from a (normalised) distribution into a new Int32Array, capped at `cap`.
 * The sequence depends only on the distribution and the generator's state, and draw i uses the
 * same random numbers whatever n is (so a longer stream extends a shorter one).
 */
export function sampleLengths(dist: LengthDist, role: LengthRole, n: number, rng: Rng, cap = MAX_TOKENS): Int32Array {
  const out = new Int32Array(n);
  switch (dist.kind) {
    case 'fixed':
      out.fill(Math.min(dist.value, cap));
      break;
    case 'uniform': {
      const span = dist.max - dist.min + 1;
      for (let i = 0; i < n; i++) out[i] = Math.min(dist.min + rng.below(span), cap);
      break;
    }
    case 'lognormal': {
      const lo = dist.min ?? 1;
      const hi = Math.min(dist.max ?? MAX_TOKENS, cap);
      const m = dist.median;
      const s = dist.sigma;
      for (let i = 0; i < n; i++) {
        let v = Math.round(m * Math.exp(s * rng.normal()));
        if (v < lo) v = lo;
        if (v > hi) v = hi;
        out[i] = v < 1 ? 1 : v;
      }
      break;
    }
    case 'empirical': {
      const p = getProfile(dist.profile);
      const q = role === 'prompt' ? p.promptQuantiles : p.outputQuantiles;
      for (let i = 0; i < n; i++) {
        const v = inverseCdf(q, rng.next());
        out[i] = v > cap ? cap : v;
      }
      break;
    }
  }
  return out;
}
