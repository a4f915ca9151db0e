// Goodput (DistServe, Zhong et al., OSDI 2024): the rate of requests that meet the SLO, counted per
// request — a completed request is good when its own TTFT, TPOT, E2E latency and queueing delay are
// each within the limits given. Computed from the per-request times of one run.
import type { GoodputLimits } from '../config/scenario.ts';
import type { Goodput } from '../engine/types.ts';
import type { Workload } from '../workload/types.ts';

/** Per-request times in µs as simulate(..., { detail: true }) returns them. */
export interface RequestTimes {
  status: Uint8Array;
  admitUs: Float64Array;
  firstTokenUs: Float64Array;
  endUs: Float64Array;
}

/** status code of a completed request (simulate's REQUEST_COMPLETED). */
const COMPLETED = 4;

export function goodputOf(limits: GoodputLimits, wl: Pick<Workload, 'n' | 'arrivalUs' | 'output'>, d: RequestTimes, makespanS: number): Goodput {
  const ttft = (limits.ttft ?? Infinity) * 1000;
  const tpot = (limits.tpot ?? Infinity) * 1000;
  const e2e = (limits.e2e ?? Infinity) * 1000;
  const queue = (limits.queue ?? Infinity) * 1000;
  let good = 0;
  for (let i = 0; i < wl.n; i++) {
    if (d.status[i] !== COMPLETED) continue;
    const a = wl.arrivalUs[i];
    const out = wl.output[i];
    // TPOT of a one-token output is undefined; such a request only has the other limits.
    const perToken = out > 1 ? (d.endUs[i] - d.firstTokenUs[i]) / (out - 1) : 0;
    if (d.firstTokenUs[i] - a <= ttft && perToken <= tpot && d.endUs[i] - a <= e2e && d.admitUs[i] - a <= queue) good++;
  }
  return { goodput_req_s: makespanS > 0 ? good / makespanS : 0, slo_attainment: wl.n > 0 ? good / wl.n : 0 };
}
