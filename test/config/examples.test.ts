// Every shipped example sweep loads and expands; the seed-reproduction sweeps
// (docs/seed-reproduction.md) expand to the experiments the document describes.
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { loadSweepFile } from '../../src/config/expand.ts';
import { resolveStepModel } from '../../src/model/presets.ts';

const examples = readdirSync('examples').filter((f) => /\.ya?ml$/.test(f));

describe('shipped example sweeps', () => {
  it.each(examples)('%s loads and expands', (f) => {
    expect(loadSweepFile(`examples/${f}`).scenarios.length).toBeGreaterThan(0);
  });

  it('includes every seed reproduction sweep', () => {
    for (const x of ['a', 'b', 'c', 'd', 'saturation', 'qwen3-a', 'qwen3-b', 'qwen3-c', 'qwen3-d']) {
      expect(examples).toContain(`seed-sim-${x}.yaml`);
    }
  });
});

describe('seed reproduction sweeps', () => {
  const load = (x: string) => loadSweepFile(`examples/seed-sim-${x}.yaml`).scenarios;

  it('(a) sweeps b/a over {0, 0.3, 0.5, 1.0} at G = 8, at 0.7 x saturation and saturated', () => {
    const s = load('a');
    expect(s).toHaveLength(2 * 4 * 3 * 5);
    const ratios = [...new Set(s.map((c) => c.model))].map((m) => {
      const model = resolveStepModel(m);
      return model.perMeanKvToken / model.perKvTokenRead;
    });
    expect(ratios.map((r) => Math.round(r * 10) / 10)).toEqual([0, 0.3, 0.5, 1]);
    expect(s.every((c) => c.dp === 8 && c.statsIntervalMs === 0 && c.workload.requests === 5000)).toBe(true);
    expect(new Set(s.map((c) => c.router))).toEqual(new Set(['vllm_default', 'jsq_load', 'fast_phi']));
    expect(new Set(s.map((c) => c.workload.seed)).size).toBe(5);
  });

  it('(b) runs G = 4, 8, 16 with four routers', () => {
    const s = load('b');
    expect(s).toHaveLength(2 * 3 * 4 * 5);
    expect(new Set(s.map((c) => c.dp))).toEqual(new Set([4, 8, 16]));
    expect(new Set(s.map((c) => c.router))).toEqual(new Set(['vllm_default', 'jsq_load', 'br0', 'fast_phi']));
  });

  it('(c) sweeps fast_phi K over {1, 3, 5, 10, full} with time series', () => {
    const s = load('c');
    expect(s).toHaveLength(2 * 6 * 5);
    expect(s.every((c) => c.timeseries)).toBe(true);
    const ks = s.filter((c) => c.router === 'fast_phi').map((c) => String((c.routerParams as Record<string, unknown>).K));
    expect([...new Set(ks)]).toEqual(['1', '3', '5', '10', 'full']);
  });

  it('(d) has no barrier', () => {
    const s = load('d');
    expect(s).toHaveLength(2 * 5 * 5);
    expect(s.every((c) => c.sync === 'independent')).toBe(true);
    expect(new Set(s.map((c) => c.router))).toEqual(new Set(['vllm_default', 'random', 'jsq_load', 'br0', 'fast_phi']));
  });

  it('the no-prefill model zeroes the prefill terms of qwen3-30b-a3b-h100 and keeps the rest', () => {
    const full = resolveStepModel('qwen3-30b-a3b-h100');
    const noPrefill = resolveStepModel('examples/data/qwen3-h100-no-prefill.json');
    expect(noPrefill.perPrefillToken).toBe(0);
    expect(noPrefill.perAttnKiloPair).toBe(0);
    expect(full.perPrefillToken).toBeGreaterThan(0);
    expect(noPrefill.perKvTokenRead).toBe(full.perKvTokenRead);
    expect(noPrefill.a2aBase).toBe(full.a2aBase);
  });
});
