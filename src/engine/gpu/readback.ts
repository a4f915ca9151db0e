/**
 * Turning a chunk's read-back words into result rows with the CPU engine's own code
 * (LatencyHistograms + summarize), so percentiles are defined identically; every internal error
 * code and every disagreement between totals and per-request outcomes fails loudly.
 */
import { type LatencyHistograms, newCounters, summarize } from '../../metrics/summary.ts';
import type { RequestLog, RunResult } from '../types.ts';
import { GpuError } from './gpuError.ts';
import { L } from './layout.ts';
import type { ChunkPlan, GpuConfig } from './types.ts';

/**
 * The per-request log of configuration c (the CPU engine's RequestLog: µs, -1 where a request
 * never reached that point): what the equivalence suite compares request by request.
 */
function requestLogOf(
  gc: GpuConfig,
  c: number,
  R: (f: number, r: number, c: number) => number,
  R64: (f: number, r: number, c: number) => number,
): RequestLog {
  const wl = gc.wl;
  const n = wl.n;
  const time = (f: number) => {
    const a = new Float64Array(n);
    for (let r = 0; r < n; r++) a[r] = R(f + 1, r, c) === L.NONE ? -1 : R64(f, r, c);
    return a;
  };
  const status = new Uint8Array(n);
  const rank = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    status[r] = R(L.R_STATUS, r, c);
    const g = R(L.R_RANK, r, c);
    rank[r] = g === L.NONE ? -1 : g;
  }
  return {
    arrival_us: wl.arrivalUs.slice(),
    prompt: wl.prompt.slice(),
    output: wl.output.slice(),
    status,
    rank,
    admit_us: time(L.R_ADMIT_LO),
    queued_us: time(L.R_QUEUED_LO),
    scheduled_us: time(L.R_SCHED_AT_LO),
    first_token_us: time(L.R_FIRST_LO),
    end_us: time(L.R_END_LO),
  };
}

/** Turn one chunk's read-back words into result rows (the CPU engine's summarize()). */
export function collectChunk(
  plan: ChunkPlan,
  cfg: Uint32Array,
  reqs: Uint32Array,
  wallMs: number,
  results: Map<number, RunResult>,
  hist: LatencyHistograms,
  kernel: string,
  chunk: string,
  requestLog = false,
): void {
  const C = plan.dims.C;
  const maxN = Math.max(1, plan.dims.maxN);
  const S = (f: number, c: number) => cfg[f * C + c];
  const S64 = (f: number, c: number) => cfg[f * C + c] + cfg[(f + 1) * C + c] * 2 ** 32;
  const R = (f: number, r: number, c: number) => reqs[(f * maxN + r) * C + c];
  const R64 = (f: number, r: number, c: number) => R(f, r, c) + R(f + 1, r, c) * 2 ** 32;
  const fix = 2 ** L.FIX_BITS;
  const h = hist;
  plan.configs.forEach((gc, c) => {
    const where = `configuration ${gc.sc.index} (${gc.sc.router}, G ${gc.sc.dp})`;
    const err = S(L.S_ERROR, c);
    if (err !== L.ERR_NONE) {
      const what =
        err === L.ERR_STALLED ? 'the simulation stalled (no runnable request and no arrival left)'
          : err === L.ERR_BAD_RANK ? 'the router returned a rank outside [0, G)'
            : err === L.ERR_STEP_OVERFLOW ? 'a step time overflowed 32 bits'
              : `internal error code ${err}`;
      throw new GpuError(kernel, chunk, `${where}: ${what}`);
    }
    if (S(L.S_DONE, c) !== 1) throw new GpuError(kernel, chunk, `${where} did not finish`);
    const wl = gc.wl;
    const n = wl.n;
    h.reset(gc.model.frontend);
    let completed = 0;
    let failed = 0;
    let outputTokens = 0;
    let lastEventUs = 0;
    for (let r = 0; r < n; r++) {
      const st = R(L.R_STATUS, r, c);
      const end = R64(L.R_END_LO, r, c);
      if (st === L.ST_DONE) {
        completed++;
        outputTokens += wl.output[r];
        h.recordCompleted(wl.arrivalUs[r], R64(L.R_ADMIT_LO, r, c), R64(L.R_FIRST_LO, r, c), end, wl.output[r], R64(L.R_QUEUED_LO, r, c), R64(L.R_SCHED_AT_LO, r, c));
      } else if (st === L.ST_FAILED) {
        failed++;
      } else {
        throw new GpuError(kernel, chunk, `${where}: request ${r} ended in state ${st} (neither completed nor failed)`);
      }
      if (end > lastEventUs) lastEventUs = end;
    }
    const counters = newCounters(n);
    counters.completed = S(L.S_COMPLETED, c);
    counters.failedRejected = S(L.S_FAILED_REJECTED, c);
    counters.failedTimeout = S(L.S_FAILED_TIMEOUT, c);
    if (completed !== counters.completed || failed !== counters.failedRejected + counters.failedTimeout) {
      throw new GpuError(kernel, chunk, `${where}: totals disagree with the per-request outcomes`);
    }
    counters.preemptions = S(L.S_PREEMPTIONS, c);
    counters.outputTokens = outputTokens;
    counters.steps = S(L.S_STEPS, c);
    counters.busyUs = S64(L.S_BUSY_LO, c);
    counters.imbalanceAcc = S64(L.S_IMB_LO, c) / fix;
    counters.balanceAcc = S64(L.S_BAL_LO, c) / fix;
    counters.tokenBalanceAcc = S64(L.S_TOKBAL_LO, c) / 2 ** L.TOKBAL_BITS;
    counters.loadWeightUs = S64(L.S_LOAD_WEIGHT_LO, c);
    counters.sumRankUs = S64(L.S_SUM_RANK_LO, c);
    counters.sumMaxRankUs = S64(L.S_SUM_MAX_LO, c);
    counters.inSystemAreaUs = S64(L.S_AREA_LO, c);
    counters.firstArrivalUs = n > 0 ? wl.arrivalUs[0] : 0;
    counters.lastEventUs = lastEventUs;
    counters.asyncScheduling = gc.asyncScheduling;
    const requests = requestLog ? requestLogOf(gc, c, R, R64) : undefined;
    results.set(gc.pos, { scenario: gc.sc, metrics: summarize(counters, h, wallMs), requests });
  });
}
