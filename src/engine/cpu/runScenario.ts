import type { Scenario } from '../../config/scenario.ts';
import type { RunResult } from '../types.ts';
import { resolveStepModel } from '../../model/presets.ts';
import { getWorkload } from '../../workload/build.ts';
import { simulate } from './simulate.ts';
import { goodputOf } from '../../metrics/goodput.ts';

/**
 * Resolve a scenario's workload and step model (both memoised) and simulate it. `fastForward`
 * (default on) only changes the speed, never a number (test/engine/differential.test.ts).
 */
export function runScenario(sc: Scenario, opts: { fastForward?: boolean } = {}): RunResult {
  const model = resolveStepModel(sc.model);
  const wl = getWorkload(sc.workload);
  const out = simulate(sc, wl, model, { detail: sc.timeseries || sc.goodput !== undefined, fastForward: opts.fastForward, stopWhen: sc.stopWhen });
  const d = out.requests;
  const goodput = sc.goodput && d ? goodputOf(sc.goodput, wl, d, out.metrics.makespan_s) : undefined;
  const requests = d && sc.timeseries && {
    arrival_us: wl.arrivalUs.slice(),
    prompt: wl.prompt.slice(),
    output: wl.output.slice(),
    status: d.status,
    rank: d.rank,
    admit_us: d.admitUs,
    queued_us: d.queuedUs,
    scheduled_us: d.scheduledUs,
    first_token_us: d.firstTokenUs,
    end_us: d.endUs,
  };
  const result: RunResult = { scenario: sc, metrics: out.metrics, timeseries: out.timeseries, requests: requests || undefined, goodput };
  if (out.stoppedEarly) result.stoppedEarly = true;
  return result;
}
