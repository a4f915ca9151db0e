import type { Scenario } from '../../config/scenario.ts';
import type { RequestLog, RunResult } from '../types.ts';
import type { Workload } from '../../workload/types.ts';
import { resolveStepModel } from '../../model/presets.ts';
import { getWorkload } from '../../workload/build.ts';
import { simulate, type RequestDetail } from './simulate.ts';
import { simulatePd } from '../pd/simulatePd.ts';
import { goodputOf } from '../../metrics/goodput.ts';

/**
 * Resolve a scenario's workload and step model (both memoised) and simulate it. `fastForward`
 * (default on) only changes the speed, never a number (test/engine/differential.test.ts).
 */
export function runScenario(sc: Scenario, opts: { fastForward?: boolean } = {}): RunResult {
  const model = resolveStepModel(sc.model);
  const wl = getWorkload(sc.workload);
  // topology pd composes a prefill pool and a decode group (src/engine/pd; no early stop there).
  const out =
    (sc.topology ?? 'colocated') === 'pd'
      ? simulatePd(sc, wl, model, { fastForward: opts.fastForward })
      : simulate(sc, wl, model, { detail: sc.timeseries || sc.goodput !== undefined, fastForward: opts.fastForward, stopWhen: sc.stopWhen });
  const d = out.requests;
  const goodput = sc.goodput && d ? goodputOf(sc.goodput, wl, d, out.metrics.makespan_s) : undefined;
  const requests = d && sc.timeseries && requestLogOf(wl, d, true);
  const result: RunResult = { scenario: sc, metrics: out.metrics, timeseries: out.timeseries, requests: requests || undefined, goodput };
  if ('stoppedEarly' in out && out.stoppedEarly) result.stoppedEarly = true;
  if ('ttftParts' in out) {
    result.pdTtftMs = out.ttftParts;
    if (requests) {
      requests.prefill_instance = out.pd.prefillInstance;
      requests.prefill_end_us = out.pd.prefillEndUs;
      requests.transfer_start_us = out.pd.transferStartUs;
      requests.transfer_end_us = out.pd.transferEndUs;
      requests.decode_admit_us = out.pd.decodeAdmitUs;
    }
  }
  return result;
}

/** The per-request log of a simulation's detail; `copy` keeps the workload's arrays unshared. */
export function requestLogOf(wl: Workload, d: RequestDetail, copy = false): RequestLog {
  return {
    arrival_us: copy ? wl.arrivalUs.slice() : wl.arrivalUs,
    prompt: copy ? wl.prompt.slice() : wl.prompt,
    output: copy ? wl.output.slice() : wl.output,
    status: d.status,
    rank: d.rank,
    admit_us: d.admitUs,
    queued_us: d.queuedUs,
    scheduled_us: d.scheduledUs,
    first_token_us: d.firstTokenUs,
    end_us: d.endUs,
  };
}
