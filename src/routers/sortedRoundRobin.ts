// sorted_round_robin: TensorRT-LLM's baseline attention-DP assignment (NVIDIA TensorRT-LLM tech
// blog 10, "Baseline: Round-Robin Token Distribution"): at each step the pending requests are
// sorted by token count, largest first, and dealt to the ranks in turn. The engine sorts the
// global queue (queueOrder; both engines, the GPU's with the sort it has for assign_order lpt);
// the router deals. The cursor carries over from step to step, so the largest request of each
// step does not always land on rank 0.
import { alwaysInteger, defineRouter } from './common.ts';

export const sortedRoundRobin = defineRouter({
  name: 'sorted_round_robin',
  order: 110,
  description: 'TensorRT-LLM baseline: each step, pending requests sorted by prompt tokens (largest first) and dealt round-robin; needs dispatch: per_step.',
  reads: [],
  integerScored: alwaysInteger,
  requiresDispatch: 'per_step',
  queueOrder: 'largest_first',
  wgsl: { fns: ['routeSortedRoundRobin'] },
  route(view, _req, _params, state) {
    const g = state[2] % view.G;
    state[2] = g + 1 === view.G ? 0 : g + 1;
    return g;
  },
});
