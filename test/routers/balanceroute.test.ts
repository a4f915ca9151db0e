import { describe, expect, it } from 'vitest';
import { expectedOverflow } from '../../src/routers/gaussian.ts';
import { getRouter, resolveRouterParams } from '../../src/routers/index.ts';
import { ROUTER_STATE_WORDS, type RouterParams, type RouterView } from '../../src/routers/types.ts';
import { makeView, project, testRng, type Resident } from './view.ts';

function routeWith(name: string, view: RouterView, prompt: number, given: Record<string, unknown> = {}): number {
  const r = getRouter(name);
  const params = resolveRouterParams(name, given);
  const state = new Uint32Array(ROUTER_STATE_WORDS);
  r.init(state, 1, view.G);
  return r.route(view, { prompt, waitedUs: 0, canHold: false }, params, state);
}

function stepsOf(name: string, given: Record<string, unknown> = {}): number[] {
  return getRouter(name).horizon(resolveRouterParams(name, given));
}

describe('br0', () => {
  it('fills safe margin rather than overflowing the envelope', () => {
    // E = 100, w = 30. F = [8*30, -30, -10 + 8*20] = [240, -30, 150].
    expect(routeWith('br0', makeView({ kv: [100, 60, 90] }), 30)).toBe(1);
    // Several ranks with margin >= w tie at -a*w: lower load wins.
    expect(routeWith('br0', makeView({ kv: [100, 50, 20, 60] }), 30)).toBe(2);
    // Queued prompt tokens count as load.
    expect(routeWith('br0', makeView({ kv: [100, 20, 30], queued: [0, 40, 0] }), 30)).toBe(2);
  });

  it('breaks exact ties by lower load, then lower index', () => {
    expect(routeWith('br0', makeView({ kv: [100, 40, 40, 40] }), 10)).toBe(1);
  });

  it('capacity envelope: overflow is measured against envelope_frac * kvCapacity', () => {
    // E = floor(0.5 * 1000) = 500; everything overflows except rank 2 (L = 480 -> fits 20).
    const v = makeView({ kv: [600, 700, 480], kvCapacity: 1000 });
    expect(routeWith('br0', v, 20, { envelope: 'capacity', envelope_frac: 0.5 })).toBe(2);
  });

  it('with b = a behaves like jsq_load', () => {
    const rnd = testRng(5);
    for (let t = 0; t < 200; t++) {
      const G = 1 + Math.floor(rnd() * 9);
      const kv = Array.from({ length: G }, () => Math.floor(rnd() * 20) * 50);
      const queued = Array.from({ length: G }, () => (rnd() < 0.5 ? 0 : Math.floor(rnd() * 4) * 50));
      const v = makeView({ kv, queued });
      const w = 1 + Math.floor(rnd() * 400);
      for (const envelope of ['max', 'mean', 'capacity']) {
        expect(routeWith('br0', v, w, { a: 3, b: 3, envelope })).toBe(routeWith('jsq_load', v, w));
      }
    }
  });

  it('per-request, its choice never differs from jsq_load for any a, b >= 0 (F is monotone in load)', () => {
    // Documented property of the reconstruction (docs/routers.md): the F-score only matters when
    // something besides the current load enters it (BR-H's projections, batch assignment).
    const rnd = testRng(6);
    for (let t = 0; t < 300; t++) {
      const G = 2 + Math.floor(rnd() * 8);
      const kv = Array.from({ length: G }, () => Math.floor(rnd() * 3000));
      const v = makeView({ kv, kvCapacity: 4000 });
      const w = 1 + Math.floor(rnd() * 1000);
      const a = Math.floor(rnd() * 10);
      const b = Math.floor(rnd() * 10);
      for (const envelope of ['max', 'mean', 'capacity']) {
        expect(routeWith('br0', v, w, { a, b, envelope })).toBe(routeWith('jsq_load', v, w));
      }
    }
  });

  it('is integer-scored for integer a, b (any envelope), float otherwise', () => {
    const def = getRouter('br0');
    expect(def.integerScored(resolveRouterParams('br0', {}))).toBe(true);
    expect(def.integerScored(resolveRouterParams('br0', { envelope: 'mean' }))).toBe(true);
    expect(def.integerScored(resolveRouterParams('br0', { a: 0.5 }))).toBe(false);
    expect(def.horizon(resolveRouterParams('br0', {}))).toEqual([]);
  });
});

describe('brh', () => {
  it('asks for projections at 0, stride, ..., H (H always included)', () => {
    expect(stepsOf('brh')).toEqual([0, 8, 16, 24, 32]);
    expect(stepsOf('brh', { H: 10, stride: 4 })).toEqual([0, 4, 8, 10]);
    expect(stepsOf('brh', { H: 0 })).toEqual([0]);
    expect(stepsOf('brh', { H: 5, stride: 8 })).toEqual([0, 5]);
  });

  it('with H = 0 chooses exactly like br0 with envelope max (and mean like mean)', () => {
    const rnd = testRng(9);
    for (let t = 0; t < 200; t++) {
      const G = 1 + Math.floor(rnd() * 8);
      const kv = Array.from({ length: G }, () => Math.floor(rnd() * 10) * 100);
      const queued = Array.from({ length: G }, () => Math.floor(rnd() * 3) * 100);
      const load = kv.map((k, g) => k + queued[g]);
      const v = makeView({ kv, queued, horizonSteps: [0], projMean: [load] });
      const w = 1 + Math.floor(rnd() * 300);
      for (const [a, b] of [[1, 8], [2, 3], [0, 1]]) {
        expect(routeWith('brh', v, w, { H: 0, a, b })).toBe(routeWith('br0', v, w, { a, b }));
        expect(routeWith('brh', v, w, { H: 0, a, b, envelope: 'mean' })).toBe(routeWith('br0', v, w, { a, b, envelope: 'mean' }));
      }
    }
  });

  it('looks ahead: prefers a rank whose requests are about to finish', () => {
    // Outputs are 1..40 tokens, uniform: S(a) = (40 - a) / 40.
    const surv = Array.from({ length: 40 }, (_, a) => (40 - a) / 40);
    // Rank 0 is slightly heavier now but its requests are nearly done; rank 1's are young.
    const ranks: Resident[][] = [
      [{ w: 520, a: 38 }, { w: 520, a: 38 }],
      [{ w: 1000, a: 0 }],
    ];
    const steps = stepsOf('brh');
    const { projMean, projVar } = project(ranks, steps, surv);
    const v = makeView({ kv: [1040, 1000], horizonSteps: steps, projMean, projVar, survival: surv });
    expect(routeWith('br0', v, 200)).toBe(1);
    expect(routeWith('jsq_load', v, 200)).toBe(1);
    expect(routeWith('brh', v, 200)).toBe(0);
    // Only the present counts with H = 0.
    const v0 = makeView({ kv: [1040, 1000], horizonSteps: [0], ...project(ranks, [0], surv), survival: surv });
    expect(routeWith('brh', v0, 200, { H: 0 })).toBe(1);
  });

  it('is float-scored', () => {
    expect(getRouter('brh').integerScored(resolveRouterParams('brh', {}))).toBe(false);
  });
});

describe('fast_phi', () => {
  it('asks for the Gauss-Legendre nodes on [0, H], rounded to steps', () => {
    expect(stepsOf('fast_phi')).toEqual([4, 21, 43, 60]);
    expect(stepsOf('fast_phi', { K: 1, H: 10 })).toEqual([5]);
    expect(stepsOf('fast_phi', { K: 3, H: 100 })).toEqual([11, 50, 89]);
  });

  // Default survival: every output outlives the horizon (the newcomer is surely running).
  function viewFor(params: RouterParams, mean: number[], variance: number[], kv: number[], survival = new Array(100).fill(1)): RouterView {
    const steps = getRouter('fast_phi').horizon(params);
    return makeView({
      kv,
      horizonSteps: steps,
      projMean: steps.map(() => mean),
      projVar: steps.map(() => variance),
      survival,
    });
  }

  it('prefers the rank with the lower projected mean', () => {
    const p = resolveRouterParams('fast_phi', {});
    // Current loads point the other way: the projection decides.
    const v = viewFor(p, [500, 300, 400], [100, 100, 100], [100, 500, 300]);
    expect(routeWith('fast_phi', v, 150)).toBe(1);
  });

  it('prefers the rank with less uncertainty at equal means', () => {
    const p = resolveRouterParams('fast_phi', {});
    const v = viewFor(p, [800, 300, 300], [0, 40_000, 0], [0, 0, 10]);
    expect(routeWith('fast_phi', v, 100)).toBe(2);
  });

  it('with zero variance everywhere reduces to the hinge max(0, mu + w - E)', () => {
    const rnd = testRng(21);
    const given = { H: 32, K: 3, discount: 0.97 };
    const p = resolveRouterParams('fast_phi', given);
    const steps = getRouter('fast_phi').horizon(p);
    const wts = [5 / 9, 8 / 9, 5 / 9];
    // S = 1 up to the horizon: the newcomer is certain to be running (q = 1, no variance).
    const surv = new Array(100).fill(1);
    for (let t = 0; t < 200; t++) {
      const G = 2 + Math.floor(rnd() * 7);
      const projMean = steps.map(() => Array.from({ length: G }, () => Math.floor(rnd() * 20) * 50));
      const kv = Array.from({ length: G }, () => Math.floor(rnd() * 5) * 100);
      const v = makeView({ kv, horizonSteps: steps, projMean, survival: surv });
      const w = 1 + Math.floor(rnd() * 600);
      // Reference: Σ_j (H/2) ω_j δ^t [max(0, μ + w + t − E) − max(0, μ − E)], ties -> load, index.
      let best = -1;
      let bestD = 0;
      for (let g = 0; g < G; g++) {
        let D = 0;
        steps.forEach((tj, j) => {
          const E = Math.max(...projMean[j]);
          const mu = projMean[j][g];
          D += 16 * wts[j] * 0.97 ** tj * (Math.max(0, mu + w + tj - E) - Math.max(0, mu - E));
        });
        if (best < 0 || D < bestD - 1e-9 || (Math.abs(D - bestD) <= 1e-9 && kv[g] < kv[best])) {
          best = g;
          bestD = D;
        }
      }
      expect(routeWith('fast_phi', v, w, given)).toBe(best);
      // And the Gaussian formula is exactly the hinge at sigma = 0.
      expect(expectedOverflow(projMean[0][0] + w, 0, Math.max(...projMean[0]))).toBe(Math.max(0, projMean[0][0] + w - Math.max(...projMean[0])));
    }
  });

  it('counts the newcomer only while it is likely still running', () => {
    // Newcomer finishes after 1 token (S(0) = 1, S(>=1) = 0): only nodes at t = 0 would see it,
    // and with H = 64 all nodes are later, so every rank costs 0 and current load decides.
    const p = resolveRouterParams('fast_phi', {});
    const v = viewFor(p, [800, 300, 700], [0, 0, 0], [50, 40, 10], [1]);
    expect(routeWith('fast_phi', v, 100)).toBe(2);
  });

  it('is float-scored', () => {
    expect(getRouter('fast_phi').integerScored(resolveRouterParams('fast_phi', {}))).toBe(false);
  });
});
