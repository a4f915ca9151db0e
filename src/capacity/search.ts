// SLO capacity search: for each configuration (everything but the rate fixed), the largest request
// rate at which the SLO holds. Every round evaluates the pending rates of ALL configurations as one
// batch, so an engine that runs many configurations at once (the GPU engine) sees one large dispatch
// series per round rather than one small run per step of a bisection.
//
// Per configuration the search keeps a bracket [lo, hi]: the SLO holds at lo and fails at hi.
// 1. Bracket: with --min-rate and --max-rate, a geometric grid of GRID_POINTS rates from min to max
//    in one round; without them, from the configuration's own rate, ×2 up (or ÷2 down) per round
//    until the SLO changes, within [DEFAULT_MIN_RATE, DEFAULT_MAX_RATE].
// 2. Refine: REFINE_POINTS rates inside each bracket per round (geometric while hi/lo > 2, else
//    even), until (hi − lo) ≤ tolerance · lo. The bracket shrinks by REFINE_POINTS + 1 per round.
// The capacity is the final lo. Where the SLO holds at some rates and fails at lower ones (noise
// near the knee), the first failure from below decides: the capacity is the largest rate below
// which every evaluated rate met the SLO.
import type { Scenario } from '../config/scenario.ts';
import type { RunMetrics } from '../metrics/types.ts';
import { meetsSlo, type Slo } from './slo.ts';
import { canStopEarly } from '../engine/cpu/earlyStop.ts';

export const GRID_POINTS = 8;
export const REFINE_POINTS = 3;
export const DEFAULT_MIN_RATE = 1 / 64;
export const DEFAULT_MAX_RATE = 65_536;
const STEP_FACTOR = 2;
/** Rounds are bounded: even a 1e-6 tolerance over [1/64, 65536] converges in under 20. */
const MAX_ROUNDS = 60;

export interface CapacityOptions {
  slo: Slo;
  /** Lower end of the search; the SLO failing here gives capacity 0 (status below_min). */
  minRate?: number;
  /** Upper end; the SLO holding here gives capacity = maxRate (status at_max). */
  maxRate?: number;
  /** Relative width of the final bracket, e.g. 0.01. */
  tolerance: number;
  /**
   * Arrival window in seconds: at rate r a configuration simulates round(r · window) requests (at
   * least MIN_WINDOW_REQUESTS), so every rate is observed for the same span of time. 'base' takes
   * each configuration's own requests / rate; 'fixed' keeps its request count at every rate.
   * Trace replays always keep their requests.
   */
  window: number | 'base' | 'fixed';
  /**
   * Let the engine stop an evaluation once its SLO miss is certain (default true; docs/capacity.md,
   * "Early stop"). Capacities and reported metrics are the same either way: only evaluations that
   * fail are stopped, and never one at the minimum rate (whose metrics a below_min row reports).
   */
  earlyStop?: boolean;
}

/** Fewest requests a windowed evaluation simulates (percentiles need a sample). */
export const MIN_WINDOW_REQUESTS = 50;

export type CapacityStatus = 'ok' | 'below_min' | 'at_max';

export interface CapacityResult {
  /** The configuration with `workload.rate` = the capacity (the lowest rate tried when below_min). */
  scenario: Scenario;
  /** Largest rate meeting the SLO, req/s; 0 when the SLO fails at the minimum rate. */
  capacity: number;
  status: CapacityStatus;
  /** Final bracket: SLO met at lo (null if never), failed at hi (null if never). */
  lo: number | null;
  hi: number | null;
  /** Simulations spent on this configuration. */
  simulations: number;
  /** Metrics at `scenario.workload.rate`. */
  metrics: RunMetrics;
}

export interface CapacityProgress {
  round: number;
  /** Configurations still searching. */
  pending: number;
  total: number;
  simulations: number;
}

/** One evaluation: its metrics, and whether the engine stopped it early (its SLO then fails). */
export interface Evaluation {
  metrics: RunMetrics;
  stoppedEarly?: boolean;
}

/** Evaluates a batch of configurations; returns their evaluations in order. */
export type BatchRunner = (scenarios: Scenario[]) => Promise<Evaluation[]>;

/** What a search cost. */
export interface SearchTotals {
  simulations: number;
  rounds: number;
  /** Simulations the engine stopped early (verdict decided: SLO missed). */
  stoppedEarly: number;
  /** Requests simulated: the whole stream of a full run, the ended requests of a stopped one. */
  simulatedRequests: number;
}

interface UnitState {
  base: Scenario;
  lo: number | null;
  hi: number | null;
  loMetrics: RunMetrics | null;
  /** Metrics at the lowest rate evaluated (reported when the SLO never holds). */
  lowest: { rate: number; metrics: RunMetrics } | null;
  sims: number;
  /** Bracketing direction without explicit bounds: +1 up, −1 down, 0 = bracketed or done. */
  dir: number;
  next: number;
  done: boolean;
}

/** The rates to try inside (lo, hi), ascending. */
export function refinePoints(lo: number, hi: number, k = REFINE_POINTS): number[] {
  const out: number[] = [];
  const geometric = hi / lo > 2;
  for (let i = 1; i <= k; i++) {
    const f = i / (k + 1);
    out.push(geometric ? lo * Math.pow(hi / lo, f) : lo + (hi - lo) * f);
  }
  return out;
}

/** `n` rates from a to b inclusive, evenly spaced in log scale. */
export function geometricGrid(a: number, b: number, n = GRID_POINTS): number[] {
  if (n === 1) return [a];
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? b : a * Math.pow(b / a, i / (n - 1))));
}

const converged = (u: UnitState, tol: number) => u.lo !== null && u.hi !== null && u.hi - u.lo <= tol * u.lo;

/**
 * The configuration at `rate`. With a window, the request count follows the rate; a longer stream
 * of one seed extends the shorter one (src/workload/build.ts), so rates stay paired.
 */
export function withRate(sc: Scenario, rate: number, index: number, window: CapacityOptions['window'] = 'fixed'): Scenario {
  const w = window === 'base' ? (sc.workload.rate > 0 && sc.workload.requests > 0 ? sc.workload.requests / sc.workload.rate : null) : window === 'fixed' ? null : window;
  const windowed = w !== null && sc.workload.source !== 'trace';
  const requests = windowed ? Math.max(MIN_WINDOW_REQUESTS, Math.round(rate * w)) : sc.workload.requests;
  return { ...sc, index, timeseries: false, workload: { ...sc.workload, rate, requests } };
}

// Long on purpose: the search's rounds (bracket, refine, verdict) over every configuration at once
// share one batch of engine calls per round.
/** Search the capacity of every configuration (their `workload.rate` is only a starting point). */
export async function searchCapacity(
  configs: readonly Scenario[],
  run: BatchRunner,
  opts: CapacityOptions,
  onProgress?: (p: CapacityProgress) => void,
): Promise<{ results: CapacityResult[] } & SearchTotals> {
  const minRate = opts.minRate ?? DEFAULT_MIN_RATE;
  const maxRate = opts.maxRate ?? DEFAULT_MAX_RATE;
  const explicit = opts.minRate !== undefined && opts.maxRate !== undefined;
  const units: UnitState[] = configs.map((base) => {
    const start = Math.min(maxRate, Math.max(minRate, base.workload.rate > 0 ? base.workload.rate : 1));
    return { base, lo: null, hi: null, loMetrics: null, lowest: null, sims: 0, dir: explicit ? 0 : 1, next: start, done: false };
  });
  let simulations = 0;
  let rounds = 0;
  let stoppedEarly = 0;
  let simulatedRequests = 0;
  const stopBounds = opts.earlyStop === false ? [] : opts.slo.bounds.filter((b) => canStopEarly(b.metric)).map((b) => ({ metric: b.metric, bound: b.bound }));

  const evaluate = async (jobs: { u: UnitState; rate: number }[]): Promise<boolean[]> => {
    const evals = await run(
      jobs.map((j, i) => {
        const sc = withRate(j.u.base, j.rate, i, opts.window);
        // Not at the minimum rate: a below_min row reports the metrics measured there.
        return stopBounds.length > 0 && j.rate > minRate ? { ...sc, stopWhen: stopBounds } : sc;
      }),
    );
    simulations += jobs.length;
    rounds++;
    return jobs.map((j, i) => {
      const { metrics: m, stoppedEarly: stopped } = evals[i];
      j.u.sims++;
      if (stopped) {
        stoppedEarly++;
        simulatedRequests += m.completed + m.failed;
      } else {
        simulatedRequests += m.requests;
        if (!j.u.lowest || j.rate < j.u.lowest.rate) j.u.lowest = { rate: j.rate, metrics: m };
      }
      (j as { m?: RunMetrics }).m = m;
      return !stopped && meetsSlo(m, opts.slo);
    });
  };
  const report = () => onProgress?.({ round: rounds, pending: units.filter((u) => !u.done).length, total: units.length, simulations });

  // 1. Bracket.
  if (explicit) {
    const grid = geometricGrid(minRate, maxRate);
    const jobs = units.flatMap((u) => grid.map((rate) => ({ u, rate })));
    const ok = await evaluate(jobs);
    units.forEach((u, ui) => {
      const base = ui * grid.length;
      let k = 0;
      while (k < grid.length && ok[base + k]) k++;
      if (k > 0) {
        u.lo = grid[k - 1];
        u.loMetrics = (jobs[base + k - 1] as { m?: RunMetrics }).m!;
      }
      u.hi = k < grid.length ? grid[k] : null;
    });
  } else {
    // Walk from the starting rate by STEP_FACTOR until the SLO changes or a bound is reached.
    for (let i = 0; i < MAX_ROUNDS; i++) {
      const pending = units.filter((u) => u.dir !== 0);
      if (pending.length === 0) break;
      const jobs = pending.map((u) => ({ u, rate: u.next }));
      const ok = await evaluate(jobs);
      jobs.forEach((j, k) => {
        const u = j.u;
        if (ok[k]) {
          if (u.lo === null || j.rate > u.lo) {
            u.lo = j.rate;
            u.loMetrics = (j as { m?: RunMetrics }).m!;
          }
          if (u.hi !== null || j.rate >= maxRate) u.dir = 0;
          else u.next = Math.min(maxRate, j.rate * STEP_FACTOR);
        } else {
          u.hi = j.rate;
          // Metrics at a passing lower rate would be stale if a lower rate fails later: drop them.
          if (u.lo !== null && u.lo >= j.rate) {
            u.lo = null;
            u.loMetrics = null;
          }
          if (u.lo !== null || j.rate <= minRate) u.dir = 0;
          else {
            u.dir = -1;
            u.next = Math.max(minRate, j.rate / STEP_FACTOR);
          }
        }
      });
      report();
    }
  }
  for (const u of units) if (u.lo === null || u.hi === null) u.done = true;
  if (explicit) report();

  // 2. Refine every open bracket, all configurations per round.
  for (let i = 0; i < MAX_ROUNDS; i++) {
    const open = units.filter((u) => !u.done && !converged(u, opts.tolerance));
    for (const u of units) if (!u.done && converged(u, opts.tolerance)) u.done = true;
    if (open.length === 0) break;
    const jobs = open.flatMap((u) => refinePoints(u.lo!, u.hi!).map((rate) => ({ u, rate })));
    const ok = await evaluate(jobs);
    let at = 0;
    for (const u of open) {
      for (let k = 0; k < REFINE_POINTS; k++, at++) {
        if (u.hi !== null && jobs[at].rate >= u.hi) continue; // already failed lower in this round
        if (ok[at]) {
          u.lo = jobs[at].rate;
          u.loMetrics = (jobs[at] as { m?: RunMetrics }).m!;
        } else u.hi = jobs[at].rate;
      }
    }
    report();
  }

  const results = units.map((u): CapacityResult => {
    if (u.lo === null) {
      const low = u.lowest;
      // A below_min search evaluated the minimum rate, which is never stopped early.
      if (!low) throw new Error(`capacity: configuration ${u.base.index} has no full evaluation at its lowest rate`);
      return { scenario: withRate(u.base, low.rate, u.base.index, opts.window), capacity: 0, status: 'below_min', lo: null, hi: u.hi, simulations: u.sims, metrics: low.metrics };
    }
    return {
      scenario: withRate(u.base, u.lo, u.base.index, opts.window),
      capacity: u.lo,
      status: u.hi === null ? 'at_max' : 'ok',
      lo: u.lo,
      hi: u.hi,
      simulations: u.sims,
      metrics: u.loMetrics!,
    };
  });
  return { results, simulations, rounds, stoppedEarly, simulatedRequests };
}
