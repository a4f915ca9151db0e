/**
 * Projected per-rank loads for the horizon routers, shared by every engine and the live side so
 * they all feed a router the same numbers. Pure arithmetic on plain arrays: no engine state.
 *
 * Two projections (definitions: docs/routers.md, "Projections"):
 * - survival-weighted: a request of age a and KV load w counts at offset h with probability
 *   q = S(a+h)/S(a) (S = output survival), adding q·(w+h) to the mean and q(1−q)(w+h)² to the
 *   variance (fast_phi, fast_phi_gauss);
 * - binary cutoff: it counts with its full load w+h while h < ĉ and not at all after, ĉ being a
 *   predictor's estimate of its remaining decode steps (brh, after the DP-BalanceRouter write-up).
 */
import { pcgOutput, pcgSeed, pcgStep } from '../rng.ts';
import type { Predictor, ProjectionSpec, RouterView } from './types.ts';

/** Stream id ('PRED') of the noisy predictor: independent of the workload's and routers' draws. */
export const PREDICTOR_STREAM = 0x50524544;

const TWO32 = 4294967296;

/**
 * A standard normal draw that depends only on (seed, request id): Box–Muller on the first two
 * outputs of the PCG stream pcgSeed(seed, PREDICTOR_STREAM ^ id). Counter-based, so the value
 * does not depend on when or how often a request is projected (engines agree on it).
 */
export function predictorNormal(seed: number, id: number): number {
  let s = pcgSeed(seed, (PREDICTOR_STREAM ^ id) >>> 0);
  const u1 = (pcgOutput(s) + 0.5) / TWO32; // in (0, 1): safe for log
  s = pcgStep(s);
  const u2 = pcgOutput(s) / TWO32;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Fixed-point scale of the noisy predictor's factor: multiples of 2^-16. */
export const NOISE_ONE = 65536;
const NOISE_MAX = 2 ** 31 - 1;

/**
 * The noisy predictor's multiplicative error exp(σ·Z) of request `id` (lognormal, median 1), as an
 * integer number of 2^-16 steps in [1, 2^31 − 1]. Rounded so that ĉ = remaining·factor/2^16 is
 * compared exactly on every engine (the GPU compares h·2^16 < remaining·factor in 64-bit integers).
 */
export function predictorNoiseFixed(seed: number, id: number, sigma: number): number {
  if (sigma === 0) return NOISE_ONE;
  const q = Math.round(Math.exp(sigma * predictorNormal(seed, id)) * NOISE_ONE);
  return q < 1 ? 1 : q > NOISE_MAX ? NOISE_MAX : q;
}

/** The same factor as a real number (q / 2^16). */
export function predictorNoise(seed: number, id: number, sigma: number): number {
  return predictorNoiseFixed(seed, id, sigma) / NOISE_ONE;
}

/**
 * Conditional median of the remaining decode steps given the age, from the output survival:
 * med[a] = min{ m ≥ 1 : S(a+m) ≤ S(a)/2 } (S = 0 past the table), i.e. the request counts while
 * P(remaining > h | age a) > 1/2. Ages with S(a) = 0 (beyond every observed output) get 1: the
 * request counts now only, as in the survival projection. O(len) by two pointers (S non-increasing).
 */
export function medianRemainingTable(surv: Float64Array): Int32Array {
  const n = surv.length;
  const med = new Int32Array(n);
  let j = 1; // candidate index a + m, non-decreasing in a
  for (let a = 0; a < n; a++) {
    const sa = surv[a];
    if (!(sa > 0)) {
      med[a] = 1;
      continue;
    }
    if (j < a + 1) j = a + 1;
    while (j < n && surv[j] > sa / 2) j++;
    med[a] = j - a;
  }
  return med;
}

/**
 * A predictor of remaining decode steps ĉ for one run. `trueRemaining` (output − generated) is
 * read only by `oracle` and `noisy`; a live caller without it may pass NaN for the others.
 */
export interface RemainingPredictor {
  readonly kind: Predictor;
  /** ĉ for request `id` of age `age` (tokens generated) and true remaining steps `trueRemaining`. */
  remaining(id: number, age: number, trueRemaining: number): number;
}

export function createPredictor(kind: Predictor, sigma: number, seed: number, surv: Float64Array): RemainingPredictor {
  switch (kind) {
    case 'oracle':
      return { kind, remaining: (_id, _age, rem) => rem };
    case 'noisy': {
      // Noise factors are per request and fixed for its life (a predictor's bias for a prompt).
      const cache = new Map<number, number>();
      return {
        kind,
        remaining(id, _age, rem) {
          let f = cache.get(id);
          if (f === undefined) {
            f = predictorNoise(seed, id, sigma);
            cache.set(id, f);
          }
          return rem * f;
        },
      };
    }
    case 'median': {
      const med = medianRemainingTable(surv);
      return { kind, remaining: (_id, age) => (age < med.length ? med[age] : 1) };
    }
    case 'none':
      return { kind, remaining: () => Infinity };
  }
}

/**
 * Add one request (KV load w now, age a) to rank g's survival-weighted projection at `steps`.
 * q = S(⌊a+h⌋)/S(a); when S(a) = 0 it counts at h = 0 only. Stops at the first point with q = 0
 * (S is non-increasing and steps ascend, so every later term is 0).
 */
export function addSurvivalLoad(
  mean: Float64Array,
  variance: Float64Array,
  G: number,
  g: number,
  steps: ArrayLike<number>,
  w: number,
  a: number,
  surv: Float64Array,
): void {
  const n = surv.length;
  const sa = a < n ? surv[a] : 0;
  for (let j = 0; j < steps.length; j++) {
    const h = steps[j];
    let q: number;
    if (sa > 0) {
      const i = Math.floor(a + h);
      q = (i < n ? surv[i] : 0) / sa;
    } else {
      q = h === 0 ? 1 : 0;
    }
    if (q === 0) break;
    const load = w + h;
    mean[j * G + g] += q * load;
    variance[j * G + g] += q * (1 - q) * load * load;
  }
}

/** Add one request (KV load w now, predicted remaining steps c) to rank g's binary-cutoff projection. */
export function addCutoffLoad(cut: Float64Array, G: number, g: number, steps: ArrayLike<number>, w: number, c: number): void {
  for (let j = 0; j < steps.length; j++) {
    const h = steps[j];
    if (!(h < c)) break;
    cut[j * G + g] += w + h;
  }
}

/** Fills a view's projection arrays for one run: the engines call clear() then add() per request. */
export interface Projector {
  readonly kind: ProjectionSpec['kind'];
  /** Zero the projection arrays of `view`. */
  clear(view: RouterView): void;
  /**
   * Add request `id` on rank g with KV load w and age a; `trueRemaining` = output − generated
   * (only the oracle and noisy predictors read it).
   */
  add(view: RouterView, g: number, id: number, w: number, a: number, trueRemaining: number): void;
}

/**
 * The projector a router asks for (`def.projection(params)`) at offsets `steps`, for a run with
 * output survival `surv` and seed `seed` (the noisy predictor's stream).
 */
export function createProjector(spec: ProjectionSpec, steps: ArrayLike<number>, surv: Float64Array, seed: number): Projector {
  if (steps.length === 0 || spec.kind === 'none') {
    return { kind: 'none', clear() {}, add() {} };
  }
  if (spec.kind === 'survival') {
    return {
      kind: 'survival',
      clear(view) {
        view.projMean.fill(0);
        view.projVar.fill(0);
      },
      add(view, g, _id, w, a) {
        addSurvivalLoad(view.projMean, view.projVar, view.G, g, steps, w, a, surv);
      },
    };
  }
  const pred = createPredictor(spec.predictor, spec.sigma, seed, surv);
  return {
    kind: 'cutoff',
    clear(view) {
      view.projCut.fill(0);
    },
    add(view, g, id, w, a, rem) {
      addCutoffLoad(view.projCut, view.G, g, steps, w, pred.remaining(id, a, rem));
    },
  };
}

/** Sizes of the projection arrays a view needs for `spec` at J offsets and G ranks. */
export function projectionSizes(spec: ProjectionSpec, J: number, G: number): { mean: number; cut: number } {
  if (J === 0 || spec.kind === 'none') return { mean: 0, cut: 0 };
  return spec.kind === 'survival' ? { mean: J * G, cut: 0 } : { mean: 0, cut: J * G };
}
