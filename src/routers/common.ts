// Small helpers shared by the routers. Kept allocation-free: they run once per routed request.
import { pcgSeed } from '../rng.ts';
import type { ProjectionSpec, RouterDef, RouterParams, RouterView } from './types.ts';

/** Load of rank g in tokens: KV resident plus prompt tokens queued (integer-valued). */
export function loadOf(view: RouterView, g: number): number {
  return view.kvTokens[g] + view.queuedTokens[g];
}

/** Index of the smallest load; ties -> lowest index. Integer comparisons only. */
export function argminLoad(view: RouterView): number {
  let best = 0;
  let bestL = loadOf(view, 0);
  for (let g = 1; g < view.G; g++) {
    const L = loadOf(view, g);
    if (L < bestL) {
      bestL = L;
      best = g;
    }
  }
  return best;
}

/**
 * P(a new request is still running h steps after it starts), as the engine projects it:
 * S(floor(h)) / S(0), with S = 0 past the end of the table. When S(0) is 0 (or the table is
 * empty) the request counts only at h = 0. Using the engine's exact rule keeps a router's estimate
 * of the newcomer identical to what the bookkeeping adds once it is placed.
 */
export function newRequestSurvival(surv: Float64Array, h: number): number {
  const s0 = surv.length > 0 ? surv[0] : 0;
  if (!(s0 > 0)) return h === 0 ? 1 : 0;
  const i = Math.floor(h);
  return i < surv.length ? surv[i] / s0 : 0;
}

/** Read a numeric knob that resolveRouterParams has already validated. */
export function num(params: RouterParams, name: string): number {
  return Number(params[name]);
}

/** Read an enum knob that resolveRouterParams has already validated. */
export function str(params: RouterParams, name: string): string {
  return String(params[name]);
}

/** Shared no-op pieces for routers without horizon or state. */
export const noHorizon = (): number[] => [];
export const alwaysInteger = (): boolean => true;
export const neverInteger = (): boolean => false;
const NO_PROJECTION: ProjectionSpec = { kind: 'none' };

/** Definitions made by defineRouter: what the registry registers from a module's exports. */
const defined = new WeakSet<RouterDef>();

/** Whether `x` is a router definition made by defineRouter (src/routers/index.ts registers those). */
export function isRouterDef(x: unknown): x is RouterDef {
  return typeof x === 'object' && x !== null && defined.has(x as RouterDef);
}

/**
 * A router definition with the common defaults filled in, so each router file states only what
 * is its own: no knobs, no horizon, no projection, and state words zeroed at init — or, with
 * `stream`, word 0 seeded as the PCG state pcgSeed(run seed, stream). Exporting the result from
 * a module of src/routers/ is what registers the router.
 */
export function defineRouter(
  d: Pick<RouterDef, 'name' | 'description' | 'integerScored' | 'route'> &
    Partial<Pick<RouterDef, 'order' | 'knobs' | 'horizon' | 'projection' | 'init' | 'wgsl' | 'requiresDispatch' | 'queueOrder' | 'noWgslReason' | 'reads'>> & {
      stream?: number;
    },
): RouterDef {
  const stream = d.stream;
  const def: RouterDef = {
    name: d.name,
    order: d.order,
    description: d.description,
    knobs: d.knobs ?? [],
    integerScored: d.integerScored,
    wgsl: d.wgsl,
    requiresDispatch: d.requiresDispatch,
    queueOrder: d.queueOrder,
    noWgslReason: d.noWgslReason,
    reads: d.reads,
    horizon: d.horizon ?? noHorizon,
    projection: d.projection ?? (() => NO_PROJECTION),
    init:
      d.init ??
      ((state, seed) => {
        state.fill(0);
        if (stream !== undefined) state[0] = pcgSeed(seed, stream);
      }),
    route: d.route,
  };
  defined.add(def);
  return def;
}

/**
 * The rank with the best score (the highest when `highest`, else the lowest) among scores[0..G);
 * exact ties -> lower current load, then lower index (the BalanceRoute routers' rule).
 */
export function bestScoreRank(view: RouterView, scores: Float64Array, highest: boolean): number {
  let best = 0;
  let bestS = scores[0];
  let bestL = loadOf(view, 0);
  for (let g = 1; g < view.G; g++) {
    const S = scores[g];
    const L = loadOf(view, g);
    if ((highest ? S > bestS : S < bestS) || (S === bestS && L < bestL)) {
      best = g;
      bestS = S;
      bestL = L;
    }
  }
  return best;
}

/** Grow-only per-rank score buffer, separate from scratchBuffer (routers run one at a time). */
let scores = new Float64Array(64);
export function scoreBuffer(G: number): Float64Array {
  if (scores.length < G) scores = new Float64Array(Math.max(G, scores.length * 2));
  return scores;
}

/** Ascending distinct integers (horizon offsets) from any list. */
export function distinctSteps(xs: number[]): number[] {
  const out = [...xs].sort((a, b) => a - b);
  return out.filter((x, i) => i === 0 || x !== out[i - 1]);
}

/** Grow-only scratch buffer (routers run one at a time on one thread, so sharing is safe). */
let scratch = new Float64Array(64);
export function scratchBuffer(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}
