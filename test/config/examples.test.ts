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

// The decode-group (pd) version of the seed tables (docs/barrier-policies.md): every run is a pd
// deployment over InfiniBand with P = G / 2 prefill instances (P = 1.5 G for DeepSeek-V3, whose
// prefill would otherwise limit the deployment), and seed-kv-linear, which has no KV layout of its
// own, moves Qwen3-30B-A3B's 98,304 B per token.
describe('decode-group (pd) seed sweeps', () => {
  const load = (x: string) => loadSweepFile(`examples/pd-seed-${x}.yaml`).scenarios;
  const allPd = (s: ReturnType<typeof load>) => {
    const p = (c: (typeof s)[number]) => (String(c.model).startsWith('deepseek-v3') ? 1.5 * c.dp : c.dp / 2);
    expect(s.every((c) => c.topology === 'pd' && c.kvLink === 'ib' && c.prefillInstances === p(c))).toBe(true);
    for (const c of s) if (String(c.model).includes('seed-kv-linear')) expect(c.kvBytesPerToken).toBe(98304);
  };

  it('exist for (a), (b), (d) and the saturation rates', () => {
    for (const x of ['a', 'b', 'qwen3-b', 'dsv3-b', 'd', 'saturation']) expect(examples).toContain(`pd-seed-${x}.yaml`);
  });

  it('(a) sweeps b/a over {0, 0.3, 0.5, 1.0} on a decode group of 8', () => {
    const s = load('a');
    expect(s).toHaveLength(2 * 4 * 3 * 5);
    allPd(s);
    expect(s.every((c) => c.dp === 8 && c.statsIntervalMs === 0 && c.workload.requests === 5000)).toBe(true);
    const ratios = [...new Set(s.map((c) => c.model))].map((m) => {
      const model = resolveStepModel(m);
      return Math.round((model.perMeanKvToken / model.perKvTokenRead) * 10) / 10;
    });
    expect(ratios).toEqual([0, 0.3, 0.5, 1]);
  });

  it('(b) runs decode groups of 4, 8, 16 with four routers, on both step models', () => {
    for (const x of ['b', 'qwen3-b']) {
      const s = load(x);
      expect(s).toHaveLength(2 * 3 * 4 * 5);
      allPd(s);
      expect(new Set(s.map((c) => c.dp))).toEqual(new Set([4, 8, 16]));
      expect(new Set(s.map((c) => c.router))).toEqual(new Set(['vllm_default', 'jsq_load', 'br0', 'fast_phi']));
    }
  });

  it('(b) on DeepSeek-V3 runs decode groups of 8 and 16 with four routers', () => {
    const s = load('dsv3-b');
    expect(s).toHaveLength(2 * 2 * 4 * 5);
    allPd(s);
    expect(new Set(s.map((c) => c.dp))).toEqual(new Set([8, 16]));
  });

  it("(d)'s routers run on the decode group with its barrier (pd has no independent mode)", () => {
    const s = load('d');
    expect(s).toHaveLength(2 * 5 * 5);
    allPd(s);
    expect(s.every((c) => c.sync === 'barrier')).toBe(true);
    expect(new Set(s.map((c) => c.router))).toEqual(new Set(['vllm_default', 'random', 'jsq_load', 'br0', 'fast_phi']));
  });

  it('the saturation sweep covers every setting the experiments run', () => {
    const sat = load('saturation');
    allPd(sat);
    const key = (c: (typeof sat)[number]) => `${String(c.model)}|${c.dp}`;
    const have = new Set(sat.map(key));
    for (const x of ['a', 'b', 'qwen3-b', 'dsv3-b', 'd']) for (const c of load(x)) expect(have.has(key(c))).toBe(true);
  });
});
