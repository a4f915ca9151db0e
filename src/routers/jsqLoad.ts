// jsq_load: join the shortest queue measured in tokens (KV resident + queued prompt tokens).
import { alwaysInteger, argminLoad, defineRouter } from './common.ts';

export const jsqLoad = defineRouter({
  name: 'jsq_load',
  order: 60,
  description: 'Least load (KV tokens + queued prompt tokens); ties -> lowest index.',
  reads: ['kvTokens', 'queuedTokens'],
  integerScored: alwaysInteger,
  wgsl: { fns: ['routeJsqLoad'] },
  route: (view) => argminLoad(view),
});
