import { describe, expect, it } from 'vitest';
import { getRouter, resolveRouterParams } from '../../src/routers/index.ts';
import { ROUTER_STATE_WORDS, type RouterView } from '../../src/routers/types.ts';
import { makeView } from './view.ts';

function setup(name: string, given: Record<string, unknown> = {}, seed = 1, G = 8) {
  const r = getRouter(name);
  const params = resolveRouterParams(name, given);
  const state = new Uint32Array(ROUTER_STATE_WORDS);
  r.init(state, seed, G);
  return { r, params, state, route: (v: RouterView, prompt = 100) => r.route(v, { prompt, waitedUs: 0, canHold: false }, params, state) };
}

/** Pearson chi-square statistic of counts against a uniform expectation. */
function chiSquare(counts: number[]): number {
  const n = counts.reduce((s, c) => s + c, 0);
  const e = n / counts.length;
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
}
// 99.99% quantile of chi-square with 7 degrees of freedom is 29.9.
const CHI2_7DF = 30;

describe('round_robin', () => {
  it('cycles through the ranks', () => {
    const { route } = setup('round_robin');
    const v = makeView({ kv: [9, 0, 0] });
    expect(Array.from({ length: 7 }, () => route(v))).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });
});

describe('random', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const v = makeView({ kv: new Array(8).fill(0) });
    const draw = (seed: number) => {
      const { route } = setup('random', {}, seed);
      return Array.from({ length: 32 }, () => route(v));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('is roughly uniform', () => {
    const { route } = setup('random', {}, 42);
    const v = makeView({ kv: new Array(8).fill(0) });
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 80_000; i++) counts[route(v)]++;
    expect(chiSquare(counts)).toBeLessThan(CHI2_7DF);
  });
});

describe('power_of_two', () => {
  it('is deterministic for a seed', () => {
    const v = makeView({ kv: [5, 1, 4, 1, 5, 9, 2, 6] });
    const draw = (seed: number) => {
      const { route } = setup('power_of_two', {}, seed);
      return Array.from({ length: 32 }, () => route(v));
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
  });

  it('draws two distinct ranks: with G = 2 the lighter one always wins', () => {
    const { route } = setup('power_of_two', {}, 9, 2);
    const v = makeView({ kv: [50, 10], queued: [0, 30] });
    for (let i = 0; i < 200; i++) expect(route(v)).toBe(1);
  });

  it('with equal loads keeps the first draw, which is uniform', () => {
    const { route } = setup('power_of_two', {}, 11);
    const v = makeView({ kv: new Array(8).fill(100) });
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 80_000; i++) counts[route(v)]++;
    expect(chiSquare(counts)).toBeLessThan(CHI2_7DF);
  });

  it('picks the lightest rank with probability 2/G and never the heaviest', () => {
    const { route } = setup('power_of_two', {}, 12);
    const v = makeView({ kv: [70, 10, 60, 50, 40, 30, 20, 80] });
    const counts = new Array(8).fill(0);
    const n = 40_000;
    for (let i = 0; i < n; i++) counts[route(v)]++;
    expect(counts[7]).toBe(0);
    expect(Math.abs(counts[1] / n - 2 / 8)).toBeLessThan(0.01);
  });
});

describe('jsq_load', () => {
  it('picks least KV + queued tokens, lowest index on ties', () => {
    const { route } = setup('jsq_load');
    expect(route(makeView({ kv: [50, 20, 30], queued: [0, 20, 5] }))).toBe(2);
    expect(route(makeView({ kv: [40, 10, 30, 10], queued: [0, 20, 0, 20] }))).toBe(1);
    expect(route(makeView({ kv: [9, 3, 3, 3] }))).toBe(1);
  });
});

describe('vllm_default', () => {
  it('scores 4*waiting + running', () => {
    const { route } = setup('vllm_default', { rotate: 'no' });
    // scores 4, 2, 1, 4
    expect(route(makeView({ kv: [0, 0, 0, 0], waiting: [1, 0, 0, 1], running: [0, 2, 1, 0] }))).toBe(2);
  });

  it('honours waiting_weight', () => {
    const v = makeView({ kv: [0, 0], waiting: [1, 0], running: [0, 3] });
    expect(setup('vllm_default', { rotate: 'no' }).route(v)).toBe(1); // 4 vs 3
    expect(setup('vllm_default', { rotate: 'no', waiting_weight: 1 }).route(v)).toBe(0); // 1 vs 3
  });

  it('takes the first minimum in scan order from the cursor', () => {
    const { route, state } = setup('vllm_default', { rotate: 'no' });
    const v = makeView({ kv: [0, 0, 0, 0], running: [3, 1, 2, 1] });
    expect(route(v)).toBe(1);
    state[1] = 2; // scan 2, 3, 0, 1: first minimum is 3
    expect(route(v)).toBe(3);
    expect(state[1]).toBe(2); // rotate = no leaves the cursor alone
  });

  it('rotates the scan start by one per decision', () => {
    const v = makeView({ kv: [0, 0, 0, 0], running: [2, 2, 2, 2] });
    const rot = setup('vllm_default');
    expect(Array.from({ length: 6 }, () => rot.route(v))).toEqual([0, 1, 2, 3, 0, 1]);
    const fixed = setup('vllm_default', { rotate: 'no' });
    expect(Array.from({ length: 3 }, () => fixed.route(v))).toEqual([0, 0, 0]);
  });

  it('is integer-scored', () => {
    expect(getRouter('vllm_default').integerScored(resolveRouterParams('vllm_default', {}))).toBe(true);
  });
});

describe('vllm_inflight', () => {
  it('uses the exact in-flight count when the snapshot is stale', () => {
    const { route } = setup('vllm_inflight');
    expect(route(makeView({ kv: [0, 0, 0], inflight: [2, 1, 3] }))).toBe(1);
    // max(inflight, waiting + running): a snapshot count above inflight still counts
    expect(route(makeView({ kv: [0, 0, 0], inflight: [1, 1, 1], running: [0, 4, 0], waiting: [0, 0, 2] }))).toBe(0);
  });

  it('KV penalty on waiting requests flips the choice', () => {
    // rank 0: 2 + 2 = 4 (+ 2 * 6 * 0.4 = 4.8 penalty -> 8.8); rank 1: 6, no waiting so no penalty.
    const spec = { kv: [0, 0], waiting: [2, 0], running: [2, 6], kvUsage: [0.9, 0.95] };
    expect(setup('vllm_inflight').route(makeView(spec))).toBe(1);
    expect(setup('vllm_inflight', { kv_penalty: 0 }).route(makeView(spec))).toBe(0);
    expect(setup('vllm_inflight').route(makeView({ ...spec, kvUsage: [0.5, 0.95] }))).toBe(0);
    expect(setup('vllm_inflight', { kv_threshold: 0.9 }).route(makeView(spec))).toBe(0);
  });

  it('rotates the scan start (first minimum, strict <)', () => {
    const { route } = setup('vllm_inflight');
    const v = makeView({ kv: [0, 0, 0], inflight: [1, 1, 1] });
    expect(Array.from({ length: 4 }, () => route(v))).toEqual([0, 1, 2, 0]);
  });

  it('is float-scored', () => {
    expect(getRouter('vllm_inflight').integerScored(resolveRouterParams('vllm_inflight', {}))).toBe(false);
  });
});
