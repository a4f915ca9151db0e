/**
 * CPU reference engine: simulates one configuration exactly as docs/model.md specifies. This is
 * the oracle every other engine is compared against. It is a thin driver over the engine core
 * (src/engine/core): submit the workload, then step the core until every request has ended,
 * jumping over idle stretches and — by default — fast-forwarding decode-only stretches.
 */
import type { Scenario } from '../../config/scenario.ts';
import type { RunMetrics, TimeSeries } from '../../metrics/types.ts';
import { LatencyHistograms, summarize } from '../../metrics/summary.ts';
import type { StepModel } from '../../model/types.ts';
import type { Workload } from '../../workload/types.ts';
import { EngineCore, type RequestDetail } from '../core/engineCore.ts';
import { stopPredicate, type StopBound, type StopPredicate } from './earlyStop.ts';
import { makeDoubleFields } from '../../doubleFields.ts';

export { REQUEST_COMPLETED, REQUEST_FAILED, type RequestDetail } from '../core/engineCore.ts';

export interface SimulationOutput {
  metrics: RunMetrics;
  /** Steps advanced by the decode fast-forward (0 with it off). */
  fastForwardedSteps: number;
  /** Of those, steps advanced in O(1) each from the upper envelopes of the ranks' affine step times. */
  envelopeSteps: number;
  /** Changes of the line on top of those envelopes (a diagnostic). */
  envelopeSwitches: number;
  /** Of the envelope steps, those with events taken inside the stretch (a diagnostic). */
  stretchEventSteps: number;
  /** Boundaries at which arrivals were routed inside a stretch (a diagnostic). */
  stretchArrivals: number;
  /** Ranks that took an arrival hidden from the next pass on their line for that step (a diagnostic). */
  stretchJoins: number;
  /** Event-driven core: rank steps whose decoding requests went through the aggregates, and fallback steps (0 with it off). */
  aggregatedRankSteps: number;
  fallbackRankSteps: number;
  timeseries?: TimeSeries;
  requests?: RequestDetail;
  /**
   * The run was stopped by `SimulateOptions.stopWhen` once its SLO verdict was decided (a miss):
   * the metrics are those of the partial run and must not be reported.
   */
  stoppedEarly: boolean;
}

export interface SimulateOptions {
  /** Return per-request outcomes. */
  detail?: boolean;
  /**
   * Advance event-free decode-only stretches from aggregates instead of step by step (default
   * true). Results are identical either way (test/engine/differential.test.ts); off is the plain
   * step-by-step loop.
   */
  fastForward?: boolean;
  /**
   * Apply each group step's tokens while its ranks are scheduled, one walk over the running
   * requests per step instead of two (default true; EngineCoreOptions.applyAtSchedule). Results
   * are identical either way (test/engine/differential.test.ts).
   */
  applyAtSchedule?: boolean;
  /**
   * Event-driven core (default true, with applyAtSchedule): each rank's decoding requests kept as
   * aggregates, O(ranks + events) per step (EngineCoreOptions.eventCore, docs/model.md §7.1).
   * Results are identical either way (test/engine/differential.test.ts).
   */
  eventCore?: boolean;
  /**
   * Take completions and sparse arrivals inside decode stretches (default true;
   * EngineCoreOptions.stretchEvents). Off with stopWhen. Results are identical either way.
   */
  stretchEvents?: boolean;
  /**
   * Stop as soon as these SLO bounds are certain to be missed (src/engine/cpu/earlyStop.ts; used by
   * `capacity`). Absent (or with no bound that can decide early), the loop is unchanged.
   */
  stopWhen?: readonly StopBound[];
}

/** Histograms reused across runs on one thread (they are large and reset cheaply). */
const hist = new LatencyHistograms();

export function simulate(sc: Scenario, wl: Workload, model: StepModel, opts: SimulateOptions = {}): SimulationOutput {
  const t0 = performance.now();
  const n = wl.n;
  const stop = opts.stopWhen ? stopPredicate(opts.stopWhen, n, hist) : undefined;
  const core = new EngineCore(sc, model, {}, {
    capacityHint: n,
    outputSurvival: wl.outputSurvival,
    timeseries: sc.timeseries,
    histograms: hist,
    applyAtSchedule: opts.applyAtSchedule ?? true,
    eventCore: opts.eventCore ?? true,
    // The early stop decides at boundaries: a stretch through events could run to the end.
    stretchEvents: (opts.stretchEvents ?? true) && stop === undefined,
  });
  const q = { promptTokens: 0, outputTokens: 0, arrivalUs: 0 };
  makeDoubleFields(q, ['arrivalUs']);
  for (let i = 0; i < n; i++) {
    q.promptTokens = wl.prompt[i];
    q.outputTokens = wl.output[i];
    q.arrivalUs = wl.arrivalUs[i];
    core.submit(q);
  }
  if (core.independent) {
    const stopped = runIndependent(core, n > 0 ? wl.arrivalUs[0] : 0, stop);
    return finish(core, opts, t0, stopped);
  }
  const stopped = runBarrier(core, n > 0 ? wl.arrivalUs[0] : 0, opts.fastForward ?? true, stop);
  return finish(core, opts, t0, stopped);
}

/**
 * sync: barrier — step the group from `start` until every request has ended, jumping over idle
 * stretches and, with `ff`, fast-forwarding decode-only ones. Returns true when `stop` ended the
 * run early. (Also the decode group's driver under topology: pd, src/engine/pd.)
 */
export function runBarrier(core: EngineCore, start: number, ff: boolean, stop: StopPredicate | undefined): boolean {
  let now = start;
  let stopped = false;
  while (!core.done()) {
    if (stop !== undefined && stop(core, now)) {
      stopped = true;
      break;
    }
    const stepUs = core.beginStep(now);
    if (stepUs === 0) {
      // Nothing runnable: every rank is empty; jump to the next arrival.
      if (core.done()) break;
      const next = core.nextArrivalUs();
      if (next < 0) throw new Error(`simulation stalled at t=${now}µs with ${core.inSystem} requests in the system`);
      now = Math.max(now, next);
      continue;
    }
    if (ff) {
      const t = core.fastForward(now);
      if (t >= 0) {
        now = t;
        continue;
      }
    }
    now += stepUs;
    core.endStep(now);
  }
  return stopped;
}

function finish(core: EngineCore, opts: SimulateOptions, t0: number, stoppedEarly: boolean): SimulationOutput {
  const metrics = summarize(core.counters(), hist, performance.now() - t0);
  return {
    metrics,
    fastForwardedSteps: core.fastForwardedSteps,
    envelopeSteps: core.envelopeSteps,
    envelopeSwitches: core.envelopeSwitches,
    stretchEventSteps: core.stretchEventSteps,
    stretchArrivals: core.stretchArrivals,
    stretchJoins: core.stretchJoins,
    aggregatedRankSteps: core.ds?.aggregatedSteps ?? 0,
    fallbackRankSteps: core.ds?.fallbacks ?? 0,
    timeseries: core.timeseries(),
    requests: opts.detail ? core.detail() : undefined,
    stoppedEarly,
  };
}

/**
 * sync: independent — each rank on its own clock. Events are rank-step ends and arrivals; at an
 * event time, steps that end then are applied (in rank order), arrivals and timeouts are
 * processed, and every free rank with work starts its next step. Stepped one by one (no
 * fast-forward).
 */
export function runIndependent(core: EngineCore, start: number, stop: StopPredicate | undefined, onRankStep?: (g: number, us: number) => void): boolean {
  const G = core.G;
  const stepEnd = new Float64Array(G).fill(-1); // -1: no step in flight
  let now = start;
  while (!core.done()) {
    if (stop !== undefined && stop(core, now)) return true;
    for (let g = 0; g < G; g++) {
      if (stepEnd[g] === now) {
        core.endRankStep(g, now);
        stepEnd[g] = -1;
      }
    }
    core.process(now);
    for (let g = 0; g < G; g++) {
      if (stepEnd[g] < 0) {
        const d = core.beginRankStep(g, now);
        if (d > 0) {
          stepEnd[g] = now + d;
          if (onRankStep) onRankStep(g, d);
        }
      }
    }
    let next = Infinity;
    for (let g = 0; g < G; g++) if (stepEnd[g] >= 0 && stepEnd[g] < next) next = stepEnd[g];
    const a = core.nextArrivalUs();
    if (a >= 0 && a < next) next = a;
    if (next === Infinity) {
      if (core.done()) break;
      throw new Error(`simulation stalled at t=${now}µs with ${core.inSystem} requests in the system`);
    }
    now = Math.max(now, next);
  }
  return false;
}
