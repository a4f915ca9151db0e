// Sweeps stream into their files chunk by chunk (memory holds one chunk), the outputs of one
// command appear together or not at all, and a large time series is announced with an estimate.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planOutputs } from '../../src/cli/outputPath.ts';
import { CHUNK_CONFIGS, chunks, simulateToFiles } from '../../src/cli/simulateToFiles.ts';
import { expandSweep } from '../../src/config/expand.ts';
import { parseSweepText } from '../../src/config/sweepFile.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import type { Engine, RunResult } from '../../src/engine/types.ts';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { CpuEngine } from '../../src/engine/cpu/cpuEngine.ts';
import { ENGINE, metricsFor, seriesFor } from '../results/fixtures.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'br-stream-'));

/** An engine that makes up results instantly and records the size of each call. */
function fakeEngine(opts: { failOnCall?: number } = {}): Engine & { calls: number[] } {
  const calls: number[] = [];
  return {
    info: { ...ENGINE, threads: 1 },
    calls,
    async run(scenarios: readonly Scenario[]): Promise<RunResult[]> {
      calls.push(scenarios.length);
      if (opts.failOnCall === calls.length) throw new Error('engine failed');
      return scenarios.map((scenario) => ({
        scenario,
        metrics: metricsFor(scenario.index),
        ...(scenario.timeseries ? { timeseries: seriesFor(scenario.index, 50, scenario.dp) } : {}),
      }));
    },
    async close() {},
  };
}

function seeds(n: number, extra = ''): Scenario[] {
  return expandSweep(parseSweepText(`base: {requests: 10, dp: 2}\naxes:\n  seed: [${[...Array(n).keys()].map((i) => i + 1).join(', ')}]\n${extra}`, 'test.yaml'));
}

const META = { sweepName: 'stream', version: '0.0.0' };

describe('streaming a sweep into its files', () => {
  it('hands the engine bounded chunks and writes one record batch per chunk', async () => {
    const scenarios = seeds(CHUNK_CONFIGS.cpu * 2 + 100);
    const dir = tmp();
    const engine = fakeEngine();
    const s = await simulateToFiles({ scenarios, engine, outputs: planOutputs({ output: join(dir, 'r.arrow') }, []), meta: META, log: () => {} });
    expect(engine.calls).toEqual([CHUNK_CONFIGS.cpu, CHUNK_CONFIGS.cpu, 100]);
    expect(s.kept).toEqual([]); // nothing held beyond a chunk
    const f = readArrowFile(join(dir, 'r.arrow'));
    expect(f.table.batches.map((b) => b.numRows)).toEqual([CHUNK_CONFIGS.cpu, CHUNK_CONFIGS.cpu, 100]);
    expect(f.column('config_index')).toEqual([...Array(scenarios.length).keys()]);
    expect(f.column('seed').slice(-2)).toEqual([scenarios.length - 1, scenarios.length]);
    expect(readdirSync(dir)).toEqual(['r.arrow']);
  }, 60_000);

  it('the real engine gives the same rows in chunks as in one call', async () => {
    const scenarios = expandSweep(parseSweepText('base: {requests: 30, dp: 2}\naxes:\n  router: [vllm_default, jsq_load, br0]\n  seed: [1, 2, 3]\n', 'x.yaml'));
    const dir = tmp();
    const rowsWith = async (chunkSize: number | undefined, name: string) => {
      const engine = new CpuEngine({ threads: 1 });
      try {
        await simulateToFiles({ scenarios, engine, outputs: planOutputs({ output: join(dir, name) }, []), meta: META, log: () => {}, chunkSize });
      } finally {
        await engine.close();
      }
      const f = readArrowFile(join(dir, name));
      return { batches: f.table.batches.length, rows: f.rows().map(({ wall_ms: _w, ...r }) => r) };
    };
    const whole = await rowsWith(undefined, 'one.arrow');
    const chunked = await rowsWith(4, 'chunked.arrow');
    expect([whole.batches, chunked.batches]).toEqual([1, 3]);
    expect(chunked.rows).toEqual(whole.rows);
  }, 60_000);

  it('time-series configurations come a few per chunk (their rows are large)', () => {
    const sc = seeds(20, 'configs:\n  - {timeseries: true}\n');
    expect([...chunks(sc, 4096, 4)].map((c) => c.length)).toEqual([4, 4, 4, 4, 4]);
    const mixed = sc.map((s, i) => ({ ...s, timeseries: i % 5 === 0 }));
    expect([...chunks(mixed, 4096, 2)].map((c) => c.length)).toEqual([10, 10]);
  });

  it('results, time series and request log appear together; a failure leaves none and keeps old files', async () => {
    const scenarios = seeds(12, 'configs:\n  - {timeseries: true}\n');
    const dir = tmp();
    writeFileSync(join(dir, 'r.arrow'), 'old results');
    const outputs = planOutputs({ output: join(dir, 'r.arrow'), timeseries: join(dir, 'ts.arrow') }, []);
    await expect(simulateToFiles({ scenarios, engine: fakeEngine({ failOnCall: 2 }), outputs, meta: META, log: () => {} })).rejects.toThrow('engine failed');
    expect(readdirSync(dir)).toEqual(['r.arrow']);
    expect(readFileSync(join(dir, 'r.arrow'), 'utf8')).toBe('old results');

    const s = await simulateToFiles({ scenarios, engine: fakeEngine(), outputs, meta: META, log: () => {} });
    expect(readdirSync(dir).sort()).toEqual(['r.arrow', 'ts.arrow', 'ts.requests.arrow']);
    expect(readArrowFile(join(dir, 'ts.requests.arrow')).numRows).toBe(0); // the fake engine logs no requests
    expect(s.rows).toEqual({ results: 12, timeseries: 12 * 50 * 2, requests: 0 });
    expect(readArrowFile(join(dir, 'ts.arrow')).numRows).toBe(1200);
  });

  it('warns before a large time series, with the estimate', async () => {
    const scenarios = seeds(8, 'configs:\n  - {timeseries: true}\n');
    const dir = tmp();
    const lines: string[] = [];
    await simulateToFiles({
      scenarios,
      engine: fakeEngine(),
      outputs: planOutputs({ timeseries: join(dir, 'ts.arrow') }, []),
      meta: META,
      log: (l) => lines.push(l),
      warnBytes: 10_000,
    });
    // 50 steps x 2 ranks x 72 bytes = 7.2 kB per configuration, x 8 configurations; known after
    // the first chunk (4 configurations, 28.8 kB).
    expect(lines).toEqual([expect.stringMatching(/^warning: the time series will take about 57\.6 kB \(8 configurations with timeseries: true, estimated from the 28\.8 kB written so far\)/)]);
  });

  it('scales the estimate by the DP size of the configurations still to come', async () => {
    const scenarios = expandSweep(parseSweepText('base: {requests: 10, timeseries: true}\naxes:\n  dp: [2, 8]\n  seed: [1, 2, 3, 4]\n', 'x.yaml'));
    const lines: string[] = [];
    await simulateToFiles({ scenarios, engine: fakeEngine(), outputs: planOutputs({ timeseries: join(tmp(), 'ts.arrow') }, []), meta: META, log: (l) => lines.push(l), warnBytes: 100_000 });
    // First chunk: 4 configurations at DP 2 (28.8 kB); the 4 at DP 8 will be 4x larger: 144 kB in all.
    expect(lines).toEqual([expect.stringMatching(/^warning: the time series will take about 144\.0 kB \(8 configurations/)]);
  });

  it('records the fingerprint, the sweep size and the final wall time in every file', async () => {
    const scenarios = seeds(3, 'configs:\n  - {timeseries: true}\n');
    const dir = tmp();
    const outputs = planOutputs({ output: join(dir, 'r.arrow'), timeseries: join(dir, 'ts.arrow') }, []);
    const s = await simulateToFiles({ scenarios, engine: fakeEngine(), outputs, meta: { ...META, fingerprint: 'abc', configurations: 3 }, log: () => {} });
    for (const p of ['r.arrow', 'ts.arrow']) {
      const m = readArrowFile(join(dir, p)).metadata;
      expect(m.sweep_fingerprint).toBe('abc');
      expect(m.sweep_configurations).toBe('3');
      expect(Number(m.wall_ms)).toBe(s.wallMs);
      expect(m.threads).toBe('1');
    }
  });
});
