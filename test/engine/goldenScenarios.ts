// A fixed set of configurations that covers every router, both dispatch modes, G in {1,2,8,64},
// light and overloaded rates, preemption and timeouts. Used to pin the CPU engine's results
// (golden.test.ts) and to compare engines. The original configurations run with synchronous
// scheduling (async_scheduling: off), which proves that path unchanged; the ones after them add
// async scheduling and the host and front-end terms (docs/model.md §3, §5, §8).
import type { Scenario } from '../../src/config/scenario.ts';
import { getRouter, resolveRouterParams, routerNames } from '../../src/routers/index.ts';
import { makeScenario } from '../helpers.ts';
import { resolveStepModel } from '../../src/model/presets.ts';

/** A model file with every host and front-end term (test/fixtures/host-terms-model.json). */
export const HOST_TERMS_MODEL = new URL('../fixtures/host-terms-model.json', import.meta.url).pathname;

export function goldenScenarios(): Scenario[] {
  const out: Scenario[] = [];
  const push = (over: Parameters<typeof makeScenario>[0]) => out.push({ ...makeScenario({ asyncScheduling: 'off', ...over }), index: out.length });
  const shapes: Parameters<typeof makeScenario>[0][] = [
    { dp: 1, workload: { rate: 2, requests: 80, seed: 11 } },
    { dp: 2, maxNumSeqs: 32, kvCapacity: 6144, timeoutS: 60, workload: { rate: 30, requests: 160, seed: 12 } },
    { dp: 8, workload: { rate: 6, requests: 160, seed: 13 } },
    { dp: 8, dispatch: 'per_step', statsIntervalMs: 0, maxBatchedTokens: 2048, workload: { rate: 40, requests: 200, seed: 14 } },
    { dp: 64, maxNumSeqs: 8, kvCapacity: 16384, workload: { rate: 60, requests: 240, seed: 15, source: 'azure_conv' } },
  ];
  // Routers tied to one dispatch mode (sorted_round_robin) come at the end, with their mode.
  for (const name of routerNames().filter((n) => getRouter(n).requiresDispatch === undefined)) {
    for (const shape of shapes) push({ ...shape, router: name, routerParams: resolveRouterParams(name, {}) });
  }
  // A few knob and mode variants.
  push({ dp: 4, router: 'br0', routerParams: resolveRouterParams('br0', { envelope: 'mean', a: 2, b: 16 }), workload: { rate: 12, requests: 160, seed: 16 } });
  push({ dp: 4, router: 'vllm_default', routerParams: resolveRouterParams('vllm_default', { rotate: 'no' }), statsIntervalMs: 500, workload: { rate: 12, requests: 160, seed: 16 } });
  push({ dp: 4, router: 'jsq_load', dispatch: 'per_step', assignOrder: 'lpt', workload: { rate: 25, requests: 160, seed: 17, arrival: 'gamma', cv: 4 } });
  push({ dp: 2, router: 'brh', routerParams: resolveRouterParams('brh', { H: 16, gamma: 0.8, predictor: 'oracle' }), timeoutS: 30, workload: { rate: 25, requests: 120, seed: 18 } });
  push({ dp: 4, router: 'fast_phi', routerParams: resolveRouterParams('fast_phi', { K: 2 }), workload: { rate: 10, requests: 160, seed: 19, source: 'azure_code' } });
  // The Gaussian variant with the former fast_phi's knobs (the same numbers as before the rename).
  push({ dp: 4, router: 'fast_phi_gauss', routerParams: resolveRouterParams('fast_phi_gauss', { K: 2, H: 32 }), workload: { rate: 10, requests: 160, seed: 19, source: 'azure_code' } });
  // brh's other predictors, fast_phi's exact sum and drift tie-break.
  push({ dp: 8, router: 'brh', routerParams: resolveRouterParams('brh', { predictor: 'noisy', predictor_sigma: 0.7, H: 200 }), workload: { rate: 8, requests: 160, seed: 20 } });
  push({ dp: 8, router: 'brh', routerParams: resolveRouterParams('brh', { predictor: 'none', beta: 2 }), dispatch: 'per_step', workload: { rate: 40, requests: 160, seed: 21 } });
  push({ dp: 4, router: 'fast_phi', routerParams: resolveRouterParams('fast_phi', { K: 'full' }), workload: { rate: 12, requests: 120, seed: 22 } });
  push({ dp: 8, router: 'fast_phi', routerParams: resolveRouterParams('fast_phi', { K: 10, lambda: 0.1 }), workload: { rate: 30, requests: 160, seed: 23 } });
  // Async scheduling (the vLLM presets' default), and the host and front-end terms.
  for (const shape of shapes) push({ ...shape, asyncScheduling: 'on', router: 'vllm_default' });
  const hostModel = HOST_TERMS_MODEL;
  const withHost = (over: Parameters<typeof makeScenario>[0]) => ({ ...over, model: hostModel, kvCapacity: over?.kvCapacity ?? resolveStepModel(hostModel).kvCapacityTokens(over?.dp ?? 8) });
  push(withHost({ dp: 8, asyncScheduling: 'on', router: 'jsq_load', workload: { rate: 30, requests: 200, seed: 30 } }));
  push(withHost({ dp: 8, asyncScheduling: 'off', router: 'jsq_load', workload: { rate: 30, requests: 200, seed: 30 } }));
  push(withHost({ dp: 16, ranksPerNode: 8, asyncScheduling: 'on', router: 'br0', dispatch: 'per_step', statsIntervalMs: 0, workload: { rate: 50, requests: 240, seed: 31 } }));
  push(withHost({ dp: 2, asyncScheduling: 'on', maxNumSeqs: 32, kvCapacity: 6144, timeoutS: 60, router: 'fast_phi', workload: { rate: 30, requests: 160, seed: 32 } }));
  push(withHost({ dp: 4, asyncScheduling: 'on', sync: 'independent', router: 'vllm_default', workload: { rate: 12, requests: 160, seed: 33 } }));
  // TensorRT-LLM's baseline deal and ADP Balance (docs/model.md §3.2), both scheduling modes,
  // chunked prefill, preemption and timeouts.
  const srr = { router: 'sorted_round_robin', routerParams: resolveRouterParams('sorted_round_robin', {}), dispatch: 'per_step' as const };
  push({ ...srr, dp: 8, maxBatchedTokens: 2048, workload: { rate: 40, requests: 200, seed: 40 } });
  push({ ...srr, dp: 2, asyncScheduling: 'on', maxNumSeqs: 32, kvCapacity: 6144, timeoutS: 60, workload: { rate: 30, requests: 160, seed: 41 } });
  push({ dp: 8, admission: 'adp_balance', router: 'vllm_default', workload: { rate: 40, requests: 200, seed: 42 } });
  push({ dp: 8, admission: 'adp_balance', asyncScheduling: 'on', maxBatchedTokens: 2048, router: 'jsq_load', workload: { rate: 40, requests: 200, seed: 43 } });
  push({ ...srr, dp: 8, admission: 'adp_balance', adpTimeoutIters: 20, adpBatchingWaitIters: 0, asyncScheduling: 'on', workload: { rate: 40, requests: 200, seed: 44 } });
  push({ dp: 2, admission: 'adp_balance', maxNumSeqs: 32, kvCapacity: 6144, timeoutS: 60, router: 'vllm_default', workload: { rate: 30, requests: 160, seed: 45 } });
  return out;
}
