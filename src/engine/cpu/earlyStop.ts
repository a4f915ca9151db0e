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
 * Means (and any metric that can come back down) never stop a run. In-flight requests are not
 * counted (a request that will be late may still time out and leave the sample), so the rule is
 * conservative: it may stop later than possible, never wrongly.
 */
import { BUCKETS, bucketValue, type Histogram } from '../../metrics/histogram.ts';
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

/** A stop predicate for the driver, checked after steps; it reads the core and the histograms. */
export type StopPredicate = (core: EngineCore) => boolean;

/** Checks per run at most about this many times (each check scans a few thousand buckets). */
const CHECKS = 256;

/**
 * The predicate for `bounds` over a stream of `n` requests, or undefined when no bound can stop a
 * run early (the driver then pays nothing).
 */
export function stopPredicate(bounds: readonly StopBound[], n: number, hist: LatencyHistograms): StopPredicate | undefined {
  const checks: { h: Histogram; from: number; need: number }[] = [];
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
    checks.push({ h: HISTOGRAM[m[1]](hist), from, need });
  }
  if (checks.length === 0 && failLimit === Infinity) return undefined;
  const stride = Math.max(1, Math.floor(n / CHECKS));
  let nextCheck = stride;
  return (core) => {
    const failed = core.failedRejected + core.failedTimeout + core.aborted;
    const ended = core.completed + failed;
    if (ended < nextCheck) return false;
    nextCheck = ended + stride;
    // Same expression as meetsSlo on failed_frac: it fails when !(failed / n <= bound).
    if (n > 0 && !(failed / n <= failLimit)) return true;
    for (const c of checks) {
      if (c.h.count < c.need) continue;
      let above = 0;
      const counts = c.h.counts;
      for (let i = c.from; i < BUCKETS && above < c.need; i++) above += counts[i];
      if (above >= c.need) return true;
    }
    return false;
  };
}
