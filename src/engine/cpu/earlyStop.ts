/**
 * Early stop of a simulation whose SLO verdict is already decided (docs/capacity.md, "Early
 * stop"). Only verdicts that can no longer change are concluded:
 *
 * - A percentile column of a latency histogram (`ttft_p95_ms`, ...). The metric is the
 *   representative value of the bucket holding the rank-th smallest sample, rank =
 *   max(1, ceil(q/100 · m)) over the m samples recorded at the end (src/metrics/histogram.ts).
 *   bucketValue∘bucketOf is non-decreasing, so the metric exceeds the bound exactly when at least
 *   need(m) = m − rank(m) + 1 samples lie in buckets whose value exceeds it. Samples are only ever
 *   added (one per completed request) and m ≤ n (the stream's size, known up front), so once the
 *   samples already above the bound number at least max over m ≤ n of need(m), the final metric is
 *   above the bound whatever happens next: the run fails its SLO.
 * - `failed_frac`: failed / requests with requests = n fixed; failures only grow.
 *
 * - TTFT percentiles (`ttft_pXX_ms`, client-anchored) also count requests still waiting for their
 *   first token, when no routed request can fail (no client timeouts): once a request's TTFT
 *   with its first token at `now` would already lie above the bound, its final TTFT (first token
 *   at `now` or later) does too, and it will complete, so it is a late sample to come. Requests are
 *   visited once, in arrival order, when they cross that deadline; one that has its first token
 *   by then counts if its TTFT is above the bound.
 *
 * Means (and any metric that can come back down) never stop a run. Other in-flight requests are
 * not counted (a late request may still time out and leave the sample), so the rule is
 * conservative: it may stop later than possible, never wrongly.
 */
import { BUCKETS, bucketOf, bucketValue, type Histogram } from '../../metrics/histogram.ts';
import { FAILED } from '../core/state.ts';
import type { LatencyHistograms } from '../../metrics/summary.ts';
import type { EngineCore } from '../core/engineCore.ts';

/** One upper bound of an SLO, as plain data (it travels to worker threads with the scenario). */
export interface StopBound {
  metric: string;
  bound: number;
}

const PERCENTILE = /^(ttft|tpot|e2e|queue|ttft_engine|e2e_engine|request_queue_time|request_prefill_time)_p(50|90|95|99)_ms$/;

const HISTOGRAM: Record<string, (h: LatencyHistograms) => Histogram> = {
  ttft: (h) => h.ttft,
  tpot: (h) => h.tpot,
  e2e: (h) => h.e2e,
  queue: (h) => h.queue,
  ttft_engine: (h) => h.ttftEngine,
  e2e_engine: (h) => h.e2eEngine,
  request_queue_time: (h) => h.requestQueue,
  request_prefill_time: (h) => h.requestPrefill,
};

/** True when a bound on `metric` can decide a run before it ends (a percentile or failed_frac). */
export function canStopEarly(metric: string): boolean {
  return metric === 'failed_frac' || PERCENTILE.test(metric);
}

/**
 * A stop predicate for the driver, checked between steps; it reads the core and the histograms.
 * `nowUs`: the driver's time; every first token not yet stamped will be stamped at `nowUs` or later.
 */
export type StopPredicate = (core: EngineCore, nowUs: number) => boolean;

/**
 * Checks per run at most about this many times. A check rescans a histogram (a few thousand
 * buckets) only when enough samples arrived since its last scan to reach the count needed.
 */
const CHECKS = 256;

/**
 * The predicate for `bounds` over a stream of `n` requests, or undefined when no bound can stop a
 * run early (the driver then pays nothing).
 */
export function stopPredicate(bounds: readonly StopBound[], n: number, hist: LatencyHistograms): StopPredicate | undefined {
  const checks: { h: Histogram; from: number; need: number; ttft: boolean; ptr: number; late: number; scannedCount: number; scannedAbove: number }[] = [];
  let failLimit = Infinity;
  for (const b of bounds) {
    if (b.metric === 'failed_frac') {
      failLimit = Math.min(failLimit, b.bound);
      continue;
    }
    const m = PERCENTILE.exec(b.metric);
    if (!m) continue;
    const q = Number(m[2]);
    // First bucket whose value, as the metric reports it (µs / 1000), exceeds the bound.
    let from = 0;
    while (from < BUCKETS && bucketValue(from) / 1000 <= b.bound) from++;
    // need(m) = m − rank(m) + 1 with the histogram's own rank expression, maximised over m ≤ n.
    let need = 0;
    for (let k = 1; k <= n; k++) {
      const rank = Math.max(1, Math.ceil((q / 100) * k));
      if (k - rank + 1 > need) need = k - rank + 1;
    }
    checks.push({ h: HISTOGRAM[m[1]](hist), from, need, ttft: m[1] === 'ttft', ptr: 0, late: 0, scannedCount: 0, scannedAbove: 0 });
  }
  if (checks.length === 0 && failLimit === Infinity) return undefined;
  const stride = Math.max(1, Math.floor(n / CHECKS));
  let nextCheck = stride;
  let nextArrived = stride;
  return (core, nowUs) => {
    const failed = core.failedRejected + core.failedTimeout + core.aborted;
    const ended = core.completed + failed;
    const arrived = core.arrived;
    if (ended < nextCheck && arrived < nextArrived) return false;
    if (ended >= nextCheck) nextCheck = ended + stride;
    if (arrived >= nextArrived) nextArrived = arrived + stride;
    // Same expression as meetsSlo on failed_frac: it fails when !(failed / n <= bound).
    if (n > 0 && !(failed / n <= failLimit)) return true;
    const st = core.st;
    const waitingCounts = !core.routedCanFail;
    for (const c of checks) {
      if (c.ttft && waitingCounts) {
        // Requests past their TTFT deadline, visited once each in arrival order.
        const { arrival, status, firstUs } = st;
        while (c.ptr < arrived && bucketOf(hist.ttftUs(arrival[c.ptr], nowUs)) >= c.from) {
          const r = c.ptr++;
          if (status[r] === FAILED) continue; // rejected at arrival: not a sample
          if (firstUs[r] < 0 || bucketOf(hist.ttftUs(arrival[r], firstUs[r])) >= c.from) c.late++;
        }
        if (c.late >= c.need) return true;
      }
      // Samples above the bound grow by at most the samples added since the last scan.
      if (c.h.count - c.scannedCount < c.need - c.scannedAbove) continue;
      let above = 0;
      const counts = c.h.counts;
      for (let i = c.from; i < BUCKETS && above < c.need; i++) above += counts[i];
      if (above >= c.need) return true;
      c.scannedCount = c.h.count;
      c.scannedAbove = above;
    }
    return false;
  };
}
