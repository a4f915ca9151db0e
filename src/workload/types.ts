/** A generated or replayed request stream. All times are integer microseconds. */
export interface Workload {
  readonly n: number;
  /** Arrival time of request i in integer µs, non-decreasing, first arrival >= 0. */
  readonly arrivalUs: Float64Array;
  /** Prompt length in tokens (>= 1). */
  readonly prompt: Int32Array;
  /** True output length in tokens (>= 1); routers never read it directly. */
  readonly output: Int32Array;
  /**
   * Output-length distribution a router may know: survival[a] = P(output > a) for
   * a = 0..survival.length-1 (survival[0] = 1, beyond the end = 0). Computed from the stream.
   */
  readonly outputSurvival: Float64Array;
  /** Human-readable label for result rows (profile name or trace file name). */
  readonly label: string;
}

/** A length distribution for prompts or outputs, in tokens. */
export type LengthDist =
  | { kind: 'fixed'; value: number }
  | { kind: 'lognormal'; median: number; sigma: number; min?: number; max?: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'empirical'; profile: string };

export type ArrivalProcess = 'poisson' | 'gamma';

/**
 * Everything needed to build a Workload deterministically (see docs/workloads.md; validated and
 * canonicalised by canonicalSpec/workloadKey in build.ts). For `source: 'trace'` the fields
 * `arrival`, `cv`, `seed`, `prompt` and `output` do not apply.
 */
export interface WorkloadSpec {
  /** Built-in profile name (e.g. 'sharegpt') or 'trace' for replay of `tracePath`. */
  source: string;
  /** Path of a trace file when source === 'trace'. */
  tracePath?: string;
  /** Explicit column names for a trace (otherwise detected by well-known names). */
  traceColumns?: { arrival?: string; prompt?: string; output?: string };
  /** Unit of the trace's arrival column: 's' | 'ms' | 'us' | 'ns' (otherwise inferred from its name). */
  traceTimeUnit?: 's' | 'ms' | 'us' | 'ns';
  /** Replay only rows arriving in [startS, endS) seconds of the trace's own clock (traces only). */
  traceWindow?: { startS: number; endS?: number };
  /** Synthetic arrival process (profiles only). */
  arrival: ArrivalProcess;
  /** Coefficient of variation of inter-arrival gaps for 'gamma' (1 = Poisson). */
  cv: number;
  /** Mean request rate in req/s. For traces: target rate (0 keeps the trace's own timing). */
  rate: number;
  /** Number of requests (for traces: the first n, 0 = all). */
  requests: number;
  /** Workload seed, an integer in [0, 2^32) (profiles only; drives independent arrival/prompt/output streams). */
  seed: number;
  /** Cap on output length (tokens); longer outputs are truncated to it. */
  maxOutput: number;
  /** Optional overrides of the profile's length distributions. */
  prompt?: LengthDist;
  output?: LengthDist;
}
