/** Per-run metrics (docs/model.md §8, docs/output.md). Times in ms unless the name says otherwise. */
export interface RunMetrics {
  requests: number;
  completed: number;
  failed: number;
  failed_rejected: number;
  failed_timeout: number;
  /** Preemption events (a request may be preempted more than once). */
  preempted: number;
  /** Output tokens of completed requests. */
  output_tokens: number;
  /** First arrival to last completion or failure, seconds. */
  makespan_s: number;
  throughput_tok_s: number;
  req_per_s: number;
  ttft_mean_ms: number;
  ttft_p50_ms: number;
  ttft_p90_ms: number;
  ttft_p95_ms: number;
  ttft_p99_ms: number;
  tpot_mean_ms: number;
  tpot_p50_ms: number;
  tpot_p90_ms: number;
  tpot_p95_ms: number;
  tpot_p99_ms: number;
  e2e_mean_ms: number;
  e2e_p50_ms: number;
  e2e_p90_ms: number;
  e2e_p95_ms: number;
  e2e_p99_ms: number;
  queue_mean_ms: number;
  queue_p50_ms: number;
  queue_p90_ms: number;
  queue_p95_ms: number;
  queue_p99_ms: number;
  /** Engine-anchored TTFT: first token - queued_us (docs/model.md §8). */
  ttft_engine_mean_ms: number;
  ttft_engine_p50_ms: number;
  ttft_engine_p90_ms: number;
  ttft_engine_p95_ms: number;
  ttft_engine_p99_ms: number;
  /** Engine-anchored E2E: end - queued_us. */
  e2e_engine_mean_ms: number;
  e2e_engine_p50_ms: number;
  e2e_engine_p90_ms: number;
  e2e_engine_p95_ms: number;
  e2e_engine_p99_ms: number;
  /** scheduled_us - queued_us (vLLM's vllm:request_queue_time_seconds). */
  request_queue_time_mean_ms: number;
  request_queue_time_p50_ms: number;
  request_queue_time_p90_ms: number;
  request_queue_time_p95_ms: number;
  request_queue_time_p99_ms: number;
  /** first token - scheduled_us (vLLM's vllm:request_prefill_time_seconds). */
  request_prefill_time_mean_ms: number;
  request_prefill_time_p50_ms: number;
  request_prefill_time_p90_ms: number;
  request_prefill_time_p95_ms: number;
  request_prefill_time_p99_ms: number;
  /** Step-time-weighted mean of (max - mean) / mean rank KV load over busy steps. */
  imbalance: number;
  /** 1 - sum_g t_g / (G * sum max_g t_g) over busy steps (barrier-induced idle compute). */
  idle_frac: number;
  /** Step-time-weighted mean of mean / max rank KV load over busy steps. */
  balance_ratio: number;
  /**
   * Mean over busy group steps of mean / max tokens scheduled per rank (TensorRT-LLM's balance
   * ratio, tech blog 10); NaN with sync: independent and on the GPU engine.
   */
  token_balance_ratio: number;
  /** Decode steps of the whole DP group. */
  steps: number;
  /** Simulated time spent stepping (excludes idle jumps), seconds. */
  busy_s: number;
  /** Time-mean number of requests in the system (arrived, not yet completed or failed). */
  mean_in_system: number;
  /** 1 when the run used async scheduling (docs/model.md §3), else 0. */
  async_scheduling: number;
  /**
   * topology pd (docs/pd.md): share of the makespan the prefill instances spend stepping, mean
   * over the instances; NaN with topology colocated.
   */
  prefill_util: number;
  /** topology pd: share of the makespan the decode group spends stepping (busy_s / makespan_s); NaN colocated. */
  decode_util: number;
  /** topology pd: KV transfer time of the requests transferred, prefill to decode rank, ms; NaN colocated. */
  kv_transfer_mean_ms: number;
  kv_transfer_p95_ms: number;
  /** Wall-clock time of this run's simulation, ms. */
  wall_ms: number;
}

export const METRIC_COLUMNS: readonly (keyof RunMetrics)[] = [
  'requests', 'completed', 'failed', 'failed_rejected', 'failed_timeout', 'preempted',
  'output_tokens', 'makespan_s', 'throughput_tok_s', 'req_per_s',
  'ttft_mean_ms', 'ttft_p50_ms', 'ttft_p90_ms', 'ttft_p95_ms', 'ttft_p99_ms',
  'tpot_mean_ms', 'tpot_p50_ms', 'tpot_p90_ms', 'tpot_p95_ms', 'tpot_p99_ms',
  'e2e_mean_ms', 'e2e_p50_ms', 'e2e_p90_ms', 'e2e_p95_ms', 'e2e_p99_ms',
  'queue_mean_ms', 'queue_p50_ms', 'queue_p90_ms', 'queue_p95_ms', 'queue_p99_ms',
  'ttft_engine_mean_ms', 'ttft_engine_p50_ms', 'ttft_engine_p90_ms', 'ttft_engine_p95_ms', 'ttft_engine_p99_ms',
  'e2e_engine_mean_ms', 'e2e_engine_p50_ms', 'e2e_engine_p90_ms', 'e2e_engine_p95_ms', 'e2e_engine_p99_ms',
  'request_queue_time_mean_ms', 'request_queue_time_p50_ms', 'request_queue_time_p90_ms', 'request_queue_time_p95_ms', 'request_queue_time_p99_ms',
  'request_prefill_time_mean_ms', 'request_prefill_time_p50_ms', 'request_prefill_time_p90_ms', 'request_prefill_time_p95_ms', 'request_prefill_time_p99_ms',
  'imbalance', 'idle_frac', 'balance_ratio', 'token_balance_ratio', 'steps', 'busy_s', 'mean_in_system', 'async_scheduling',
  'prefill_util', 'decode_util', 'kv_transfer_mean_ms', 'kv_transfer_p95_ms', 'wall_ms',
];

/** Integer-valued metric columns (written as Int64 / Int32 in Arrow). */
export const INTEGER_METRICS: ReadonlySet<keyof RunMetrics> = new Set<keyof RunMetrics>([
  'requests', 'completed', 'failed', 'failed_rejected', 'failed_timeout', 'preempted',
  'output_tokens', 'steps', 'async_scheduling',
]);

/** One per-step sample of a time series (long format: one row per step and rank). */
export interface TimeSeries {
  step: Int32Array;
  time_us: Float64Array;
  rank: Int32Array;
  kv_tokens: Float64Array;
  running: Int32Array;
  waiting: Int32Array;
  /** This rank's own compute time in the step, µs (the barrier waits for the max). */
  rank_step_us: Float64Array;
  /** Group step time (max over ranks + all-to-all), µs. */
  step_us: Float64Array;
}
