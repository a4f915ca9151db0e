// Goodput (DistServe, Zhong et al., OSDI 2024): the rate of requests that meet the SLO, counted per
// request — a completed request is good when its own TTFT, TPOT, E2E latency and queueing delay are
// each within the limits given. Computed from the per-request times of one run.
import { RequestStatus } from './requestStatus.ts';

/** Per-request limits in ms of the request's TTFT, TPOT, E2E latency and queueing delay. */
export type GoodputLimits = Partial<Record<'ttft' | 'tpot' | 'e2e' | 'queue', number>>;

/** Requests that met the per-request SLO (scenario.goodput). */
export interface Goodput {
  /** Good requests per second of makespan. */
  goodput_req_s: number;
  /** Good requests as a fraction of all requests of the stream. */
  slo_attainment: number;
}

/** The request stream's arrivals and true output lengths (a Workload has these fields). */
export interface GoodputStream {
  n: number;
  arrivalUs: ArrayLike<number>;
  output: ArrayLike<number>;
}

/** Per-request times in µs as simulate(..., { detail: true }) returns them. */
export interface RequestTimes {
  status: Uint8Array;
  admitUs: Float64Array;
  firstTokenUs: Float64Array;
  endUs: Float64Array;
}


export function goodputOf(limits: GoodputLimits, wl: GoodputStream, d: RequestTimes, makespanS: number): Goodput {
  const ttft = (limits.ttft ?? Infinity) * 1000;
  const tpot = (limits.tpot ?? Infinity) * 1000;
  const e2e = (limits.e2e ?? Infinity) * 1000;
  const queue = (limits.queue ?? Infinity) * 1000;
  let good = 0;
  for (let i = 0; i < wl.n; i++) {
    if (d.status[i] !== RequestStatus.COMPLETED) continue;
    const a = wl.arrivalUs[i];
    const out = wl.output[i];
    // TPOT of a one-token output is undefined; such a request only has the other limits.
    const perToken = out > 1 ? (d.endUs[i] - d.firstTokenUs[i]) / (out - 1) : 0;
    if (d.firstTokenUs[i] - a <= ttft && perToken <= tpot && d.endUs[i] - a <= e2e && d.admitUs[i] - a <= queue) good++;
  }
  return { goodput_req_s: makespanS > 0 ? good / makespanS : 0, slo_attainment: wl.n > 0 ? good / wl.n : 0 };
}
