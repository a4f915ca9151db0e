// The capacity search on the WebGPU engine (SwiftShader in CI): each round's rates of all
// configurations go to the GPU as one batch, and the capacities equal the CPU engine's for
// integer-scored routers (the engines then produce identical rows).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import { CpuEngine } from '../../src/engine/cpu/cpuEngine.ts';
import { GpuEngine } from '../../src/engine/gpu/gpuEngine.ts';
import { parseSlo } from '../../src/capacity/slo.ts';
import { searchCapacity, type CapacityResult } from '../../src/capacity/search.ts';
import { describeGpu, probe } from '../gpu/gpuAvailable.ts';

describeGpu('capacity search: GPU engine = CPU engine', () => {
  const configs = ['vllm_default', 'jsq_load'].flatMap((router, i) =>
    [1, 2].map((seed, j) => scenarioFromFlat({ router, dp: 4, seed, requests: 80, max_output: 128, rate: 8 }, 2 * i + j)),
  );
  const slo = parseSlo('ttft_p95_ms=200,tpot_p95_ms=40');
  const opts = { slo, tolerance: 0.02, minRate: 2, maxRate: 512, window: 'fixed' as const };
  let gpu: { results: CapacityResult[]; simulations: number; rounds: number };
  let cpu: { results: CapacityResult[]; simulations: number; rounds: number };
  const batches: number[] = [];
  let engine: GpuEngine;

  beforeAll(async () => {
    engine = await GpuEngine.create({ probe });
    gpu = await searchCapacity(configs, async (scs) => {
      batches.push(scs.length);
      return engine.run(scs);
    }, opts);
    const c = new CpuEngine({ threads: 1 });
    cpu = await searchCapacity(configs, (scs) => c.run(scs), opts);
    await c.close();
  }, 300_000);
  afterAll(async () => {
    await engine?.close();
  });

  it('finds the same capacities with the same number of simulations', () => {
    expect(gpu.results.map((r) => r.capacity)).toEqual(cpu.results.map((r) => r.capacity));
    expect(gpu.simulations).toBe(cpu.simulations);
    expect(gpu.results.map((r) => r.status)).toEqual(cpu.results.map((r) => r.status));
    expect(gpu.results.some((r) => r.status === 'ok')).toBe(true);
  });
  it('sends each round to the GPU as one batch over all configurations', () => {
    expect(batches.length).toBe(gpu.rounds);
    expect(batches[0]).toBe(configs.length * 8);
  });
});
