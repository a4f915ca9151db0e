// The cross-engine equivalence sweep: the golden configurations plus variants that widen it to
// every router in both dispatch modes (sorted_round_robin: per_step only), G in {1, 2, 8, 64} for
// each, ADP Balance context admission with many pairs of waits, float-scored knob settings,
// preemption, timeouts, rejections, a calibrated model (extra step-time terms, per-DP curves) and
// a trace replay, and the fidelity terms of docs/model.md: async scheduling on and off (the
// default preset schedules asynchronously, so most of the sweep runs with it on), host terms
// (per step, per request of the busiest rank, DP sync within and across nodes) and front-end
// terms. Request counts stay small: SwiftShader is slow.
import { fileURLToPath } from 'node:url';
import type { Scenario } from '../../src/config/scenario.ts';
import { getRouter, resolveRouterParams } from '../../src/routers/index.ts';
import { goldenScenarios } from '../engine/goldenScenarios.ts';
import { makeScenario } from '../helpers.ts';

const CALIBRATED = fileURLToPath(new URL('../../examples/data/qwen3-30b-a3b-rtxpro6000-dp2.json', import.meta.url));
const HOST_TERMS = fileURLToPath(new URL('./fixtures/host-terms.json', import.meta.url));
const HOST_TERMS_SYNC = fileURLToPath(new URL('./fixtures/host-terms-sync.json', import.meta.url));
const TRACE = fileURLToPath(new URL('../../examples/data/sharegpt-300-sps10.csv', import.meta.url));

export function equivalenceScenarios(): Scenario[] {
  // The golden set without `sync: independent` and routers without a WGSL port (none today; the
  // GPU engine hands those to the CPU engine: engineChoice.test.ts, prepare.ts), renumbered so
  // that index = position. It holds sorted_round_robin and admission: adp_balance.
  const onGpu = (sc: Scenario) => sc.sync !== 'independent' && getRouter(sc.router).wgsl !== undefined;
  const out = goldenScenarios().filter(onGpu).map((sc, index) => ({ ...sc, index }));
  const push = (router: string, knobs: Record<string, unknown>, over: Parameters<typeof makeScenario>[0]) =>
    out.push({ ...makeScenario({ ...over, router, routerParams: resolveRouterParams(router, knobs) }), index: out.length });

  // per_step with timeouts at G = 64, overloaded (every router has per_step at G = 8 in the golden set).
  push('random', {}, { dp: 64, dispatch: 'per_step', maxNumSeqs: 4, kvCapacity: 4096, timeoutS: 8, workload: { rate: 120, requests: 200, seed: 21 } });
  push('vllm_inflight', {}, { dp: 64, dispatch: 'per_step', maxNumSeqs: 8, kvCapacity: 8192, workload: { rate: 90, requests: 200, seed: 22 } });
  push('fast_phi', { K: 3 }, { dp: 64, dispatch: 'per_step', maxNumSeqs: 8, kvCapacity: 16384, timeoutS: 10, workload: { rate: 80, requests: 200, seed: 23 } });
  // G = 1 and 2 per_step, with LPT order, timeouts and rejections (p + o > a small capacity).
  push('round_robin', {}, { dp: 1, dispatch: 'per_step', assignOrder: 'lpt', kvCapacity: 2048, timeoutS: 20, workload: { rate: 6, requests: 120, seed: 24 } });
  push('power_of_two', {}, { dp: 2, dispatch: 'per_step', assignOrder: 'lpt', maxNumSeqs: 16, kvCapacity: 4096, timeoutS: 15, workload: { rate: 25, requests: 160, seed: 25 } });
  push('vllm_default', { rotate: 'no' }, { dp: 2, dispatch: 'per_step', statsIntervalMs: 0, workload: { rate: 20, requests: 160, seed: 26 } });
  // Exact view on arrival, preemption from a small KV cache.
  push('vllm_default', {}, { dp: 8, statsIntervalMs: 0, maxNumSeqs: 32, kvCapacity: 6144, workload: { rate: 35, requests: 200, seed: 27 } });
  // vllm_inflight with its KV-usage penalty active (a full cache), timeouts.
  push('vllm_inflight', { kv_penalty: 2.5, kv_threshold: 0.3 }, { dp: 8, maxNumSeqs: 32, kvCapacity: 8192, timeoutS: 12, workload: { rate: 40, requests: 200, seed: 28 } });
  // br0: capacity envelope (integer), fractional knobs (float) on both dispatch modes.
  push('br0', { envelope: 'capacity', envelope_frac: 0.5 }, { dp: 8, kvCapacity: 8192, workload: { rate: 30, requests: 200, seed: 29 } });
  push('br0', { a: 0.5, b: 7.5 }, { dp: 8, workload: { rate: 30, requests: 200, seed: 30 } });
  push('br0', { a: 1.5, b: 12.25, envelope: 'mean' }, { dp: 64, dispatch: 'per_step', maxNumSeqs: 8, kvCapacity: 16384, workload: { rate: 60, requests: 200, seed: 31 } });
  // brh, every predictor: oracle per_step with timeouts; H = 0; noisy (host-drawn factors) on a
  // small cache at G = 64; median with a long horizon; none.
  push('brh', { H: 8, predictor: 'oracle' }, { dp: 8, dispatch: 'per_step', timeoutS: 10, maxNumSeqs: 16, kvCapacity: 8192, workload: { rate: 40, requests: 200, seed: 32 } });
  push('brh', { H: 0 }, { dp: 4, workload: { rate: 12, requests: 160, seed: 33 } });
  push('brh', { predictor: 'noisy', predictor_sigma: 1 }, { dp: 64, maxNumSeqs: 8, kvCapacity: 12288, workload: { rate: 70, requests: 200, seed: 34 } });
  push('brh', { predictor: 'noisy', predictor_sigma: 0.5, H: 200, gamma: 0.99 }, { dp: 8, workload: { rate: 10, requests: 160, seed: 41 } });
  push('brh', { predictor: 'median', H: 300, gamma: 1 }, { dp: 4, workload: { rate: 12, requests: 160, seed: 42 } });
  push('brh', { predictor: 'none', beta: 2 }, { dp: 8, dispatch: 'per_step', workload: { rate: 30, requests: 160, seed: 43 } });
  // fast_phi: many points with the drift tie-break; the exact sum; G = 1 and 2 per_step.
  push('fast_phi', { K: 8, lambda: 0.05 }, { dp: 2, dispatch: 'per_step', maxNumSeqs: 32, workload: { rate: 20, requests: 160, seed: 35 } });
  push('fast_phi', {}, { dp: 1, dispatch: 'per_step', workload: { rate: 3, requests: 80, seed: 36 } });
  push('fast_phi', { K: 'full' }, { dp: 4, workload: { rate: 12, requests: 80, seed: 44 } });
  // fast_phi_gauss (ours): many points, a discount; G = 64 per_step with timeouts.
  push('fast_phi_gauss', { K: 8, discount: 0.98 }, { dp: 2, dispatch: 'per_step', maxNumSeqs: 32, workload: { rate: 20, requests: 160, seed: 35 } });
  push('fast_phi_gauss', { K: 3 }, { dp: 64, dispatch: 'per_step', maxNumSeqs: 8, kvCapacity: 16384, timeoutS: 10, workload: { rate: 80, requests: 200, seed: 23 } });
  // Heavy chunked prefill (small token budget), tiny batches at G = 64.
  push('random', {}, { dp: 8, maxBatchedTokens: 512, workload: { rate: 20, requests: 160, seed: 37 } });
  push('power_of_two', {}, { dp: 64, maxNumSeqs: 4, kvCapacity: 8192, workload: { rate: 60, requests: 200, seed: 38 } });
  push('jsq_load', {}, { dp: 64, statsIntervalMs: 500, timeoutS: 6, maxNumSeqs: 4, kvCapacity: 4096, workload: { rate: 150, requests: 240, seed: 39 } });
  // A calibrated model (mixed-batch, prefill-KV and skew terms, per-DP max-rank-token curves)
  // replaying a trace, at G = 1 and 2.
  const calibrated = { model: CALIBRATED, maxModelLen: 262144, maxNumSeqs: 128, maxBatchedTokens: 2048, kvCapacity: 65536 };
  const trace = { source: 'trace', tracePath: TRACE, rate: 0, requests: 120, maxOutput: 4096 };
  push('vllm_default', {}, { ...calibrated, dp: 2, workload: trace });
  push('jsq_load', {}, { ...calibrated, dp: 1, workload: trace });
  push('fast_phi', {}, { ...calibrated, dp: 2, dispatch: 'per_step', workload: { ...trace, rate: 40 } });
  push('br0', {}, { ...calibrated, dp: 2, kvCapacity: 8192, workload: { rate: 30, requests: 160, seed: 40 } });
  // The write-up's step model (seed-kv-linear): the mean-KV group term, in decode fast-forwards too.
  push('jsq_load', {}, { model: 'seed-kv-linear', dp: 8, workload: { rate: 30, requests: 200, seed: 41 } });
  push('fast_phi', {}, { model: 'seed-kv-linear', dp: 4, dispatch: 'per_step', maxNumSeqs: 64, workload: { rate: 20, requests: 160, seed: 42 } });

  // Async scheduling on and off on the same configurations (admission and KV/slot reuse lag one
  // step): a full KV cache with preemption and timeouts (aborts of running requests hold their
  // blocks a step), few slots (held slots delay admission), a light load (idle groups: rule 4),
  // per_step dispatch.
  const asyncShapes: Parameters<typeof makeScenario>[0][] = [
    { dp: 8, maxNumSeqs: 16, kvCapacity: 6144, timeoutS: 6, workload: { rate: 40, requests: 200, seed: 51 } },
    { dp: 2, maxNumSeqs: 4, workload: { rate: 8, requests: 120, seed: 52 } },
    { dp: 4, workload: { rate: 1.5, requests: 60, seed: 53 } },
    { dp: 8, dispatch: 'per_step', statsIntervalMs: 0, maxNumSeqs: 32, kvCapacity: 8192, workload: { rate: 35, requests: 200, seed: 54 } },
    // One slot per rank: every completion leaves an idle rank whose slot is held, so the group
    // repeats its pass at once (rule 4) and scheduled_us takes that pass's own time.
    { dp: 1, maxNumSeqs: 1, workload: { rate: 0.1, requests: 40, seed: 55 } },
    // A cache so small that held blocks force preemption, with slots to spare.
    { dp: 2, maxNumSeqs: 8, kvCapacity: 2048, workload: { rate: 10, requests: 100, seed: 56 } },
  ];
  for (const [i, shape] of asyncShapes.entries()) {
    const router = ['vllm_default', 'round_robin', 'jsq_load', 'br0', 'round_robin', 'power_of_two'][i];
    for (const asyncScheduling of ['on', 'off'] as const) push(router, {}, { ...shape, asyncScheduling });
  }
  // Host terms: G = 1 (no DP sync), within a node (G <= ranks_per_node), across nodes, with async
  // scheduling on and off, per_step dispatch, a float-scored router, a decode-heavy load (the
  // fast-forward's constant host time) and timeouts.
  push('vllm_default', {}, { model: HOST_TERMS, dp: 1, workload: { rate: 3, requests: 80, seed: 61 } });
  push('jsq_load', {}, { model: HOST_TERMS, dp: 4, ranksPerNode: 8, workload: { rate: 14, requests: 160, seed: 62 } });
  push('vllm_default', {}, { model: HOST_TERMS, dp: 16, ranksPerNode: 4, maxNumSeqs: 16, kvCapacity: 8192, timeoutS: 8, workload: { rate: 60, requests: 200, seed: 63 } });
  push('round_robin', {}, { model: HOST_TERMS, dp: 16, ranksPerNode: 16, asyncScheduling: 'off', workload: { rate: 40, requests: 200, seed: 64 } });
  push('power_of_two', {}, { model: HOST_TERMS, dp: 8, ranksPerNode: 2, dispatch: 'per_step', asyncScheduling: 'off', workload: { rate: 30, requests: 160, seed: 65 } });
  push('fast_phi', { K: 3 }, { model: HOST_TERMS, dp: 8, ranksPerNode: 4, dispatch: 'per_step', workload: { rate: 30, requests: 160, seed: 66 } });
  push('br0', {}, { model: HOST_TERMS, dp: 2, maxNumSeqs: 64, workload: { rate: 4, requests: 100, seed: 67, source: 'azure_code' } });
  // A model whose default is synchronous (seed-kv-linear), with host terms: auto, and forced on.
  push('jsq_load', {}, { model: HOST_TERMS_SYNC, dp: 8, ranksPerNode: 4, workload: { rate: 30, requests: 160, seed: 68 } });
  push('vllm_default', {}, { model: HOST_TERMS_SYNC, dp: 4, asyncScheduling: 'on', dispatch: 'per_step', workload: { rate: 20, requests: 160, seed: 69 } });

  // TensorRT-LLM's baseline deal (sorted_round_robin, per_step only) at G = 1 and 64 (the golden
  // set has 2 and 8), with timeouts and rejections.
  push('sorted_round_robin', {}, { dp: 1, dispatch: 'per_step', kvCapacity: 2048, timeoutS: 20, workload: { rate: 6, requests: 120, seed: 70 } });
  push('sorted_round_robin', {}, { dp: 64, dispatch: 'per_step', maxNumSeqs: 8, kvCapacity: 16384, timeoutS: 10, workload: { rate: 80, requests: 200, seed: 71 } });
  // ADP Balance (docs/model.md §3.2): timeouts and batching waits from 0 (no hold: = admission
  // none) to long, on_arrival and per_step dispatch, async scheduling on and off, chunked
  // prefill (a small token budget: context work spans steps), a full KV cache (preemption; the
  // head's blocks decide "has context work"), few slots (held slots under async scheduling),
  // timeouts, G = 1 and 64, a light load (idle groups) and host terms.
  const adp = (router: string, timeout: number, batching: number, over: Parameters<typeof makeScenario>[0]) =>
    push(router, {}, { ...over, admission: 'adp_balance', adpTimeoutIters: timeout, adpBatchingWaitIters: batching });
  adp('round_robin', 0, 0, { dp: 8, workload: { rate: 40, requests: 200, seed: 72 } });
  adp('jsq_load', 1, 0, { dp: 8, asyncScheduling: 'off', workload: { rate: 40, requests: 200, seed: 73 } });
  adp('vllm_default', 5, 2, { dp: 4, dispatch: 'per_step', maxBatchedTokens: 512, workload: { rate: 20, requests: 160, seed: 74 } });
  adp('sorted_round_robin', 50, 10, { dp: 8, dispatch: 'per_step', maxNumSeqs: 16, kvCapacity: 6144, timeoutS: 8, workload: { rate: 40, requests: 200, seed: 75 } });
  adp('sorted_round_robin', 200, 0, { dp: 16, dispatch: 'per_step', asyncScheduling: 'off', workload: { rate: 50, requests: 200, seed: 76 } });
  adp('power_of_two', 10, 40, { dp: 8, maxNumSeqs: 4, workload: { rate: 20, requests: 160, seed: 77 } });
  adp('power_of_two', 10, 40, { dp: 8, maxNumSeqs: 4, asyncScheduling: 'off', workload: { rate: 20, requests: 160, seed: 77 } });
  adp('jsq_load', 20, 5, { dp: 2, maxNumSeqs: 8, kvCapacity: 2048, workload: { rate: 10, requests: 100, seed: 78 } });
  adp('vllm_default', 3, 1, { dp: 1, workload: { rate: 4, requests: 80, seed: 79 } });
  adp('round_robin', 30, 3, { dp: 64, dispatch: 'per_step', maxNumSeqs: 8, kvCapacity: 16384, timeoutS: 10, workload: { rate: 80, requests: 200, seed: 80 } });
  adp('brh', 8, 2, { dp: 4, workload: { rate: 1.5, requests: 60, seed: 81 } });
  adp('vllm_default', 15, 4, { model: HOST_TERMS, dp: 8, ranksPerNode: 4, maxNumSeqs: 16, kvCapacity: 8192, workload: { rate: 30, requests: 160, seed: 82 } });
  return out;
}
