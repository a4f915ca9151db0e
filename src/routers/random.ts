// random: a uniform rank per request from the router's own PCG stream (state word 0).
import { pcgOutput, pcgStep, uniformBelow } from '../rng.ts';
import { alwaysInteger, defineRouter } from './common.ts';

/** Stream id ('RAND'): keeps this router's draws independent of the workload's. */
export const RANDOM_STREAM = 0x52414e44;

export const random = defineRouter({
  name: 'random',
  order: 20,
  description: 'Uniformly random rank per request (seeded PCG, identical on CPU and GPU).',
  reads: [],
  integerScored: alwaysInteger,
  wgsl: { fns: ['routeRandom'] },
  stream: RANDOM_STREAM,
  route(view, _req, _params, state) {
    if (view.G === 1) return 0;
    const s = pcgStep(state[0]);
    state[0] = s;
    return uniformBelow(pcgOutput(s), view.G);
  },
});
