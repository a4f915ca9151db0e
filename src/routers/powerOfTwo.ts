// power_of_two: sample two distinct ranks, keep the one with the lower load
// (Mitzenmacher's "power of two choices", on KV + queued-prompt tokens).
import { pcgOutput, pcgStep, uniformBelow } from '../rng.ts';
import { alwaysInteger, defineRouter, loadOf } from './common.ts';

/** Stream id ('P2C0'). */
export const POWER_OF_TWO_STREAM = 0x50324330;

export const powerOfTwo = defineRouter({
  name: 'power_of_two',
  order: 30,
  description: 'Two distinct uniformly random ranks; the one with lower load (KV + queued tokens) wins, tie -> first drawn.',
  reads: ['kvTokens', 'queuedTokens'],
  integerScored: alwaysInteger,
  wgsl: { fns: ['routePowerOfTwo'] },
  stream: POWER_OF_TWO_STREAM,
  route(view, _req, _params, state) {
    const G = view.G;
    if (G === 1) return 0;
    let s = pcgStep(state[0]);
    const i = uniformBelow(pcgOutput(s), G);
    s = pcgStep(s);
    // Draw the second from the G-1 other ranks: skip over i so the pair is always distinct.
    let j = uniformBelow(pcgOutput(s), G - 1);
    if (j >= i) j++;
    state[0] = s;
    return loadOf(view, j) < loadOf(view, i) ? j : i;
  },
});
