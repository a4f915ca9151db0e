/**
 * Two views of one load run's records:
 * - benchMetrics: `vllm bench serve`'s aggregate metrics and JSON keys (`calculate_metrics`):
 *   NumPy mean / median / population std / linearly interpolated percentiles, ×1000 ms, 0 for an
 *   empty list (vLLM's `np.mean(x or 0)`).
 * - summaryMetrics: the simulator's metric columns (src/metrics/summary.ts, the very same
 *   histograms and formulas), so a measured row and a simulated row mean the same thing.
 *   Metrics the client cannot observe (queueing inside the server, preemptions, barrier idle)
 *   are null.
 */
import { LatencyHistograms, newCounters, summarize } from '../metrics/summary.ts';
import type { RunMetrics } from '../metrics/types.ts';
import type { RequestRecord } from './runner.ts';

/** NumPy's default (linear, "type 7") percentile of ascending values. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const x = (p / 100) * (n - 1);
  const i = Math.floor(x);
  const f = x - i;
  return i + 1 < n ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

export interface Stats {
  mean: number;
  median: number;
  std: number;
  percentile(p: number): number;
}

/** mean, median, population std and percentiles of a list (NaN when empty). */
export function stats(values: readonly number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  const mean = n ? s.reduce((a, b) => a + b, 0) / n : NaN;
  const std = n ? Math.sqrt(s.reduce((a, b) => a + (b - mean) * (b - mean), 0) / n) : NaN;
  return { mean, median: percentileSorted(s, 50), std, percentile: (p) => percentileSorted(s, p) };
}

/** Per-request latencies of the completed records, in ms, as vllm bench defines them. */
export function latencyLists(records: readonly RequestRecord[]) {
  const ok = records.filter((r) => r.ok);
  const tpot: number[] = [];
  for (const r of ok) {
    const out = r.outputTokens ?? 0;
    if (out > 1) tpot.push((r.latencyMs - r.ttftMs) / (out - 1));
  }
  return {
    ok,
    ttft: ok.map((r) => r.ttftMs),
    tpot,
    itl: ok.flatMap((r) => r.itlMs),
    e2el: ok.map((r) => r.latencyMs),
  };
}

export const BENCH_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type BenchMetric = (typeof BENCH_METRICS)[number];

/** Format a percentile for a key the way vllm bench does: 99 -> "99", 99.9 -> "99.9". */
export function pKey(p: number): string {
  return String(p);
}

/**
 * vllm bench's totals and per-metric statistics. `durationS` runs from the start of the
 * schedule to the last completion.
 */
export function benchMetrics(records: readonly RequestRecord[], durationS: number, percentiles: readonly number[]): Record<string, number> {
  const l = latencyLists(records);
  const totalIn = l.ok.reduce((a, r) => a + (r.promptTokens ?? r.plannedPrompt), 0);
  const totalOut = l.ok.reduce((a, r) => a + (r.outputTokens ?? 0), 0);
  const out: Record<string, number> = {
    duration: durationS,
    completed: l.ok.length,
    failed: records.length - l.ok.length,
    total_input_tokens: totalIn,
    total_output_tokens: totalOut,
    request_throughput: l.ok.length / durationS,
    output_throughput: totalOut / durationS,
    total_token_throughput: (totalIn + totalOut) / durationS,
    ...peaks(l.ok),
  };
  for (const m of BENCH_METRICS) {
    const s = stats(l[m]);
    const z = (v: number) => (Number.isFinite(v) ? v : 0);
    out[`mean_${m}_ms`] = z(s.mean);
    out[`median_${m}_ms`] = z(s.median);
    out[`std_${m}_ms`] = z(s.std);
    for (const p of percentiles) out[`p${pKey(p)}_${m}_ms`] = z(s.percentile(p));
  }
  return out;
}

/**
 * Peak output tokens in any 1-second bucket (token times rebuilt as start + ttft + Σ itl, as vLLM
 * does) and the peak number of requests in flight (exact, over half-open [start, end) intervals).
 */
function peaks(ok: readonly RequestRecord[]): { max_output_tokens_per_s: number; max_concurrent_requests: number } {
  if (ok.length === 0) return { max_output_tokens_per_s: 0, max_concurrent_requests: 0 };
  const start = ok.reduce((m, r) => Math.min(m, r.sendUs / 1e6), Infinity);
  const buckets = new Map<number, number>();
  const events: [number, number][] = [];
  for (const r of ok) {
    let t = r.sendUs / 1e6 + r.ttftMs / 1000;
    const add = (x: number) => {
      const b = Math.floor(x - start);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
    };
    add(t);
    for (const itl of r.itlMs) {
      t += itl / 1000;
      add(t);
    }
    events.push([r.sendUs, 1], [r.sendUs + r.latencyMs * 1000, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // ends before starts at equal times
  let cur = 0;
  let peak = 0;
  for (const [, d] of events) {
    cur += d;
    if (cur > peak) peak = cur;
  }
  return { max_output_tokens_per_s: [...buckets.values()].reduce((a, b) => Math.max(a, b), 0), max_concurrent_requests: peak };
}

/** Metric columns a client cannot observe (null in a measured summary row). */
export const UNOBSERVED_METRICS: readonly (keyof RunMetrics)[] = [
  'preempted', 'queue_mean_ms', 'queue_p50_ms', 'queue_p90_ms', 'queue_p95_ms', 'queue_p99_ms',
  'imbalance', 'idle_frac', 'balance_ratio', 'token_balance_ratio', 'steps', 'busy_s',
  'prefill_util', 'decode_util', 'kv_transfer_mean_ms', 'kv_transfer_p95_ms',
];

/** When a record left the system, µs from the start of the run. */
export function finishUs(r: RequestRecord): number {
  return r.ok ? r.sendUs + r.latencyMs * 1000 : r.finishUs;
}

/**
 * The simulator's metrics for measured records (src/metrics/summary.ts): times rounded to
 * integer µs, TTFT and E2E from the send time, client timeouts counted as `failed_timeout` and
 * every other failure as `failed_rejected`.
 */
export function summaryMetrics(records: readonly RequestRecord[], wallMs: number): Record<keyof RunMetrics, number | null> {
  const c = newCounters(records.length);
  const h = new LatencyHistograms();
  let first = Infinity;
  let last = 0;
  let area = 0;
  for (const r of records) {
    const a = Math.round(r.sendUs);
    const end = Math.round(finishUs(r));
    first = Math.min(first, a);
    last = Math.max(last, end);
    area += end - a;
    if (r.ok) {
      c.completed++;
      c.outputTokens += r.outputTokens ?? 0;
      const ft = Math.round(r.sendUs + r.ttftMs * 1000);
      h.recordCompleted(a, a, ft, end, r.outputTokens ?? 0);
    } else if (r.failure === 'timeout') c.failedTimeout++;
    else c.failedRejected++;
  }
  c.firstArrivalUs = Number.isFinite(first) ? first : 0;
  c.lastEventUs = last;
  const m: Record<string, number | null> = { ...summarize(c, h, wallMs) };
  m.mean_in_system = records.length ? area / Math.max(1, last - c.firstArrivalUs) : 0;
  for (const k of UNOBSERVED_METRICS) m[k] = null;
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && !Number.isFinite(v)) m[k] = null;
  return m as Record<keyof RunMetrics, number | null>;
}
