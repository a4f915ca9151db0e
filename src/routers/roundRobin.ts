// round_robin: ranks in turn, ignoring load. State word 2 holds the next rank.
import { alwaysInteger, defineRouter } from './common.ts';

export const roundRobin = defineRouter({
  name: 'round_robin',
  order: 10,
  description: 'Cyclic assignment 0, 1, ..., G-1, 0, ... ignoring load.',
  reads: [],
  integerScored: alwaysInteger,
  wgsl: { fns: ['routeRoundRobin'] },
  route(view, _req, _params, state) {
    const g = state[2] % view.G;
    state[2] = g + 1 === view.G ? 0 : g + 1;
    return g;
  },
});
