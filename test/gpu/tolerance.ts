// How closely the WebGPU engine must reproduce the CPU engine (docs/gpu.md, "Numerics and
// tolerance"). One place, used by the tests and quoted in the docs.
import type { RunMetrics } from '../../src/metrics/types.ts';

export type Metric = keyof RunMetrics;

/** Never compared: wall-clock time is not a simulation result. */
export const IGNORED: ReadonlySet<Metric> = new Set<Metric>(['wall_ms']);

/**
 * The load-balance ratios are averaged per step in floating point on both engines: f32 ratio per
 * step (relative error < 2^-22) summed in fixed point on the GPU (2^-16 for the two KV ratios,
 * weighted by the step's length; 2^-31 for TensorRT-LLM's token balance ratio), f64 on the CPU.
 * Bound: |gpu - cpu| <= rel * |cpu| + abs.
 */
export const RATIO_METRICS: ReadonlySet<Metric> = new Set<Metric>(['imbalance', 'balance_ratio', 'token_balance_ratio']);
export const RATIO_TOLERANCE = { rel: 1e-6, abs: 1e-9 };

/** A per-metric bound for rows whose float-scored decisions went another way at a near-tie. */
export interface Bound {
  rel: number;
  abs: number;
  /** abs is a fraction of the run's request count instead of an absolute value. */
  absOfRequests?: boolean;
}

// Measured on SwiftShader (docs/gpu.md, "Measured disagreement"): over this test's sweep, the
// grid example and a 16,384-configuration sweep, 5 of about 6,300 float-scored rows diverged (all
// fast_phi); their largest differences were queue p90 15.7 vs 6.4 ms, TTFT p90 55 vs 67 ms,
// imbalance 0.109 vs 0.136, mean TTFT 6%, idle fraction 5%, throughput and makespan 0.2%, counts 0.
// Diverged rows are two different, equally valid trajectories: the bounds are those spreads with
// a margin, plus absolute floors for small values (a p90 over 50 requests is a handful of them).
const groups: [Metric[], Bound][] = [
  [['requests', 'failed_rejected'], { rel: 0, abs: 0 }],
  [['completed', 'failed', 'failed_timeout'], { rel: 0, abs: 0.02, absOfRequests: true }],
  [['output_tokens'], { rel: 0.02, abs: 0 }],
  [['preempted'], { rel: 0.25, abs: 10 }],
  [['makespan_s', 'throughput_tok_s', 'req_per_s', 'busy_s', 'steps', 'mean_in_system'], { rel: 0.03, abs: 0 }],
  [['ttft_mean_ms', 'tpot_mean_ms', 'e2e_mean_ms', 'queue_mean_ms'], { rel: 0.15, abs: 2 }],
  [
    [
      'ttft_p50_ms', 'ttft_p90_ms', 'ttft_p95_ms', 'ttft_p99_ms',
      'tpot_p50_ms', 'tpot_p90_ms', 'tpot_p95_ms', 'tpot_p99_ms',
      'e2e_p50_ms', 'e2e_p90_ms', 'e2e_p95_ms', 'e2e_p99_ms',
      'queue_p50_ms', 'queue_p90_ms', 'queue_p95_ms', 'queue_p99_ms',
    ],
    { rel: 0.3, abs: 10 },
  ],
  [['imbalance', 'idle_frac', 'balance_ratio', 'token_balance_ratio'], { rel: 0.3, abs: 0.03 }],
];

/**
 * Float-scored routers (vllm_inflight, br0 with fractional a or b, brh, fast_phi) compare f32 on
 * the GPU with f64 on the CPU; at a near-tie the two may pick different ranks, and from then on the
 * runs are two different, equally valid trajectories. Such rows must agree within these bounds
 * (the spread of the metrics between such trajectories at the test's request counts, about twice
 * what was measured); every other row must be identical.
 */
export const DIVERGED_BOUNDS: ReadonlyMap<Metric, Bound> = new Map(groups.flatMap(([ms, b]) => ms.map((m) => [m, b] as const)));

/** Least share of float-scored rows whose decisions must all agree with the CPU engine's. */
export const MIN_AGREEING_FLOAT_ROWS = 0.9;

export function within(cpu: number, gpu: number, b: Bound, requests: number): boolean {
  if (Number.isNaN(cpu) || Number.isNaN(gpu)) return Number.isNaN(cpu) && Number.isNaN(gpu);
  const abs = b.absOfRequests ? Math.max(2, b.abs * requests) : b.abs;
  return Math.abs(gpu - cpu) <= b.rel * Math.abs(cpu) + abs;
}

/** Metrics that differ beyond the exact comparison (ratios within RATIO_TOLERANCE count as equal). */
export function exactDifferences(cpu: RunMetrics, gpu: RunMetrics): Metric[] {
  const out: Metric[] = [];
  for (const k of Object.keys(cpu) as Metric[]) {
    if (IGNORED.has(k)) continue;
    const a = cpu[k];
    const b = gpu[k];
    if (RATIO_METRICS.has(k)) {
      if (!(Math.abs(a - b) <= RATIO_TOLERANCE.rel * Math.abs(a) + RATIO_TOLERANCE.abs)) out.push(k);
    } else if (!(a === b || (Number.isNaN(a) && Number.isNaN(b)))) {
      out.push(k);
    }
  }
  return out;
}
