// Builds RouterViews from plain arrays for router tests.
import type { RouterView } from '../../src/routers/types.ts';

export interface ViewSpec {
  /** KV tokens per rank; G is its length. */
  kv: number[];
  queued?: number[];
  waiting?: number[];
  running?: number[];
  kvUsage?: number[];
  inflight?: number[];
  kvCapacity?: number;
  horizonSteps?: number[];
  /** One row per horizon step, G values each. */
  projMean?: number[][];
  projVar?: number[][];
  /** Binary-cutoff projected loads, one row per horizon step. */
  projCut?: number[][];
  survival?: number[];
}

export function makeView(s: ViewSpec): RouterView {
  const G = s.kv.length;
  const arr = (x: number[] | undefined) => Float64Array.from(x ?? new Array(G).fill(0));
  const flat = (rows: number[][] | undefined) => Float64Array.from((rows ?? []).flat());
  return {
    G,
    waiting: arr(s.waiting),
    running: arr(s.running),
    kvTokens: arr(s.kv),
    queuedTokens: arr(s.queued),
    kvUsage: arr(s.kvUsage),
    inflight: arr(s.inflight),
    kvCapacity: s.kvCapacity ?? 100_000,
    horizonSteps: Float64Array.from(s.horizonSteps ?? []),
    projMean: flat(s.projMean),
    projVar: s.projVar ? flat(s.projVar) : new Float64Array((s.projMean ?? []).flat().length),
    projCut: flat(s.projCut),
    outputSurvival: Float64Array.from(s.survival ?? [1]),
  };
}

/** A request resident on a rank: current KV load w and age a (tokens generated). */
export interface Resident {
  w: number;
  a: number;
}

/**
 * The engine's projection rule (routers/types.ts): q = S(floor(a+h))/S(a), mean += q(w+h),
 * var += q(1-q)(w+h)^2. Returns rows [step][rank].
 */
export function project(ranks: Resident[][], steps: number[], surv: number[]): { projMean: number[][]; projVar: number[][] } {
  const S = (i: number) => (i < surv.length ? surv[i] : 0);
  const projMean = steps.map(() => ranks.map(() => 0));
  const projVar = steps.map(() => ranks.map(() => 0));
  steps.forEach((h, j) => {
    ranks.forEach((rs, g) => {
      for (const r of rs) {
        const sa = S(r.a);
        const q = sa > 0 ? S(Math.floor(r.a + h)) / sa : h === 0 ? 1 : 0;
        projMean[j][g] += q * (r.w + h);
        projVar[j][g] += q * (1 - q) * (r.w + h) ** 2;
      }
    });
  });
  return { projMean, projVar };
}

/** Deterministic small LCG for building random test views (not the router RNG). */
export function testRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
