// Synthetic results for Arrow tests: real expanded scenarios, made-up metrics.
import type { EngineInfo, RunResult } from '../../src/engine/types.ts';
import { METRIC_COLUMNS, INTEGER_METRICS, type RunMetrics, type TimeSeries } from '../../src/metrics/types.ts';
import { expandSweep } from '../../src/config/expand.ts';
import { parseSweepText } from '../../src/config/sweepFile.ts';
import type { WriteMeta } from '../../src/results/arrowWrite.ts';

export const ENGINE: EngineInfo = { engine: 'cpu', adapter: '', fallbackAdapter: false, threads: 4 };

export const META: WriteMeta = { engine: ENGINE, sweepName: 'test-sweep', wallMs: 1234.5, version: '0.1.0' };

export const SWEEP = `name: test-sweep
axes:
  router: [vllm_default, jsq_load, {name: br0, b: [4, 8]}]
  dp: [2, 4]
  seed: [1, 2]
`;

export function metricsFor(i: number): RunMetrics {
  const m = {} as Record<keyof RunMetrics, number>;
  METRIC_COLUMNS.forEach((k, j) => (m[k] = INTEGER_METRICS.has(k) ? i * 10 + j : i + j / 8));
  m.requests = 500;
  m.output_tokens = 3_000_000_000 + i; // beyond Int32
  m.ttft_p99_ms = i === 1 ? NaN : m.ttft_p99_ms; // no value -> null
  return m;
}

export function seriesFor(i: number, steps: number, dp: number): TimeSeries {
  const n = steps * dp;
  const ts: TimeSeries = {
    step: new Int32Array(n),
    time_us: new Float64Array(n),
    rank: new Int32Array(n),
    kv_tokens: new Float64Array(n),
    running: new Int32Array(n),
    waiting: new Int32Array(n),
    rank_step_us: new Float64Array(n),
    step_us: new Float64Array(n),
  };
  for (let s = 0; s < steps; s++) {
    for (let g = 0; g < dp; g++) {
      const k = s * dp + g;
      ts.step[k] = s;
      ts.time_us[k] = s * 1000;
      ts.rank[k] = g;
      ts.kv_tokens[k] = i * 100 + k;
      ts.running[k] = g;
      ts.waiting[k] = s;
      ts.rank_step_us[k] = 900 + g;
      ts.step_us[k] = 1000;
    }
  }
  return ts;
}

/** 16 results: 4 routers (vllm_default, jsq_load, br0 b=4, br0 b=8) x dp 2,4 x seeds 1,2. */
export function sampleResults(text = SWEEP): RunResult[] {
  return expandSweep(parseSweepText(text, 'test.yaml')).map((scenario) => ({ scenario, metrics: metricsFor(scenario.index) }));
}
