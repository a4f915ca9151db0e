// Small real sweeps (CPU engine, on this thread) written as Arrow files, for the report tests.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandSweep } from '../../src/config/expand.ts';
import { parseSweepText } from '../../src/config/sweepFile.ts';
import { CpuEngine } from '../../src/engine/cpu/cpuEngine.ts';
import { writeResults, writeTimeSeries } from '../../src/results/arrowWrite.ts';
import type { RunResult } from '../../src/engine/types.ts';

/** DP 2, 4 × rate 4, 24 × vllm_default, jsq_load, br0 b=4 and b=16 × 3 seeds: 48 runs, ~1 s. */
export const GRID = `name: report-test
base:
  workload: sharegpt
  requests: 120
  max_output: 512
axes:
  dp: [2, 4]
  rate: [4, 24]
  router: [vllm_default, jsq_load, {name: br0, b: [4, 16]}]
  seed: [1, 2, 3]
`;

/** One DP size, one rate, no vllm_default: bars and a fallback baseline. */
export const NO_BASELINE = `name: no-baseline
base:
  workload: sharegpt
  requests: 100
  max_output: 512
  dp: 4
  rate: 8
axes:
  router: [jsq_load, br0, round_robin]
  seed: [1, 2, 3]
`;

/** Two configurations with time series: DP 4 and DP 24 (the band view for many ranks). */
export const SERIES = `name: series-test
base:
  workload: sharegpt
  requests: 150
  max_output: 512
  rate: 16
  seed: 1
  router: vllm_default
  timeseries: true
axes:
  dp: [4, 24]
`;

export function tempDir(prefix = 'br-report-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function simulateSweep(yaml: string): Promise<RunResult[]> {
  const engine = new CpuEngine({ threads: 1 });
  try {
    return await engine.run(expandSweep(parseSweepText(yaml, 'test.yaml')));
  } finally {
    await engine.close();
  }
}

/** Simulate `yaml` and write `<name>.arrow` (and `<name>-ts.arrow` when there are series) in `dir`. */
export async function writeSweep(dir: string, yaml: string, name: string): Promise<{ results: string; timeseries: string; runs: RunResult[] }> {
  const runs = await simulateSweep(yaml);
  const meta = { engine: { engine: 'cpu', adapter: '', fallbackAdapter: false, threads: 1 }, sweepName: name, wallMs: 1234, version: '0.1.0' };
  const results = join(dir, `${name}.arrow`);
  const timeseries = join(dir, `${name}-ts.arrow`);
  await writeResults(results, runs, meta);
  if (runs.some((r) => r.timeseries)) await writeTimeSeries(timeseries, runs, meta);
  return { results, timeseries, runs };
}
