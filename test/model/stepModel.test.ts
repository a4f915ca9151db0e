// The step-time model's integer terms (docs/model.md §5): lookup-table curves, per-DP terms,
// mixed-batch, prefill-KV and skew terms, and model-file validation.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCurve, curveMaxPs, curvePs, curveThrough } from '../../src/model/stepCurve.ts';
import { allToAllUs, dpSyncPs, hostStepUs, psToUs, rankBasePs, rankStepPs, stepModelForDp, worstCaseStepPs } from '../../src/model/stepTime.ts';
import { modelFromSpec, resolveStepModel } from '../../src/model/presets.ts';
import type { PresetSpec } from '../../src/calibrate/presetSpec.ts';
import { InputError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'br-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const curve = { tokens: [1, 5, 9, 100], ps: [1_000_000, 2_000_000, 3_000_000, 10_000_000], slopePs: [0, 0, 77_000, 30_000] };

const spec = (over: Partial<PresetSpec> = {}): PresetSpec => ({
  name: 'test',
  description: '',
  coefficients: { base: 1_000_000, baseExperts: 0, perDecodeSeq: 10, perPrefillToken: 20, perKvTokenRead: 3, perAttnKiloPair: 7, a2aBase: 0, a2aPerMaxRankToken: 0, a2aPerToken: 0 },
  maxModelLen: 4096,
  kvCapacityTokens: 100_000,
  ...over,
});

describe('piecewise-linear curves', () => {
  it('value(x) = ps[i] + slope[i] * (x - tokens[i]) on the last breakpoint <= x; flat below the first', () => {
    expect(curvePs(curve, 1)).toBe(1_000_000);
    expect(curvePs(curve, 4)).toBe(1_000_000);
    expect(curvePs(curve, 5)).toBe(2_000_000);
    expect(curvePs(curve, 8)).toBe(2_000_000);
    expect(curvePs(curve, 9)).toBe(3_000_000);
    expect(curvePs(curve, 50)).toBe(3_000_000 + 77_000 * 41);
    expect(curvePs(curve, 100)).toBe(10_000_000);
    expect(curvePs(curve, 2100)).toBe(10_000_000 + 30_000 * 2000); // beyond: last slope
    expect(curveMaxPs(curve, 50)).toBe(3_000_000 + 77_000 * 41);
    expect(curveMaxPs(curve, 99)).toBe(3_000_000 + 77_000 * 90);
  });

  it('curveThrough rounds to integers, keeps slopes non-negative and extends the last one', () => {
    const c = curveThrough([1, 3, 7], [10.4, 30.6, 30.6]);
    expect(c).toEqual({ tokens: [1, 3, 7], ps: [10, 31, 31], slopePs: [10, 0, 0] });
  });

  it('checkCurve names the bad entry', () => {
    expect(() => checkCurve({ tokens: [1, 1], ps: [0, 0], slopePs: [0, 0] }, 'm.curve')).toThrow(/m\.curve\.tokens\[1\]: must be strictly increasing/);
    expect(() => checkCurve({ tokens: [1], ps: [-1], slopePs: [0] }, 'm.curve')).toThrow(/m\.curve\.ps\[0\]/);
    expect(() => checkCurve({ tokens: [1], ps: [0], slopePs: [0.5] }, 'm.curve')).toThrow(/m\.curve\.slopePs\[0\]/);
    expect(() => checkCurve({ tokens: [1, 2], ps: [0], slopePs: [0, 0] }, 'm.curve')).toThrow(/same length/);
    expect(() => checkCurve([1, 2], 'm.curve')).toThrow(InputError);
  });
});

describe('rank terms', () => {
  const m = modelFromSpec(spec({ coefficients: { ...spec().coefficients, perPrefillKvToken: 100, perMixedDecodeKvToken: 1000, perMixedDecodeSeq: 5000, perDecodeSkewToken: 2 } }));
  const base = rankBasePs(m, 1);

  it('decode-only: base + decodes + KV + skew of uneven contexts', () => {
    // 3 decodes with contexts 100, 200, 600: kv 900, max 600 -> skew tokens 3*600 - 900 = 900.
    const ps = rankStepPs(m, base, { decodeSeqs: 3, prefillTokens: 0, kvTokensRead: 900, prefillAttnPairs: 0, prefillKvTokens: 0, decodeKvMax: 600 });
    expect(ps).toBe(1_000_000 + 10 * 3 + 3 * 900 + 2 * 900);
  });

  it('mixed: prefill KV and the decodes of the batch charged again at the mixed rates', () => {
    // 2 decodes (contexts 300, 300) + a 64-token chunk on top of 128 computed tokens.
    const pairs = 64 * 128 + (64 * 65) / 2;
    const ps = rankStepPs(m, base, { decodeSeqs: 2, prefillTokens: 64, kvTokensRead: 600 + 128, prefillAttnPairs: pairs, prefillKvTokens: 128, decodeKvMax: 300 });
    expect(ps).toBe(1_000_000 + 10 * 2 + 20 * 64 + 3 * 728 + 7 * Math.floor(pairs / 1024) + 100 * 128 + 5000 * 2 + 1000 * 600);
  });

  it('models without the new terms ignore the new work fields (old callers pass none)', () => {
    const plain = resolveStepModel('qwen3-30b-a3b-h100');
    const w = { decodeSeqs: 2, prefillTokens: 64, kvTokensRead: 728, prefillAttnPairs: 10_272 };
    expect(rankStepPs(plain, rankBasePs(plain, 4), w)).toBe(rankStepPs(plain, rankBasePs(plain, 4), { ...w, prefillKvTokens: 128, decodeKvMax: 300 }));
  });
});

describe('per-DP terms (calibrated models)', () => {
  const s = spec({ byDp: { '1': { maxRankTokenCurve: curve }, '2': { coefficients: { a2aBase: 5_000_000 }, maxRankTokenCurve: { tokens: [1], ps: [4_000_000], slopePs: [1_000] } } } });
  const m = modelFromSpec(s);

  it('stepModelForDp picks G-specific coefficients and curve; allToAllUs adds the curve', () => {
    const m1 = stepModelForDp(m, 1);
    expect(allToAllUs(m1, 9, 9)).toBe(3);
    expect(allToAllUs(m1, 9, 0)).toBe(0); // no tokens: no group step
    const m2 = stepModelForDp(m, 2);
    expect(m2.a2aBase).toBe(5_000_000);
    expect(allToAllUs(m2, 1001, 1500)).toBe(Math.floor((5_000_000 + 4_000_000 + 1000 * 1000) / 1e6));
    expect(stepModelForDp(resolveStepModel('qwen3-30b-a3b-h100'), 8).name).toBe('qwen3-30b-a3b-h100');
  });

  it('a DP size without terms is an InputError that says how to get them', () => {
    expect(() => stepModelForDp(m, 4)).toThrow(/dp: model test was calibrated for dp 1, 2 only; recalibrate with --dp 4/);
  });

  it('the worst case includes the curve', () => {
    const m1 = stepModelForDp(m, 1);
    expect(worstCaseStepPs(m1, 8, 100, 4096)).toBeGreaterThanOrEqual(10_000_000);
  });

  it('model files: optional new coefficients default to 0; bad byDp entries name the field', () => {
    const p = join(dir, 'm.json');
    writeFileSync(p, JSON.stringify(s));
    const loaded = resolveStepModel(p);
    expect(loaded.perMixedDecodeKvToken).toBe(0);
    expect([...loaded.byDp!.keys()]).toEqual([1, 2]);
    expect(() => modelFromSpec(spec({ byDp: { two: {} } }))).toThrow(/model\.byDp: keys must be DP sizes/);
    expect(() => modelFromSpec(spec({ byDp: { '2': { coefficients: { speed: 1 } as never } } }))).toThrow(/model\.byDp\.2\.coefficients\.speed: unknown coefficient/);
    expect(() => modelFromSpec(spec({ byDp: { '2': { coefficients: { a2aBase: -1 } } } }))).toThrow(/model\.byDp\.2\.coefficients\.a2aBase/);
    expect(() => modelFromSpec(spec({ coefficients: { ...spec().coefficients, perMixedDecodeSeq: 1.5 } }))).toThrow(/coefficients\.perMixedDecodeSeq/);
    expect(() => modelFromSpec(spec({ coefficients: { ...spec().coefficients, base: undefined } }))).toThrow(/coefficients\.base/);
  });
});

describe('host terms (docs/model.md §5)', () => {
  it('the default preset: moving 0.5 ms from base to hostPerStep leaves every busy step as long as before', () => {
    const now = resolveStepModel('qwen3-30b-a3b-h100');
    expect(now.base).toBe(1_300_000_000);
    expect(now.hostPerStep).toBe(500_000_000);
    const before = { ...now, base: 1_800_000_000, hostPerStep: 0 };
    for (const G of [1, 2, 8, 64]) {
      for (const w of [
        { decodeSeqs: 1, prefillTokens: 0, kvTokensRead: 700, prefillAttnPairs: 0 },
        { decodeSeqs: 200, prefillTokens: 0, kvTokensRead: 333_333, prefillAttnPairs: 0 },
        { decodeSeqs: 17, prefillTokens: 2048, kvTokensRead: 51_234, prefillAttnPairs: 2048 * 3000 + (2048 * 2049) / 2 },
      ]) {
        const tokens = w.decodeSeqs + w.prefillTokens;
        const rMax = w.decodeSeqs + (w.prefillTokens > 0 ? 1 : 0);
        const old = psToUs(rankStepPs(before, rankBasePs(before, G), w)) + allToAllUs(before, tokens, tokens * G, w.kvTokensRead * G, G) + hostStepUs(before, rMax, dpSyncPs(before, G, 8));
        const neu = psToUs(rankStepPs(now, rankBasePs(now, G), w)) + allToAllUs(now, tokens, tokens * G, w.kvTokensRead * G, G) + hostStepUs(now, rMax, dpSyncPs(now, G, 8));
        expect(neu, `G=${G}`).toBe(old);
      }
    }
  });

  it('dp_sync: 0 for one rank, intra-node up to ranks_per_node, inter-node beyond', () => {
    const m = modelFromSpec(spec({ coefficients: { ...spec().coefficients, dpSyncIntraNode: 7_000_000, dpSyncInterNode: 90_000_000, hostPerStep: 1_000_000, hostPerRequest: 2_500_000 } }));
    expect([dpSyncPs(m, 1, 8), dpSyncPs(m, 2, 8), dpSyncPs(m, 8, 8), dpSyncPs(m, 9, 8), dpSyncPs(m, 2, 1)]).toEqual([0, 7_000_000, 7_000_000, 90_000_000, 90_000_000]);
    // floor((1 µs + 2.5 µs * 3 + 7 µs) / 1e6 ps) = 15 µs
    expect(hostStepUs(m, 3, dpSyncPs(m, 4, 8))).toBe(15);
    expect(hostStepUs(m, 0, 0)).toBe(1);
  });

  it('model files: host terms are optional integer picoseconds, asyncScheduling a boolean (absent = true), frontend µs', () => {
    const m = modelFromSpec(spec());
    expect([m.hostPerStep, m.hostPerRequest, m.dpSyncIntraNode, m.dpSyncInterNode, m.asyncScheduling, m.frontend]).toEqual([0, 0, 0, 0, true, undefined]);
    expect(resolveStepModel('seed-kv-linear').asyncScheduling).toBe(false);
    const f = modelFromSpec({ ...spec(), asyncScheduling: false, frontend: { ingressUs: 100, perTokenUs: 2.5 } });
    expect(f.asyncScheduling).toBe(false);
    expect(f.frontend).toEqual({ ingressUs: 100, egressUs: 0, perTokenUs: 2.5 });
    expect(() => modelFromSpec(spec({ coefficients: { ...spec().coefficients, hostPerRequest: 1.5 } }))).toThrow(/model\.coefficients\.hostPerRequest/);
    expect(() => modelFromSpec({ ...spec(), asyncScheduling: 'yes' } as unknown as PresetSpec)).toThrow(/model\.asyncScheduling.*true or false/);
    expect(() => modelFromSpec({ ...spec(), frontend: { ingressUs: -1 } })).toThrow(/model\.frontend\.ingressUs/);
    expect(() => modelFromSpec({ ...spec(), frontend: { ingresUs: 1 } } as unknown as PresetSpec)).toThrow(/model\.frontend.*unknown key/);
  });
});
