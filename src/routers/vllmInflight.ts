// vllm_inflight: vLLM's load balancer after PR #49204 ("[Core] Fix internal LB load-balancing"):
// the router's exact in-flight count guards against a stale snapshot, and waiting requests on a
// rank whose KV cache is past a threshold are penalised. State word 1 is the scan start.
import { defineRouter, neverInteger, num } from './common.ts';

export const vllmInflight = defineRouter({
  name: 'vllm_inflight',
  order: 50,
  description: 'vLLM PR #49204 balancer: max(inflight, waiting + running) + waiting*kv_penalty*max(0, kvUsage - kv_threshold), first minimum, rotating scan start.',
  knobs: [
    { name: 'kv_penalty', kind: 'number', default: 6.0, min: 0, max: 1e6, description: 'Penalty per waiting request per unit of KV usage above the threshold (vLLM: 6.0).' },
    { name: 'kv_threshold', kind: 'number', default: 0.5, min: 0, max: 1, description: 'KV usage fraction below which there is no penalty (vLLM: 0.5).' },
  ],
  reads: ['waiting', 'running', 'inflight', 'kvUsage'],
  integerScored: neverInteger,
  wgsl: { fns: ['routeVllmInflight'] },
  route(view, _req, params, state) {
    const G = view.G;
    const pen = num(params, 'kv_penalty');
    const thr = num(params, 'kv_threshold');
    const start = state[1] % G;
    let best = start;
    let bestScore = Infinity;
    for (let i = 0; i < G; i++) {
      let g = start + i;
      if (g >= G) g -= G;
      const w = view.waiting[g];
      let score = Math.max(view.inflight[g], w + view.running[g]);
      if (w > 0) score += w * pen * Math.max(0, view.kvUsage[g] - thr);
      if (score < bestScore) {
        bestScore = score;
        best = g;
      }
    }
    state[1] = start + 1 === G ? 0 : start + 1;
    return best;
  },
});
