// The roofline derivation of docs/step-model.md §1-§2 against numbers computed by hand.
import { describe, expect, it } from 'vitest';
import { analyticPreset, DEFAULT_ASSUMPTIONS } from '../../src/model/analytic/analytic.ts';
import { architectureFigures, architectureFromHfConfig } from '../../src/model/analytic/architecture.ts';
import { GPUS, findGpu } from '../../src/model/analytic/gpus.ts';
import { HF_CONFIGS } from '../../src/model/analytic/hfConfigs.ts';
import { kvCapacityFromMemory, listPresets, resolveStepModel } from '../../src/model/presets.ts';
import { InputError } from '../../src/errors.ts';

const qwen = architectureFromHfConfig(HF_CONFIGS['qwen3-30b-a3b'].config);

describe('architecture from a Hugging Face config.json', () => {
  it('Qwen3-30B-A3B: parameter counts by hand', () => {
    expect(qwen).toMatchObject({ layers: 48, hidden: 2048, heads: 32, kvHeads: 4, headDim: 128, experts: 128, topK: 8, expertWidth: 768, denseLayers: 0, weightBytes: 2 });
    const f = architectureFigures(qwen);
    // q 2048x4096 + k,v 2 x 2048x512 + o 4096x2048
    expect(f.attentionParamsPerLayer).toBe(2048 * 4096 + 2 * 2048 * 512 + 4096 * 2048); // 18,874,368
    expect(f.expertParams).toBe(3 * 2048 * 768); // 4,718,592
    // embedding + untied LM head + attention + norms (2 per layer + final) + routers
    const shared = 2 * 151936 * 2048 + 48 * 18_874_368 + (48 * 2 * 2048 + 2048) + 48 * 2048 * 128;
    expect(f.sharedParams).toBe(shared);
    expect(shared).toBe(1_541_081_088);
    expect(f.expertParamsTotal).toBe(48 * 128 * 4_718_592); // 28,991,029,248 (58.0 GB in BF16)
    expect(f.activeParams).toBe(151936 * 2048 + 48 * 18_874_368 + 48 * 2048 * 128 + 48 * 8 * 4_718_592); // 3.04 B
    expect(f.kvBytesPerToken).toBe(2 * 48 * 4 * 128 * 2); // 98,304
    expect(f.attnFlopsPerPair).toBe(4 * 32 * 128 * 48); // 786,432
  });

  it('DeepSeek-V3: 671 B parameters, MLA latent KV cache, FP8 weights', () => {
    const a = architectureFromHfConfig(HF_CONFIGS['deepseek-v3'].config);
    const f = architectureFigures(a);
    expect(a.weightBytes).toBe(1);
    expect(a.denseLayers).toBe(3);
    expect(f.moeLayers).toBe(58);
    expect(Math.abs((f.sharedParams + f.expertParamsTotal) / 671e9 - 1)).toBeLessThan(0.005);
    expect(f.kvBytesPerToken).toBe(61 * (512 + 64) * 2); // 70,272
    // 61 layers, the first 3 dense; 256 routed experts and 1 shared expert per MoE layer, top-8
    expect(a).toMatchObject({ layers: 61, experts: 256, sharedExperts: 1, topK: 8, expertWidth: 2048, hidden: 7168 });
    expect(f.expertParamsTotal).toBe(58 * 256 * 3 * 7168 * 2048); // 653.9 B, 1 B each in FP8
    // about 37 B active parameters per token
    expect(Math.abs(f.activeParams / 37.5e9 - 1)).toBeLessThan(0.05);
  });

  it('Mixtral-8x7B: 46.7 B parameters, top-2 of 8 experts', () => {
    const a = architectureFromHfConfig(HF_CONFIGS['mixtral-8x7b'].config);
    const f = architectureFigures(a);
    expect(a.expertWidth).toBe(14336);
    expect(Math.abs((f.sharedParams + f.expertParamsTotal) / 46.7e9 - 1)).toBeLessThan(0.01);
    expect(f.kvBytesPerToken).toBe(2 * 32 * 8 * 128 * 2);
  });

  it('missing fields are InputErrors naming the field', () => {
    expect(() => architectureFromHfConfig({ hidden_size: 2048 })).toThrow(InputError);
    expect(() => architectureFromHfConfig({ hidden_size: 2048 })).toThrow(/config\.num_hidden_layers: missing/);
    expect(() => architectureFromHfConfig([1, 2])).toThrow(/must be a JSON object/);
  });
});

describe('analytic presets', () => {
  it('Qwen3-30B-A3B on H100: every coefficient as computed by hand', () => {
    const p = analyticPreset('x', qwen, GPUS.h100);
    const bw = 0.7 * 3.35e12; // B/s achieved
    const flops = 0.5 * 989.4e12; // FLOP/s achieved
    const ps = (s: number) => Math.round(s * 1e12);
    expect(p.coefficients).toEqual({
      base: ps((1_541_081_088 * 2) / bw), // 1.314 ms
      baseExperts: ps((28_991_029_248 * 2) / bw), // 24.72 ms
      perDecodeSeq: ps((0.5 * 2 * 3_041_656_832) / flops), // 6.15 µs
      perPrefillToken: ps((2 * 3_041_656_832) / flops), // 12.30 µs
      perKvTokenRead: ps(98_304 / bw), // 41.9 ns
      perAttnKiloPair: ps((1024 * 786_432) / flops), // 1.628 µs
      a2aBase: ps(2 * 48 * 15e-6), // 1.44 ms
      a2aPerMaxRankToken: ps((2 * 8 * 2048 * 2 * 48) / (0.7 * 450e9)), // 9.99 µs
      a2aPerToken: 0,
      perPrefillKvToken: 0,
      perMixedDecodeKvToken: 0,
      perMixedDecodeSeq: 0,
      perDecodeSkewToken: 0,
      hostPerStep: ps(0.5e-3), // the per-step host overhead, a group term (docs/model.md §5)
    });
    expect(p.maxModelLen).toBe(40960);
  });

  it('reproduces the hand-rounded default preset qwen3-30b-a3b-h100 within 3%', () => {
    const derived = analyticPreset('x', qwen, GPUS.h100).coefficients;
    const shipped = listPresets().find((p) => p.name === 'qwen3-30b-a3b-h100')!.coefficients;
    for (const [k, v] of Object.entries(shipped)) {
      const d = derived[k as keyof typeof derived]!;
      if (v === 0) expect(d).toBe(0);
      else expect(Math.abs(d / v - 1), k).toBeLessThan(0.03);
    }
  });

  it('KV capacity per rank from memory, utilisation, weights under EP and KV bytes per token', () => {
    const p = analyticPreset('x', qwen, GPUS.rtxpro6000);
    const free = 96e9 * 0.9 - 1_541_081_088 * 2 - (28_991_029_248 * 2) / 2 - 4e9;
    const tokens = Math.floor(free / 98_304);
    expect(kvCapacityFromMemory(p.kvMemory!, 2)).toBe(tokens - (tokens % 16));
    // The default preset's documented figures (docs/model.md §9).
    expect(resolveStepModel('qwen3-30b-a3b-h100').kvCapacityTokens(8)).toBe(586_848);
  });

  it('ships presets for three models on six GPUs, all loadable', () => {
    const names = listPresets().map((p) => p.name);
    for (const m of ['qwen3-30b-a3b', 'deepseek-v3', 'mixtral-8x7b']) {
      for (const g of ['h100', 'h200', 'b200', 'gb200', 'a100', 'rtxpro6000']) {
        expect(names).toContain(`${m}-${g}`);
        expect(resolveStepModel(`${m}-${g}`).name).toBe(`${m}-${g}`);
      }
    }
    // FP8 DeepSeek-V3 runs FP8 GEMMs on H100 but weight-only FP8 (BF16 math) on A100.
    const h100 = listPresets().find((p) => p.name === 'deepseek-v3-h100')!.coefficients.perPrefillToken!;
    const a100 = listPresets().find((p) => p.name === 'deepseek-v3-a100')!.coefficients.perPrefillToken!;
    expect(a100 / h100).toBeCloseTo((1978.9 / 312) * 1, 1);
  });

  it('DeepSeek-V3 on GB200: coefficients from the NVL72 datasheet per GPU, FP8 GEMMs', () => {
    const ds = architectureFromHfConfig(HF_CONFIGS['deepseek-v3'].config);
    const f = architectureFigures(ds);
    const p = listPresets().find((q) => q.name === 'deepseek-v3-gb200')!;
    const ps = (s: number) => Math.round(s * 1e12);
    expect(GPUS.gb200).toMatchObject({ memoryBytes: 186e9, memoryBytesPerSecond: 8e12, fp8FlopsPerSecond: 5e15, bf16FlopsPerSecond: 2.5e15 });
    expect(GPUS.gb200.interconnect.bytesPerSecond).toBe(900e9); // 1.8 TB/s per GPU, both directions
    expect(p.coefficients.perPrefillToken).toBe(ps((2 * f.activeParams) / (0.5 * 5e15))); // 29.3 µs
    expect(p.coefficients.perAttnKiloPair).toBe(ps((1024 * f.attnFlopsPerPair) / (0.5 * 2.5e15)));
    expect(p.coefficients.baseExperts).toBe(ps(f.expertWeightBytes / (0.7 * 8e12))); // 116.8 ms before / G
    expect(p.coefficients.a2aPerMaxRankToken).toBe(ps((2 * 8 * 7168 * 2 * 58) / (0.7 * 900e9))); // 21.1 µs
  });

  it('DeepSeek-V3 KV capacity per rank at DP 8, 16, 32 (docs/step-model.md §2); below DP 8 the weights do not fit', () => {
    const cap = (g: string, dp: number) => resolveStepModel(`deepseek-v3-${g}`).kvCapacityTokens(dp);
    // H200 at DP 8 by hand: 0.9 x 141 GB - 17.1 GB shared - 653.9 GB / 8 experts - 4 GB = 24.0 GB of 70,272 B tokens
    expect(cap('h200', 8)).toBe(342_144);
    expect([cap('h200', 16), cap('h200', 32)]).toEqual([923_728, 1_214_528]);
    expect([cap('b200', 8), cap('b200', 16), cap('b200', 32)]).toEqual([841_632, 1_423_216, 1_714_016]);
    expect([cap('gb200', 8), cap('gb200', 16), cap('gb200', 32)]).toEqual([918_480, 1_500_064, 1_790_864]);
    for (const g of ['h200', 'b200', 'gb200']) expect(cap(g, 4)).toBe(0);
  });

  it('GPU lookup by profiler hardware names', () => {
    expect(findGpu('NVIDIA GB200')?.key).toBe('gb200');
    expect(findGpu('NVIDIA B200')?.key).toBe('b200');
    expect(findGpu('RTXPRO6000')?.key).toBe('rtxpro6000');
    expect(findGpu('NVIDIA RTX PRO 6000 Blackwell Server Edition')?.key).toBe('rtxpro6000');
    expect(findGpu('NVIDIA H100 80GB HBM3')?.key).toBe('h100');
    expect(findGpu('MI300X')).toBeUndefined();
    expect(DEFAULT_ASSUMPTIONS.memoryEfficiency).toBe(0.7);
  });
});
