// jsq_load: join the shortest queue measured in tokens (KV resident + queued prompt tokens).
import { alwaysInteger, argminLoad, noHorizon } from './common.ts';
import type { RouterDef } from './types.ts';

export const jsqLoad: RouterDef = {
  name: 'jsq_load',
  description: 'Least load (KV tokens + queued prompt tokens); ties -> lowest index.',
  knobs: [],
  integerScored: alwaysInteger,
  horizon: noHorizon,
  init(state) {
    state.fill(0);
  },
  route(view) {
    return argminLoad(view);
  },
};
