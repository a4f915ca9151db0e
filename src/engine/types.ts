import type { Scenario } from '../config/scenario.ts';
import type { Goodput } from '../metrics/goodput.ts';
import type { RunMetrics, TimeSeries } from '../metrics/types.ts';

/** Result of simulating one configuration. */
export interface RunResult {
  scenario: Scenario;
  metrics: RunMetrics;
  /** Present when scenario.timeseries was set. */
  timeseries?: TimeSeries;
  /** Per-request outcomes; present when scenario.timeseries was set. */
  requests?: RequestLog;
  /** Present when scenario.goodput was set. */
  goodput?: Goodput;
  /**
   * True when the engine stopped the run early because scenario.stopWhen was certain to be missed
   * (the metrics are then partial; the SLO verdict is a miss).
   */
  stoppedEarly?: boolean;
  /** topology pd: the mean TTFT of completed requests, part by part (docs/pd.md, "Time to first token"). */
  pdTtftMs?: PdTtftParts;
}

/** Means over completed requests, ms; they sum to the mean TTFT without front-end terms. */
export interface PdTtftParts {
  prefillQueue: number;
  prefill: number;
  routerWait: number;
  transfer: number;
  decodeQueue: number;
  firstDecodeStep: number;
}

export type { Goodput } from '../metrics/goodput.ts';

/**
 * One entry per request of the run's stream (times in µs; -1 where a request never reached
 * that point). status: 4 = completed, 5 = failed (rejected or timed out).
 */
export interface RequestLog {
  arrival_us: Float64Array;
  prompt: Int32Array;
  output: Int32Array;
  status: Uint8Array;
  rank: Int32Array;
  admit_us: Float64Array;
  /** Boundary at which the engine took the request onto a rank's waiting queue (vLLM queued_ts). */
  queued_us: Float64Array;
  /** Decision that first scheduled it (vLLM scheduled_ts; async: may precede admit_us by a step). */
  scheduled_us: Float64Array;
  first_token_us: Float64Array;
  end_us: Float64Array;
  /** topology pd (docs/pd.md): prefill instance, prefill end, KV transfer, decode admission; absent colocated. */
  prefill_instance?: Int32Array;
  prefill_end_us?: Float64Array;
  transfer_start_us?: Float64Array;
  transfer_end_us?: Float64Array;
  decode_admit_us?: Float64Array;
}

export interface EngineInfo {
  /** 'cpu' or 'gpu'. */
  engine: string;
  /** Adapter description ('' for the CPU engine). */
  adapter: string;
  /** True when the adapter is a software fallback (SwiftShader). */
  fallbackAdapter: boolean;
  /** Worker threads (CPU) used. */
  threads: number;
}

export interface EngineProgress {
  done: number;
  total: number;
}

/**
 * An engine simulates a list of configurations and returns one result per configuration,
 * in the same order. Engines must produce the same rows for the same inputs (docs/model.md).
 */
export interface Engine {
  readonly info: EngineInfo;
  run(
    scenarios: readonly Scenario[],
    onProgress?: (p: EngineProgress) => void,
  ): Promise<RunResult[]>;
  /** Release threads / devices. Always called, also after a failure. */
  close(): Promise<void>;
}
