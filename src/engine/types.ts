import type { Scenario } from '../config/scenario.ts';
import type { RunMetrics, TimeSeries } from '../metrics/types.ts';

/** Result of simulating one configuration. */
export interface RunResult {
  scenario: Scenario;
  metrics: RunMetrics;
  /** Present when scenario.timeseries was set. */
  timeseries?: TimeSeries;
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
