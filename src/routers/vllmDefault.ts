// vllm_default: vLLM's classic DPLBAsyncMPClient score (vllm/v1/engine/core_client.py):
// waiting*4 + running over the coordinator snapshot, strict '<' so the first minimum in scan
// order wins. State word 1 is the scan start.
import { defineRouter, num, str } from './common.ts';

export const vllmDefault = defineRouter({
  name: 'vllm_default',
  order: 40,
  description: "vLLM classic DP load balancer: argmin(waiting_weight*waiting + running), first minimum in scan order, rotating scan start.",
  knobs: [
    { name: 'waiting_weight', kind: 'integer', default: 4, min: 0, max: 1_000_000, description: 'Weight of waiting requests in the score (vLLM: 4).' },
    { name: 'rotate', kind: 'enum', default: 'yes', values: ['yes', 'no'], description: 'Advance the scan start by one rank per decision (no = classic fixed start 0).' },
  ],
  // Counts and an integer weight: exact in any arithmetic.
  reads: ['waiting', 'running'],
  integerScored: () => true,
  wgsl: { fns: ['routeVllmDefault'] },
  route(view, _req, params, state) {
    const G = view.G;
    const ww = num(params, 'waiting_weight');
    const start = state[1] % G;
    // Seed the minimum with the scan start (no float sentinel: this router must stay integer-exact).
    let best = start;
    let bestScore = ww * view.waiting[start] + view.running[start];
    for (let i = 1; i < G; i++) {
      let g = start + i;
      if (g >= G) g -= G;
      const score = ww * view.waiting[g] + view.running[g];
      if (score < bestScore) {
        bestScore = score;
        best = g;
      }
    }
    if (str(params, 'rotate') === 'yes') state[1] = start + 1 === G ? 0 : start + 1;
    return best;
  },
});
