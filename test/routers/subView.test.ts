// The restricted view of wave dispatch (src/routers/subView.ts): the ranks not excluded, renumbered
// 0..G'-1 with every per-rank array and projection row carried over; a router on it chooses as it
// would on a view that only had those ranks.
import { describe, expect, it } from 'vitest';
import { getRouter, resolveRouterParams } from '../../src/routers/index.ts';
import { ROUTER_STATE_WORDS } from '../../src/routers/types.ts';
import { SubView } from '../../src/routers/subView.ts';
import { makeView } from './view.ts';

describe('SubView', () => {
  const full = makeView({
    kv: [100, 200, 300, 400],
    queued: [1, 2, 3, 4],
    waiting: [5, 6, 7, 8],
    running: [9, 10, 11, 12],
    kvUsage: [0.1, 0.2, 0.3, 0.4],
    inflight: [13, 14, 15, 16],
    horizonSteps: [0, 10],
    projMean: [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ],
    projVar: [
      [0.1, 0.2, 0.3, 0.4],
      [0.5, 0.6, 0.7, 0.8],
    ],
  });

  it('keeps the ranks not excluded, in order, with their rows', () => {
    const sv = new SubView(full);
    const v = sv.of(full, Uint8Array.of(0, 1, 0, 1));
    expect(v.G).toBe(2);
    expect([...sv.idx.subarray(0, 2)]).toEqual([0, 2]);
    const two = (a: Float64Array) => [...a.subarray(0, 2)];
    expect(two(v.kvTokens)).toEqual([100, 300]);
    expect(two(v.queuedTokens)).toEqual([1, 3]);
    expect(two(v.waiting)).toEqual([5, 7]);
    expect(two(v.running)).toEqual([9, 11]);
    expect(two(v.kvUsage)).toEqual([0.1, 0.3]);
    expect(two(v.inflight)).toEqual([13, 15]);
    // Row j of the projections at [j*G' + c].
    expect([...v.projMean.subarray(0, 4)]).toEqual([1, 3, 5, 7]);
    expect([...v.projVar.subarray(0, 4)]).toEqual([0.1, 0.3, 0.5, 0.7]);
    expect(v.kvCapacity).toBe(full.kvCapacity);
    expect(v.horizonSteps).toBe(full.horizonSteps);
  });

  it('nothing excluded is the full view; everything excluded is G = 0', () => {
    const sv = new SubView(full);
    expect(sv.of(full, new Uint8Array(4)).G).toBe(4);
    expect(sv.of(full, Uint8Array.of(1, 1, 1, 1)).G).toBe(0);
  });

  it('jsq_load on the restricted view picks the least loaded rank left', () => {
    const sv = new SubView(full);
    const router = getRouter('jsq_load');
    const state = new Uint32Array(ROUTER_STATE_WORDS);
    router.init(state, 1, 4);
    const req = { prompt: 10, waitedUs: 0, canHold: false };
    const params = resolveRouterParams('jsq_load', {});
    expect(router.route(full, req, params, state)).toBe(0);
    const v = sv.of(full, Uint8Array.of(1, 0, 0, 0));
    expect(sv.idx[router.route(v, req, params, state)]).toBe(1);
  });
});
