// Each router's `reads` (the per-rank snapshot fields route() reads) is what engines rely on when
// they leave the other fields unset: changing every field a router leaves out must change neither
// its decision nor its state words, on random views of every size, with every router's defaults.
import { describe, expect, it } from 'vitest';
import { getRouter, resolveRouterParams, routerNames } from '../../src/routers/index.ts';
import { ROUTER_STATE_WORDS, type RankStat, type RouterView } from '../../src/routers/types.ts';
import { testRng } from './view.ts';

const STATS: readonly RankStat[] = ['waiting', 'running', 'kvTokens', 'queuedTokens', 'kvUsage', 'inflight'];

function randomView(G: number, H: number, rnd: () => number): RouterView {
  const ints = (max: number) => Float64Array.from({ length: G }, () => Math.floor(rnd() * max));
  const surv = Float64Array.from({ length: 64 }, (_, a) => Math.max(0, 1 - a / 64));
  return {
    G,
    waiting: ints(4),
    running: ints(8),
    kvTokens: ints(20_000),
    queuedTokens: ints(4_000),
    kvUsage: Float64Array.from({ length: G }, () => rnd()),
    inflight: ints(12),
    kvCapacity: 100_000,
    horizonSteps: Float64Array.from({ length: H }, (_, j) => 1 + 8 * j),
    projMean: Float64Array.from({ length: H * G }, () => Math.floor(rnd() * 30_000)),
    projVar: Float64Array.from({ length: H * G }, () => rnd() * 1e6),
    projCut: Float64Array.from({ length: H * G }, () => Math.floor(rnd() * 30_000)),
    outputSurvival: surv,
  };
}

describe('routers read only the snapshot fields they declare', () => {
  for (const name of routerNames()) {
    const def = getRouter(name);
    it(`${name}: declares its reads`, () => {
      expect(def.reads).toBeDefined();
      for (const f of def.reads ?? []) expect(STATS).toContain(f);
    });
    it(`${name}: fields it leaves out change nothing`, () => {
      const params = resolveRouterParams(name, {});
      const rnd = testRng(20261207 + name.length);
      const left = STATS.filter((f) => !(def.reads ?? STATS).includes(f));
      let changedInputs = 0;
      for (let trial = 0; trial < 200; trial++) {
        const G = 1 + (trial % 16);
        const survival = Float64Array.from({ length: 64 }, (_, a) => Math.max(0, 1 - a / 64));
        const H = def.horizon(params, survival).length;
        const view = randomView(G, H, rnd);
        const req = { prompt: 1 + Math.floor(rnd() * 4000), waitedUs: 0, canHold: false };
        const state = new Uint32Array(ROUTER_STATE_WORDS);
        def.init(state, trial, G);
        const s1 = state.slice();
        const s2 = state.slice();
        const a = def.route(view, req, params, s1);
        for (const f of left) {
          const arr = view[f];
          for (let g = 0; g < G; g++) arr[g] = f === 'kvUsage' ? rnd() : Math.floor(rnd() * 50_000);
          changedInputs++;
        }
        const b = def.route(view, req, params, s2);
        expect(b).toBe(a);
        expect([...s2]).toEqual([...s1]);
      }
      // (Routers that read every field have nothing to change.)
      expect(changedInputs).toBe(200 * left.length);
    });
  }
  it('the declarations, as the CPU engine uses them', () => {
    const byName = Object.fromEntries(routerNames().map((n) => [n, [...(getRouter(n).reads ?? [])].sort().join(',')]));
    expect(byName.jsq_load).toBe('kvTokens,queuedTokens');
    expect(byName.vllm_inflight).toContain('kvUsage');
    expect(Object.values(byName).filter((r) => r.includes('kvUsage'))).toHaveLength(1);
  });
});
