// The published ADP Balance experiment (docs/barrier-policies.md): its sweep files expand to the
// configurations the document describes, the workload has the blog's mean lengths, the FP8-KV
// model file halves the KV bytes of deepseek-v3-gb200, and a scaled-down run completes.
import { describe, expect, it } from 'vitest';
import { loadSweepFile } from '../../src/config/expand.ts';
import { runScenario } from '../../src/engine/cpu/runScenario.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { getWorkload } from '../../src/workload/build.ts';

const main = loadSweepFile('examples/adp-balance-gb200.yaml').scenarios;
const policy = (s: (typeof main)[number]) => (s.admission === 'none' ? 'baseline' : `adp ${s.adpTimeoutIters}/${s.adpBatchingWaitIters}`);

describe('examples/adp-balance-gb200*.yaml', () => {
  it('three policies x five seeds on DeepSeek-V3 / GB200 at DP 8, 16,000 requests offline', () => {
    expect(main).toHaveLength(15);
    expect(new Set(main.map(policy))).toEqual(new Set(['baseline', 'adp 50/0', 'adp 50/10']));
    for (const s of main) {
      expect(s).toMatchObject({ dp: 8, router: 'sorted_round_robin', dispatch: 'per_step', maxNumSeqs: 384, maxBatchedTokens: 8192 });
      expect(s.workload).toMatchObject({ requests: 16000, rate: 100000, maxOutput: 32768 });
    }
    expect(new Set(main.map((s) => s.workload.seed))).toEqual(new Set([1, 2, 3, 4, 5]));
    expect(loadSweepFile('examples/adp-balance-gb200-ttft.yaml').scenarios).toHaveLength(9);
    expect(loadSweepFile('examples/adp-balance-gb200-sensitivity.yaml').scenarios).toHaveLength(4 * 3 * 3);
  });

  it('lengths: clamped lognormals with the blog\'s means, 803 input and 3,653 output tokens (within 2%)', () => {
    const wl = getWorkload(main[0].workload);
    let p = 0;
    let o = 0;
    for (let i = 0; i < wl.n; i++) {
      p += wl.prompt[i];
      o += wl.output[i];
    }
    expect(Math.abs(p / wl.n / 803 - 1)).toBeLessThan(0.02);
    expect(Math.abs(o / wl.n / 3653 - 1)).toBeLessThan(0.02);
    // Offline: every request arrives within 0.2 s.
    expect(wl.arrivalUs[wl.n - 1]).toBeLessThan(200_000);
  });

  it('FP8 KV cache: half the KV bytes per token of deepseek-v3-gb200, so half the read time and twice the capacity', () => {
    const bf16 = resolveStepModel('deepseek-v3-gb200');
    const fp8 = resolveStepModel(main[0].model);
    expect(Math.abs(fp8.perKvTokenRead - bf16.perKvTokenRead / 2)).toBeLessThanOrEqual(1);
    expect(fp8.kvCapacityTokens(8)).toBe(1_836_960);
    expect(Math.abs(fp8.kvCapacityTokens(8) / bf16.kvCapacityTokens(8) - 2)).toBeLessThan(1e-4);
    for (const k of ['base', 'baseExperts', 'perDecodeSeq', 'perPrefillToken', 'a2aPerMaxRankToken', 'hostPerStep'] as const) expect(fp8[k]).toBe(bf16[k]);
  });

  it('scaled down (64 requests, 4 slots per rank) every policy runs and completes every request', () => {
    const ratio: Record<string, number> = {};
    for (const s of main.filter((x) => x.workload.seed === 1)) {
      const r = runScenario({ ...s, maxNumSeqs: 4, workload: { ...s.workload, requests: 64, maxOutput: 2048 } });
      expect(r.metrics.completed).toBe(64);
      expect(r.metrics.preempted).toBe(0);
      ratio[policy(s)] = r.metrics.token_balance_ratio;
    }
    expect(Object.keys(ratio)).toHaveLength(3);
    for (const v of Object.values(ratio)) expect(v > 0 && v <= 1).toBe(true);
  });
});
