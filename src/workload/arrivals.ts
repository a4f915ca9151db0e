/**
 * Synthetic arrival processes. Gaps are drawn at unit rate (mean 1), accumulated, and only then
 * scaled by 1/rate and rounded to integer µs. So for one seed the *unit-rate* times are fixed and
 * every rate sees the same stream compressed or stretched in time (common random numbers):
 * arrivals at rate 4 are those at rate 2 halved, up to 1 µs of rounding.
 *
 * - poisson: exponential gaps, -ln(U).
 * - gamma:   gamma-distributed gaps with coefficient of variation cv (shape k = 1/cv², scale 1/k,
 *            so the mean stays 1), Marsaglia–Tsang sampler; for k < 1 the usual boost
 *            G(k) = G(k+1)·U^(1/k). cv = 1 is the exponential and uses the Poisson sampler, so
 *            gamma with cv 1 gives exactly the Poisson stream.
 * The first arrival is the first gap, so a stream starts after time 0.
 */
import type { Rng } from '../rng.ts';
import type { ArrivalProcess } from './types.ts';

export const ARRIVAL_PROCESSES: readonly ArrivalProcess[] = ['poisson', 'gamma'];

/** One exponential gap with mean 1. */
export function expGap(rng: Rng): number {
  return -Math.log(rng.nextOpen());
}

/** One Gamma(shape, 1) variate (mean = shape), Marsaglia & Tsang (2000). */
export function gammaVariate(rng: Rng, shape: number): number {
  if (shape < 1) {
    // G(k) = G(k+1) * U^(1/k); computed in logs so tiny values underflow gracefully to 0.
    const g = gammaVariate(rng, shape + 1);
    return Math.exp(Math.log(g) + Math.log(rng.nextOpen()) / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.nextOpen();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * Cumulative arrival times at unit rate (mean gap 1) for n requests. Gamma gaps with cv are
 * normalised to mean 1 (divide by the shape).
 */
export function unitArrivalTimes(n: number, process: ArrivalProcess, cv: number, rng: Rng): Float64Array {
  const t = new Float64Array(n);
  let now = 0;
  if (process === 'poisson' || cv === 1) {
    for (let i = 0; i < n; i++) {
      now += expGap(rng);
      t[i] = now;
    }
  } else {
    const k = 1 / (cv * cv);
    for (let i = 0; i < n; i++) {
      now += gammaVariate(rng, k) / k;
      t[i] = now;
    }
  }
  return t;
}

/** Scale unit-rate times to `rate` requests per second and round to integer µs (in place copy). */
export function scaleToMicroseconds(unitTimes: Float64Array, rate: number): Float64Array {
  const out = new Float64Array(unitTimes.length);
  const f = 1e6 / rate;
  for (let i = 0; i < unitTimes.length; i++) out[i] = Math.round(unitTimes[i] * f);
  return out;
}

/** Arrival times in integer µs for n requests at `rate` req/s. */
export function generateArrivals(n: number, process: ArrivalProcess, cv: number, rate: number, rng: Rng): Float64Array {
  return scaleToMicroseconds(unitArrivalTimes(n, process, cv, rng), rate);
}
