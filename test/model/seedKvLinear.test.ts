// The write-up's step model (preset seed-kv-linear): t_step = max_g(a*L_g) + b*mean_g(L_g), and
// the mean-KV group term behind it (docs/model.md §5, docs/step-model.md §5).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { simulate } from '../../src/engine/cpu/simulate.ts';
import { InputError } from '../../src/errors.ts';
import { modelFromSpec, resolveStepModel, SEED_KV_PER_TOKEN_PS } from '../../src/model/presets.ts';
import { allToAllUs, meanKvPs, rankBasePs, rankStepUs } from '../../src/model/stepTime.ts';
import { getWorkload } from '../../src/workload/build.ts';
import { handWorkload, makeScenario } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'br-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('seed-kv-linear preset', () => {
  const m = resolveStepModel('seed-kv-linear');

  it('a = 98,304 B of KV per token at 4.8 TB/s = 20.48 ns, b = 0.5 a, nothing else', () => {
    expect(SEED_KV_PER_TOKEN_PS).toBe(Math.round((98_304 / 4.8e12) * 1e12));
    expect(m.perKvTokenRead).toBe(20_480);
    expect(m.perMeanKvToken).toBe(10_240);
    for (const k of ['base', 'baseExperts', 'perDecodeSeq', 'perPrefillToken', 'perAttnKiloPair', 'a2aBase', 'a2aPerMaxRankToken', 'a2aPerToken'] as const) expect(m[k]).toBe(0);
    expect(m.kvCapacityTokens(8)).toBe(2 ** 24);
  });

  it('step = max_g(a L_g) + b mean_g(L_g) on hand-computed loads', () => {
    // Decode steps on 4 ranks with KV reads 1000, 3000, 0, 2000 tokens (1, 2, 0, 1 decodes).
    const loads = [1000, 3000, 0, 2000];
    const decodes = [1, 2, 0, 1];
    const G = 4;
    let maxUs = 0;
    for (let g = 0; g < G; g++) {
      const us = rankStepUs(m, rankBasePs(m, G), { decodeSeqs: decodes[g], prefillTokens: 0, kvTokensRead: loads[g], prefillAttnPairs: 0 });
      maxUs = Math.max(maxUs, us);
    }
    const group = allToAllUs(m, 2, 4, 6000, G);
    expect(maxUs).toBe(Math.floor((3000 * 20_480) / 1e6)); // 61 µs
    expect(group).toBe(Math.floor(((10_240 * 6000) / 4) / 1e6)); // b * mean = 15.36 µs -> 15
    expect(meanKvPs(m, 6001, 4)).toBe(Math.floor((10_240 * 6001) / 4));
  });

  it('prefill costs nothing: a lone request takes 1 µs for its prefill step, then a L per decode step', () => {
    const sc = makeScenario({ dp: 1, model: 'seed-kv-linear', kvCapacity: 2 ** 24, maxModelLen: 40_960 });
    const wl = handWorkload([[0, 1000, 3]]);
    const d = simulate(sc, wl, m, { detail: true }).requests!;
    expect(d.firstTokenUs[0]).toBe(1);
    // Decode steps read 1000 then 1001 tokens: floor(20.48 ns * L) + floor(10.24 ns * L) each.
    const step = (L: number) => Math.floor((L * 20_480) / 1e6) + Math.floor((L * 10_240) / 1e6);
    expect(d.endUs[0]).toBe(1 + step(1000) + step(1001));
  });

  it('the group term (b = 0.5 a vs b = 0) lengthens every step', () => {
    const base = { dp: 4, router: 'jsq_load', model: 'seed-kv-linear', kvCapacity: 2 ** 24, maxModelLen: 40_960, workload: { rate: 40, requests: 300, seed: 5 } };
    const zero = modelFromSpec({ name: 'b0', description: '', coefficients: coefs(SEED_KV_PER_TOKEN_PS), maxModelLen: 40_960, kvCapacityTokens: 2 ** 24 });
    const sc = makeScenario(base);
    const wl = getWorkload(sc.workload);
    const with05 = simulate(sc, wl, m).metrics;
    const with0 = simulate(sc, wl, zero).metrics;
    expect(with05.completed).toBe(300);
    expect(with05.e2e_mean_ms).toBeGreaterThan(with0.e2e_mean_ms);
    expect(with05.idle_frac).toBeGreaterThan(0);
  });
});

describe('meanKvRatio (b/a) in model files', () => {
  it('extends seed-kv-linear with another ratio; 0, 0.3, 0.5 and 1.0 give b = ratio * a', () => {
    for (const [ratio, b] of [[0, 0], [0.3, 6_144], [0.5, 10_240], [1.0, 20_480]] as const) {
      const p = join(dir, `seed-${ratio}.json`);
      writeFileSync(p, JSON.stringify({ name: `seed-b${ratio}`, extends: 'seed-kv-linear', meanKvRatio: ratio }));
      const m = resolveStepModel(p);
      expect(m.perMeanKvToken).toBe(b);
      expect(m.perKvTokenRead).toBe(20_480);
      expect(m.kvCapacityTokens(8)).toBe(2 ** 24);
    }
  });

  it('a ratio below 0 (or not a number) is an InputError naming the field and value', () => {
    const p = join(dir, 'neg.json');
    writeFileSync(p, JSON.stringify({ extends: 'seed-kv-linear', meanKvRatio: -0.5 }));
    expect(() => resolveStepModel(p)).toThrow(InputError);
    expect(() => resolveStepModel(p)).toThrow(/meanKvRatio.*-0\.5/);
    expect(() => modelFromSpec({ name: 'x', description: '', coefficients: coefs(1), meanKvRatio: 'half' as unknown as number, maxModelLen: 10, kvCapacityTokens: 16 })).toThrow(/meanKvRatio/);
    const q = join(dir, 'badext.json');
    writeFileSync(q, JSON.stringify({ extends: 'seed-kv-lin', meanKvRatio: 0.3 }));
    expect(() => resolveStepModel(q)).toThrow(/extends.*seed-kv-lin/);
  });

  it('a ratio applies to the per-DP terms that set their own perKvTokenRead', () => {
    const m = modelFromSpec({ name: 'x', description: '', coefficients: coefs(100), meanKvRatio: 0.3, byDp: { 2: { coefficients: { perKvTokenRead: 1000 } } }, maxModelLen: 10, kvCapacityTokens: 16 });
    expect(m.perMeanKvToken).toBe(30);
    expect(m.byDp!.get(2)!.coefficients.perMeanKvToken).toBe(300);
  });
});

function coefs(kv: number) {
  return { base: 0, baseExperts: 0, perDecodeSeq: 0, perPrefillToken: 0, perKvTokenRead: kv, perAttnKiloPair: 0, a2aBase: 0, a2aPerMaxRankToken: 0, a2aPerToken: 0 };
}
