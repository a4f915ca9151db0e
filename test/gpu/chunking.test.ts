// Chunking (issue 3, item 2): a sweep split into several chunks gives the same rows as one chunk
// and as separate runs; the split respects the device's limits; progress is reported per chunk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scenario } from '../../src/config/scenario.ts';
import { runScenario } from '../../src/engine/cpu/runScenario.ts';
import { createGpuEngine } from '../../src/engine/choose.ts';
import { GpuEngine } from '../../src/engine/gpu/gpuEngine.ts';
import { chunkBufferBytes } from '../../src/engine/gpu/layout.ts';
import { planChunks, prepareConfig, type GpuConfig } from '../../src/engine/gpu/prepare.ts';
import type { EngineProgress, RunResult } from '../../src/engine/types.ts';
import type { RunMetrics } from '../../src/metrics/types.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { makeScenario } from '../helpers.ts';
import { describeGpu, probe } from './gpuAvailable.ts';

function sweep(): Scenario[] {
  const out: Scenario[] = [];
  const routers: [string, Record<string, unknown>][] = [['vllm_default', {}], ['fast_phi', {}], ['br0', { a: 0.5 }], ['random', {}]];
  for (const [router, knobs] of routers) {
    for (const dp of [2, 8, 16]) {
      out.push({
        ...makeScenario({
          router, routerParams: resolveRouterParams(router, knobs), dp, maxNumSeqs: 32, kvCapacity: 16384,
          dispatch: dp === 8 ? 'per_step' : 'on_arrival', timeoutS: dp === 16 ? 8 : 0,
          workload: { rate: 3 * dp, requests: 20 + 10 * out.length, seed: 40 + (out.length % 3) },
        }),
        index: out.length,
      });
    }
  }
  return out;
}

const rows = (rs: RunResult[]): Omit<RunMetrics, 'wall_ms'>[] => rs.map(({ metrics: { wall_ms: _, ...m } }) => m);

describeGpu('WebGPU engine chunking', () => {
  const scenarios = sweep();
  let engine: GpuEngine;
  const lines: string[] = [];
  let chunked: RunResult[] = [];
  let progress: EngineProgress[] = [];

  beforeAll(async () => {
    engine = await GpuEngine.create({ probe, maxConfigsPerChunk: 5, trace: true, log: (s) => lines.push(s) });
    chunked = await engine.run(scenarios, (p) => progress.push({ ...p }));
  }, 300_000);

  afterAll(async () => {
    await engine?.close();
  });

  it('splits a sweep larger than a chunk into chunks', () => {
    const chunks = lines.filter((l) => /chunk \d+ of 3 /.test(l));
    expect(chunks).toHaveLength(3);
    expect(chunked.map((r) => r.scenario.index)).toEqual(scenarios.map((s) => s.index));
  });

  it('reports progress as chunks finish, up to the total', () => {
    expect(progress.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < progress.length; i++) expect(progress[i].done).toBeGreaterThanOrEqual(progress[i - 1].done);
    expect(progress[progress.length - 1]).toEqual({ done: scenarios.length, total: scenarios.length });
  });

  it('gives the same rows as one chunk and as separate runs, bit for bit', async () => {
    const one = await GpuEngine.create({ probe });
    try {
      const whole = await one.run(scenarios);
      expect(rows(chunked)).toEqual(rows(whole));
      const separate: RunResult[] = [];
      for (const sc of scenarios) separate.push(...(await one.run([sc])));
      expect(rows(chunked)).toEqual(rows(separate));
    } finally {
      await one.close();
    }
  }, 300_000);

  it('splits by memory when a chunk would exceed its byte budget', async () => {
    const small = await GpuEngine.create({ probe, maxChunkBytes: 60_000, trace: true, log: (s) => lines.push(`mem ${s}`) });
    try {
      const out = await small.run(scenarios.slice(0, 6));
      expect(lines.filter((l) => l.startsWith('mem ') && /chunk 1 of [2-9]/.test(l))).toHaveLength(1);
      expect(rows(out)).toEqual(rows(chunked.slice(0, 6)));
    } finally {
      await small.close();
    }
  }, 300_000);

  it('hands configurations with time series to the CPU engine and says so (choose.ts)', async () => {
    const notes: string[] = [];
    const eng = await createGpuEngine({ probe, log: (s) => notes.push(s) });
    try {
      const withSeries = { ...scenarios[0], timeseries: true };
      const [a, b] = await eng.run([withSeries, scenarios[1]]);
      expect(notes.join('\n')).toMatch(/1 configuration on the cpu engine \(per-step time series/);
      expect(a.timeseries?.step.length).toBeGreaterThan(0);
      const { wall_ms: _a, ...cpuRow } = runScenario(withSeries).metrics;
      const { wall_ms: _b, ...gpuRow } = a.metrics;
      expect(gpuRow).toEqual(cpuRow);
      expect(b.timeseries).toBeUndefined();
    } finally {
      await eng.close();
    }
  }, 300_000);

  it('GpuEngine alone refuses what the kernels cannot simulate, before touching the device', async () => {
    const eng = await GpuEngine.create({ probe });
    try {
      const err = await eng.run([{ ...scenarios[0], timeseries: true }]).catch((e) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toMatch(/configuration 0 cannot run on the GPU: per-step time series/);
    } finally {
      await eng.close();
    }
  });

  it('hands routers that hold requests (br0 hold_ms in per_step) to the CPU engine', async () => {
    const notes: string[] = [];
    const eng = await createGpuEngine({ probe, log: (s) => notes.push(s) });
    try {
      const holding = {
        ...scenarios[0],
        router: 'br0',
        routerParams: resolveRouterParams('br0', { hold_ms: 100 }),
        dispatch: 'per_step' as const,
      };
      const [a] = await eng.run([holding]);
      expect(notes.join('\n')).toMatch(/1 configuration on the cpu engine \(routers that hold requests/);
      const { wall_ms: _a, ...cpuRow } = runScenario(holding).metrics;
      const { wall_ms: _b, ...gpuRow } = a.metrics;
      expect(gpuRow).toEqual(cpuRow);
    } finally {
      await eng.close();
    }
  }, 120_000);
});

describe('chunk planning (no GPU needed)', () => {
  const configs = sweep().map((sc, i) => prepareConfig(sc, i) as GpuConfig);
  const budget = { maxBindingBytes: 2 ** 27, maxBufferBytes: 2 ** 28, maxChunkBytes: 2 ** 30, maxConfigs: 5 };

  it('places every configuration in exactly one chunk, within the configuration cap', () => {
    const { chunks, tooLarge } = planChunks(configs, budget);
    expect(tooLarge).toEqual([]);
    expect(chunks.map((c) => c.configs.length).reduce((a, b) => a + b, 0)).toBe(configs.length);
    expect(new Set(chunks.flatMap((c) => c.configs.map((x) => x.pos))).size).toBe(configs.length);
    for (const c of chunks) expect(c.configs.length).toBeLessThanOrEqual(5);
  });

  it('keeps every buffer of a chunk within the binding and buffer limits', () => {
    // A binding limit of 2.5 times the largest buffer of the largest configuration alone.
    const alone = configs.map((c) => Math.max(...Object.values(chunkBufferBytes({ C: 1, maxN: c.wl.n, maxG: c.sc.dp, runCap: c.runSlots, maxJ: c.horizon.length }))));
    const limit = Math.ceil(2.5 * Math.max(...alone, 4 * (4 * 130 + 1100)));
    const { chunks } = planChunks(configs, { ...budget, maxConfigs: 1000, maxBindingBytes: limit });
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) {
      const b = chunkBufferBytes(c.dims);
      for (const v of [b.params, b.cfg, b.reqs, b.ranks, c.streamWords * 4]) expect(v).toBeLessThanOrEqual(limit);
    }
  });

  it('orders each chunk by router so a pipeline (and a warp) sees one router at a time', () => {
    const { chunks } = planChunks(configs, { ...budget, maxConfigs: 1000 });
    for (const c of chunks) {
      const ids = c.configs.map((x) => x.routerId);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
  });

  it('returns a configuration too large for any buffer on its own', () => {
    const { chunks, tooLarge } = planChunks(configs.slice(0, 2), { ...budget, maxBindingBytes: 1000 });
    expect(chunks).toEqual([]);
    expect(tooLarge).toHaveLength(2);
  });
});
