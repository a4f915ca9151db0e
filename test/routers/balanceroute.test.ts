// br0, brh and fast_phi as the DP-BalanceRouter write-up defines them (docs/routers.md).
import { describe, expect, it } from 'vitest';
import { brhScores } from '../../src/routers/brh.ts';
import { fastPhiScores, fastPhiSteps, fastPhiWeights } from '../../src/routers/fastPhi.ts';
import { getRouter, resolveRouterParams } from '../../src/routers/index.ts';
import { addCutoffLoad } from '../../src/routers/projections.ts';
import { ROUTER_STATE_WORDS, type RouterView } from '../../src/routers/types.ts';
import { makeView, project, testRng, type Resident } from './view.ts';

function routeWith(name: string, view: RouterView, prompt: number, given: Record<string, unknown> = {}): number {
  const r = getRouter(name);
  const params = resolveRouterParams(name, given);
  const state = new Uint32Array(ROUTER_STATE_WORDS);
  r.init(state, 1, view.G);
  return r.route(view, { prompt, waitedUs: 0, canHold: false }, params, state);
}

function stepsOf(name: string, surv: Float64Array, given: Record<string, unknown> = {}): number[] {
  return getRouter(name).horizon(resolveRouterParams(name, given), surv);
}

/** Outputs uniform on 1..100: S(h) = (100 − h)/100 for h = 0..100. */
const UNIFORM100 = Float64Array.from({ length: 101 }, (_, h) => (100 - h) / 100);

describe('br0 (write-up: F = s - G max(s - m, 0), highest wins)', () => {
  it('defaults are the write-up\'s: a = 1, b = G, envelope max', () => {
    expect(resolveRouterParams('br0', {})).toEqual({ a: 1, b: 'G', envelope: 'max', envelope_frac: 0.9, hold_ms: 0 });
  });

  it('prefers filling margin to overflowing the envelope', () => {
    // G = 3, max = 100, s = 30: margins [0, 40, 10] -> F = [30 - 3*30, 30, 30 - 3*20] = [-60, 30, -30].
    expect(routeWith('br0', makeView({ kv: [100, 60, 90] }), 30)).toBe(1);
    // Queued prompt tokens count as load.
    expect(routeWith('br0', makeView({ kv: [100, 20, 30], queued: [0, 40, 0] }), 30)).toBe(2);
  });

  it('breaks ties (every rank with margin >= s scores F = s) by lower load, then lower index', () => {
    expect(routeWith('br0', makeView({ kv: [100, 50, 20, 60] }), 30)).toBe(2);
    expect(routeWith('br0', makeView({ kv: [100, 40, 40, 40] }), 10)).toBe(1);
  });

  it('capacity envelope: overflow is measured against envelope_frac * kvCapacity', () => {
    // E = 500; only rank 2 (L = 480) keeps 20 tokens of margin.
    expect(routeWith('br0', makeView({ kv: [600, 700, 480], kvCapacity: 1000 }), 20, { envelope: 'capacity', envelope_frac: 0.5 })).toBe(2);
  });

  it('per request picks exactly what jsq_load picks, for every a, b >= 0 and envelope (docs/routers.md proof)', () => {
    const rnd = testRng(6);
    for (let t = 0; t < 300; t++) {
      const G = 1 + Math.floor(rnd() * 9);
      // Coarse loads so that ties are frequent.
      const kv = Array.from({ length: G }, () => Math.floor(rnd() * 12) * 250);
      const queued = Array.from({ length: G }, () => (rnd() < 0.5 ? 0 : Math.floor(rnd() * 4) * 250));
      const v = makeView({ kv, queued, kvCapacity: 4000 });
      const s = 1 + Math.floor(rnd() * 1000);
      const a = Math.floor(rnd() * 10);
      const b = rnd() < 0.3 ? 'G' : Math.floor(rnd() * 10);
      for (const envelope of ['max', 'mean', 'capacity']) {
        expect(routeWith('br0', v, s, { a, b, envelope })).toBe(routeWith('jsq_load', v, s));
      }
    }
  });

  it('is integer-scored for integer a and integer (or G) b', () => {
    const def = getRouter('br0');
    expect(def.integerScored(resolveRouterParams('br0', {}))).toBe(true);
    expect(def.integerScored(resolveRouterParams('br0', { b: 3, envelope: 'mean' }))).toBe(true);
    expect(def.integerScored(resolveRouterParams('br0', { b: 2.5 }))).toBe(false);
    expect(def.horizon(resolveRouterParams('br0', {}), UNIFORM100)).toEqual([]);
  });
});

describe('brh (write-up BR-H on binary-cutoff projections)', () => {
  // The write-up's worked example: GPU A, GPU B at h = 0, 5, 10, 50.
  const STEPS = [0, 5, 10, 50];
  const A = [5400, 3710, 2210, 2250];
  const B = [4000, 3900, 3800, 3500];

  it("projects GPU A's three requests to the write-up's loads 5400, 3710, 2210, 2250", () => {
    // (prompt, tokens so far, predicted remaining): (1000, 500, 10), (2000, 200, 80), (800, 900, 5).
    const cut = new Float64Array(STEPS.length);
    for (const [p, a, c] of [[1000, 500, 10], [2000, 200, 80], [800, 900, 5]]) addCutoffLoad(cut, 1, 0, STEPS, p + a, c);
    expect(Array.from(cut)).toEqual(A);
  });

  it('reproduces the worked example: penalties ~5,463 (A) and ~3,780 (B), picks B', () => {
    const view = makeView({ kv: [5400, 4000], horizonSteps: STEPS, projCut: STEPS.map((_, j) => [A[j], B[j]]) });
    const params = resolveRouterParams('brh', { gamma: 0.9, beta: 8, alpha: 1 });
    const F = new Float64Array(2);
    brhScores(view, 500, params, F);
    const reward = (1 + 0.9 ** 5 + 0.9 ** 10 + 0.9 ** 50) * 500;
    const penA = reward - F[0];
    const penB = reward - F[1];
    // Exact: 8·(500 + 0.9^5·310) and 8·500·(0.9^5 + 0.9^10 + 0.9^50); the write-up rounds γ^h first.
    expect(penA).toBeCloseTo(8 * (500 + 0.9 ** 5 * 310), 9);
    expect(penB).toBeCloseTo(8 * 500 * (0.9 ** 5 + 0.9 ** 10 + 0.9 ** 50), 9);
    expect(Math.abs(penA - 5463)).toBeLessThan(2);
    expect(Math.abs(penB - 3780)).toBeLessThan(3);
    expect(routeWith('brh', view, 500, { gamma: 0.9, beta: 8 })).toBe(1);
    // BR-0 on the present loads also picks B here; with gamma = 1 the far future decides: A.
    expect(routeWith('brh', view, 500, { gamma: 1 })).toBe(0);
  });

  it('sums every step 0..H', () => {
    expect(stepsOf('brh', UNIFORM100)).toEqual(Array.from({ length: 51 }, (_, h) => h));
    expect(stepsOf('brh', UNIFORM100, { H: 0 })).toEqual([0]);
  });

  it('with H = 0 (present loads only) picks what jsq_load picks', () => {
    const rnd = testRng(9);
    for (let t = 0; t < 200; t++) {
      const G = 1 + Math.floor(rnd() * 8);
      const kv = Array.from({ length: G }, () => Math.floor(rnd() * 10) * 100);
      const queued = Array.from({ length: G }, () => Math.floor(rnd() * 3) * 100);
      const v = makeView({ kv, queued, horizonSteps: [0], projCut: [kv.map((k, g) => k + queued[g])] });
      const s = 1 + Math.floor(rnd() * 300);
      expect(routeWith('brh', v, s, { H: 0, beta: 1 + Math.floor(rnd() * 9) })).toBe(routeWith('jsq_load', v, s));
    }
  });

  it('looks ahead: prefers a heavier rank whose requests are predicted to finish', () => {
    const steps = stepsOf('brh', UNIFORM100);
    // Rank 0: two requests of 520 tokens predicted to finish in 2 steps; rank 1: one fresh 1000.
    const cut = new Float64Array(steps.length * 2);
    addCutoffLoad(cut, 2, 0, steps, 520, 2);
    addCutoffLoad(cut, 2, 0, steps, 520, 2);
    addCutoffLoad(cut, 2, 1, steps, 1000, Infinity);
    const rows = steps.map((_, j) => [cut[2 * j], cut[2 * j + 1]]);
    const v = makeView({ kv: [1040, 1000], horizonSteps: steps, projCut: rows });
    expect(routeWith('jsq_load', v, 200)).toBe(1);
    expect(routeWith('br0', v, 200)).toBe(1);
    expect(routeWith('brh', v, 200)).toBe(0);
  });

  it('asks the engine for cutoff projections with its predictor', () => {
    const def = getRouter('brh');
    expect(def.projection(resolveRouterParams('brh', {}))).toEqual({ kind: 'cutoff', predictor: 'median', sigma: 0.5 });
    expect(def.projection(resolveRouterParams('brh', { predictor: 'noisy', predictor_sigma: 1.5 }))).toEqual({ kind: 'cutoff', predictor: 'noisy', sigma: 1.5 });
    expect(def.integerScored(resolveRouterParams('brh', {}))).toBe(false);
  });
});

describe('fast_phi (write-up Fast-Phi)', () => {
  it('places K points at 0 and the k/K quantiles of the output length; full = every step', () => {
    expect(stepsOf('fast_phi', UNIFORM100)).toEqual([0, 20, 40, 60, 80]);
    expect(stepsOf('fast_phi', UNIFORM100, { K: 1 })).toEqual([0]);
    expect(stepsOf('fast_phi', UNIFORM100, { K: 3 })).toEqual([0, 34, 67]);
    expect(stepsOf('fast_phi', UNIFORM100, { K: 'full' })).toEqual(Array.from({ length: 100 }, (_, h) => h));
    // Every output 10 tokens: all quantiles sit at the end, where S = 0 -> only the present.
    const ten = Float64Array.from({ length: 11 }, (_, h) => (h < 10 ? 1 : 0));
    expect(stepsOf('fast_phi', ten)).toEqual([0]);
    // Two values (half 4, half 8): the 20% and 40% quantiles are 4, the 60% and 80% are 8 -> S(8) = 0, dropped.
    const two = Float64Array.from([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0]);
    expect(stepsOf('fast_phi', two)).toEqual([0, 4]);
  });

  it('trapezoid weights close the rule at the largest output (where S = 0)', () => {
    const w = new Float64Array(5);
    fastPhiWeights(Float64Array.from([0, 20, 40, 60, 80]), UNIFORM100, false, w);
    expect(Array.from(w)).toEqual([10, 20, 20, 20, 20]);
    fastPhiWeights(Float64Array.from([0]), UNIFORM100, false, w);
    expect(w[0]).toBe(50);
    fastPhiWeights(Float64Array.from([0, 1, 2]), UNIFORM100, true, w);
    expect(Array.from(w.subarray(0, 3))).toEqual([1, 1, 1]);
  });

  // Hand-computed case: G = 2, points h = 0, 20, 40, 60, 80 (uniform outputs 1..100, K = 5),
  // weights w = 10, 20, 20, 20, 20, S(h) = 1, .8, .6, .4, .2, newcomer s = 100.
  // L(h): rank 0 = 1000, 800, 600, 400, 200 (draining); rank 1 = 900 flat. M(h) = 1000, 900, 900, 900, 900.
  // Margins: rank 0 = 0, 100, 300, 500, 700; rank 1 = 100, 0, 0, 0, 0. Overflow s + h − m:
  //   rank 0: 100, 20, <0, <0, <0 -> 10·1·100 + 20·.8·20 = 1,320
  //   rank 1: 0, 120, 140, 160, 180 -> 20·(.8·120 + .6·140 + .4·160 + .2·180) = 5,600
  const steps = [0, 20, 40, 60, 80];
  const handView = () =>
    makeView({
      kv: [1000, 900],
      horizonSteps: steps,
      projMean: [[1000, 900], [800, 900], [600, 900], [400, 900], [200, 900]],
      survival: Array.from(UNIFORM100),
    });

  it('reproduces a hand-computed case (1,320 vs 5,600: the draining rank wins)', () => {
    const out = new Float64Array(2);
    fastPhiScores(handView(), 100, resolveRouterParams('fast_phi', {}), out);
    expect(out[0]).toBeCloseTo(1320, 9);
    expect(out[1]).toBeCloseTo(5600, 9);
    expect(routeWith('fast_phi', handView(), 100)).toBe(0);
    expect(routeWith('jsq_load', handView(), 100)).toBe(1);
  });

  it('adds the write-up drift tie-break with lambda', () => {
    // Drift of rank 0: Σ w S (L − mean)(s + h) = 10·50·100 − 20·.8·50·120 − 20·.6·150·140
    //   − 20·.4·250·160 − 20·.2·350·180 = −870,000; rank 1 = +870,000.
    const out = new Float64Array(2);
    fastPhiScores(handView(), 100, resolveRouterParams('fast_phi', { lambda: 0.01 }), out);
    expect(out[0]).toBeCloseTo(1320 - 8700, 6);
    expect(out[1]).toBeCloseTo(5600 + 8700, 6);
  });

  it('with K = 1 (present load only) picks what jsq_load picks', () => {
    const rnd = testRng(12);
    for (let t = 0; t < 200; t++) {
      const G = 1 + Math.floor(rnd() * 8);
      const kv = Array.from({ length: G }, () => Math.floor(rnd() * 10) * 100);
      const v = makeView({ kv, horizonSteps: [0], projMean: [kv], survival: Array.from(UNIFORM100) });
      const s = 1 + Math.floor(rnd() * 300);
      expect(routeWith('fast_phi', v, s, { K: 1 })).toBe(routeWith('jsq_load', v, s));
    }
  });

  it('K = full is the exact sum over every step of S(h)·max(s + h − m(h), 0)', () => {
    const rnd = testRng(13);
    const surv = Float64Array.from({ length: 31 }, (_, h) => (30 - h) / 30);
    const full = resolveRouterParams('fast_phi', { K: 'full' });
    const st = getRouter('fast_phi').horizon(full, surv);
    expect(st).toHaveLength(30);
    for (let t = 0; t < 50; t++) {
      const G = 2 + Math.floor(rnd() * 5);
      const ranks: Resident[][] = Array.from({ length: G }, () =>
        Array.from({ length: Math.floor(rnd() * 4) }, () => ({ w: 50 + Math.floor(rnd() * 500), a: Math.floor(rnd() * 29) })),
      );
      const { projMean } = project(ranks, st, Array.from(surv));
      const v = makeView({ kv: ranks.map((rs) => rs.reduce((x, r) => x + r.w, 0)), horizonSteps: st, projMean, survival: Array.from(surv) });
      const s = 1 + Math.floor(rnd() * 400);
      const out = new Float64Array(G);
      fastPhiScores(v, s, full, out);
      for (let g = 0; g < G; g++) {
        let ref = 0;
        st.forEach((h, j) => {
          const M = Math.max(...projMean[j]);
          ref += surv[h] * Math.max(s + h - (M - projMean[j][g]), 0);
        });
        expect(out[g]).toBeCloseTo(ref, 6);
      }
    }
  });

  it('asks for survival-weighted projections; K range and full', () => {
    const def = getRouter('fast_phi');
    expect(def.projection(resolveRouterParams('fast_phi', {}))).toEqual({ kind: 'survival' });
    expect(resolveRouterParams('fast_phi', {})).toEqual({ K: 5, lambda: 0 });
    expect(resolveRouterParams('fast_phi', { K: ' full ' }).K).toBe('full');
    expect(fastPhiSteps(resolveRouterParams('fast_phi', { K: 64 }), UNIFORM100)).toHaveLength(64);
  });
});
