// What packChunk uploads for the step model's host terms and async scheduling, and the guard that
// keeps every step-time coefficient ported (src/engine/gpu/prepare.ts); no GPU needed.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveAsyncScheduling } from '../../src/engine/core/engineCore.ts';
import { L } from '../../src/engine/gpu/layout.ts';
import { GPU_STEP_COEFFICIENTS, packChunk, planChunks, prepareConfig, type GpuConfig } from '../../src/engine/gpu/prepare.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { STEP_COEFFICIENTS } from '../../src/model/types.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { makeScenario } from '../helpers.ts';

const HOST_TERMS = fileURLToPath(new URL('./fixtures/host-terms.json', import.meta.url));
const BUDGET = { maxBindingBytes: 2 ** 30, maxBufferBytes: 2 ** 30, maxChunkBytes: 2 ** 30, maxConfigs: 64 };

function packed(over: Parameters<typeof makeScenario>[0]): { word: (f: number) => number; config: GpuConfig } {
  const config = prepareConfig({ ...makeScenario({ workload: { rate: 5, requests: 20, seed: 1 }, ...over }), index: 0 }, 0);
  if ('reason' in config) throw new Error(config.reason);
  const { chunks } = planChunks([config], BUDGET);
  const { params } = packChunk(chunks[0]);
  return { word: (f) => params[f], config };
}

describe('GPU packing of the fidelity terms', () => {
  it('ports every step-time coefficient of the model', () => {
    expect([...GPU_STEP_COEFFICIENTS].sort()).toEqual([...STEP_COEFFICIENTS].sort());
  });

  it('packs hostPerStep plus the DP sync of this G and ranks_per_node, and hostPerRequest', () => {
    const m = resolveStepModel(HOST_TERMS);
    const cases: [number, number, number][] = [
      [1, 8, m.hostPerStep], // one rank: no DP sync
      [4, 8, m.hostPerStep + m.dpSyncIntraNode],
      [8, 8, m.hostPerStep + m.dpSyncIntraNode],
      [16, 8, m.hostPerStep + m.dpSyncInterNode],
      [2, 1, m.hostPerStep + m.dpSyncInterNode],
    ];
    for (const [dp, ranksPerNode, ps] of cases) {
      const { word } = packed({ model: HOST_TERMS, dp, ranksPerNode });
      expect(word(L.P_HOST_LO) + word(L.P_HOST_LO + 1) * 2 ** 32, `dp ${dp} ranks_per_node ${ranksPerNode}`).toBe(ps);
      expect(word(L.P_HOST_REQ)).toBe(m.hostPerRequest);
    }
  });

  it('packs the resolved async scheduling: auto follows the model, on and off override it', () => {
    for (const [model, asyncScheduling, on] of [
      ['qwen3-30b-a3b-h100', undefined, true],
      ['qwen3-30b-a3b-h100', 'off', false],
      ['seed-kv-linear', undefined, false],
      ['seed-kv-linear', 'on', true],
    ] as const) {
      const over = asyncScheduling ? { model, asyncScheduling } : { model };
      const { word, config } = packed(over);
      expect(word(L.P_ASYNC), `${model} ${asyncScheduling ?? 'auto'}`).toBe(on ? 1 : 0);
      expect(config.asyncScheduling).toBe(resolveAsyncScheduling(config.sc, resolveStepModel(model)));
    }
  });
});

describe('ADP Balance and sorted_round_robin on the GPU engine (docs/gpu.md)', () => {
  it('packs admission adp_balance with its two waits; admission none packs 0', () => {
    const { word } = packed({ admission: 'adp_balance', adpTimeoutIters: 7, adpBatchingWaitIters: 3 });
    expect([word(L.P_ADP), word(L.P_ADP_TIMEOUT), word(L.P_ADP_BATCH)]).toEqual([1, 7, 3]);
    const defaults = packed({ admission: 'adp_balance' });
    expect([defaults.word(L.P_ADP_TIMEOUT), defaults.word(L.P_ADP_BATCH)]).toEqual([50, 10]);
    expect(packed({}).word(L.P_ADP)).toBe(0);
  });

  it("packs sorted_round_robin with the largest-first queue sort (its queueOrder), whatever assign_order says", () => {
    const srr = { router: 'sorted_round_robin', routerParams: resolveRouterParams('sorted_round_robin', {}), dispatch: 'per_step' as const };
    expect(packed({ ...srr, assignOrder: 'fcfs' }).word(L.P_LPT)).toBe(1);
    expect(packed({ router: 'round_robin', dispatch: 'per_step', assignOrder: 'fcfs' }).word(L.P_LPT)).toBe(0);
    expect(packed({ router: 'round_robin', dispatch: 'per_step', assignOrder: 'lpt' }).word(L.P_LPT)).toBe(1);
  });

  it('refuses sorted_round_robin without per_step dispatch with the CPU engine\'s message', () => {
    const sc = { ...makeScenario({ router: 'sorted_round_robin', routerParams: resolveRouterParams('sorted_round_robin', {}), workload: { rate: 5, requests: 20, seed: 1 } }), index: 0 };
    expect(() => prepareConfig(sc, 0)).toThrow(/needs dispatch: per_step/);
  });
});
