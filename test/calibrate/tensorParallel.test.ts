// `calibrate --tp`: a TP profile's tp<N>/ tables, the per-layer all-reduces and the pooled KV
// memory of a TP group (docs/step-model.md §3.4), on the copied Qwen3-32B RTX PRO 6000 profile.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrate, defaultReserveBytes, RTXPRO6000_TOTAL_BYTES } from '../../src/calibrate/calibrate.ts';
import { architectureFromHfConfig } from '../../src/model/analytic/architecture.ts';
import { allReduceUs, RTXPRO6000_PCIE_NCCL } from '../../src/model/analytic/collectives.ts';
import { findGpu } from '../../src/model/analytic/gpus.ts';
import { readProfile } from '../../src/calibrate/profile.ts';
import { InputError } from '../../src/errors.ts';

const PROFILES = join(import.meta.dirname, '..', '..', 'benches', 'fidelity', 'data', 'profiles');
const QWEN32 = join(PROFILES, 'RTXPRO6000', 'Qwen3-32B');

describe('tensor-parallel calibration', () => {
  it('all-reduce = reduce-scatter + all-gather of 1/G of the bytes (measured tables)', () => {
    // 8 KiB over 2 ranks: reduce-scatter receiving 4 KiB (9.83 µs) + all-gather of 4 KiB (10.5 µs).
    expect(allReduceUs(RTXPRO6000_PCIE_NCCL, 8192, 2)).toBeCloseTo(9.83 + 10.5, 9);
    expect(allReduceUs(RTXPRO6000_PCIE_NCCL, 8192, 1)).toBe(0);
  });

  it('reads the tp<N>/ tables and the TP degree\'s skew alpha', () => {
    const p = readProfile(QWEN32, undefined, 2);
    expect(p.dir.endsWith(join('Qwen3-32B', 'tp2'))).toBe(true);
    expect(p.meta.skewAlphaByTp).toEqual({ 1: 0.057, 2: 0.0649 });
    expect(() => readProfile(QWEN32, undefined, 1)).toThrow(/no attention\.csv here or in tp1\//);
  });

  it('adds 2 all-reduces per layer to the lockstep curve and pools the group\'s memory', () => {
    const opts = { dp: [1], maxNumSeqs: 128, maxContext: 8192, l2Correction: false };
    const tp2 = calibrate({ ...opts, path: QWEN32, tp: 2 });
    // The same tables read as a single GPU: no collectives.
    const one = calibrate({ ...opts, path: join(QWEN32, 'tp2'), config: join(QWEN32, 'model-config.json'), tp: 1 });
    const c2 = tp2.preset.byDp!['1'].maxRankTokenCurve!;
    const c1 = one.preset.byDp!['1'].maxRankTokenCurve!;
    expect(c2.tokens).toEqual(c1.tokens);
    const hiddenBytes = 5120 * 2;
    // Bucket 0 is one token (capture size 1): 64 layers x 2 all-reduces of 1 x 5120 x 2 B.
    expect(c2.ps[0] - c1.ps[0]).toBe(Math.round((c1.ps[0] / 1e6 + 2 * 64 * allReduceUs(RTXPRO6000_PCIE_NCCL, hiddenBytes, 2)) * 1e6) - c1.ps[0]);
    // The per-rank fit sees the collectives only through its weights (1 / whole-step time).
    expect(tp2.preset.coefficients.perKvTokenRead! / one.preset.coefficients.perKvTokenRead!).toBeCloseTo(1, 2);
    const kv = tp2.preset.kvMemory!;
    const arch = architectureFromHfConfig(tp2.profile.modelConfig);
    expect(kv.memoryBytes).toBe(2 * RTXPRO6000_TOTAL_BYTES);
    expect(kv.reserveBytes).toBe(2 * defaultReserveBytes(arch, 2048, 128, 1));
    expect(one.preset.kvMemory!.memoryBytes).toBe(RTXPRO6000_TOTAL_BYTES);
    expect(tp2.preset.description).toMatch(/tensor parallel 2/);
  });

  it('refuses TP for an expert-parallel MoE model', () => {
    const moe = join(PROFILES, 'RTXPRO6000', 'Qwen3-30B-A3B-Instruct-2507');
    expect(() => calibrate({ path: join(moe, 'tp1'), config: join(moe, 'model-config.json'), tp: 2 })).toThrow(InputError);
    expect(() => calibrate({ path: join(moe, 'tp1'), config: join(moe, 'model-config.json'), tp: 2 })).toThrow(/tensor parallelism of an expert-parallel MoE model/);
    expect(() => calibrate({ path: QWEN32, tp: 0 })).toThrow(/tp/);
  });

  it('knows the RTX 4090 for profile calibration only', () => {
    expect(findGpu('RTX4090')?.key).toBe('rtx4090');
    expect(findGpu('NVIDIA GeForce RTX 4090')?.memoryBytes).toBe(25_250_627_584);
  });
});
