// fast_phi_gauss: this project's Gaussian / Gauss-Legendre variant (the former fast_phi).
import { describe, expect, it } from 'vitest';
import { expectedOverflow } from '../../src/routers/gaussian.ts';
import { getRouter, resolveRouterParams } from '../../src/routers/index.ts';
import { ROUTER_STATE_WORDS, type RouterParams, type RouterView } from '../../src/routers/types.ts';
import { makeView, testRng } from './view.ts';

const SURV = new Float64Array([1]);

function routeWith(name: string, view: RouterView, prompt: number, given: Record<string, unknown> = {}): number {
  const r = getRouter(name);
  const params = resolveRouterParams(name, given);
  const state = new Uint32Array(ROUTER_STATE_WORDS);
  r.init(state, 1, view.G);
  return r.route(view, { prompt, waitedUs: 0, canHold: false }, params, state);
}

function stepsOf(name: string, given: Record<string, unknown> = {}): number[] {
  return getRouter(name).horizon(resolveRouterParams(name, given), SURV);
}

describe('fast_phi_gauss (ours)', () => {
  it('asks for the Gauss-Legendre nodes on [0, H], rounded to steps', () => {
    expect(stepsOf('fast_phi_gauss')).toEqual([4, 21, 43, 60]);
    expect(stepsOf('fast_phi_gauss', { K: 1, H: 10 })).toEqual([5]);
    expect(stepsOf('fast_phi_gauss', { K: 3, H: 100 })).toEqual([11, 50, 89]);
  });

  // Default survival: every output outlives the horizon (the newcomer is surely running).
  function viewFor(params: RouterParams, mean: number[], variance: number[], kv: number[], survival = new Array(100).fill(1)): RouterView {
    const steps = getRouter('fast_phi_gauss').horizon(params, SURV);
    return makeView({
      kv,
      horizonSteps: steps,
      projMean: steps.map(() => mean),
      projVar: steps.map(() => variance),
      survival,
    });
  }

  it('prefers the rank with the lower projected mean', () => {
    const p = resolveRouterParams('fast_phi_gauss', {});
    // Current loads point the other way: the projection decides.
    const v = viewFor(p, [500, 300, 400], [100, 100, 100], [100, 500, 300]);
    expect(routeWith('fast_phi_gauss', v, 150)).toBe(1);
  });

  it('prefers the rank with less uncertainty at equal means', () => {
    const p = resolveRouterParams('fast_phi_gauss', {});
    const v = viewFor(p, [800, 300, 300], [0, 40_000, 0], [0, 0, 10]);
    expect(routeWith('fast_phi_gauss', v, 100)).toBe(2);
  });

  it('with zero variance everywhere reduces to the hinge max(0, mu + w - E)', () => {
    const rnd = testRng(21);
    const given = { H: 32, K: 3, discount: 0.97 };
    const p = resolveRouterParams('fast_phi_gauss', given);
    const steps = getRouter('fast_phi_gauss').horizon(p, SURV);
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
      expect(routeWith('fast_phi_gauss', v, w, given)).toBe(best);
      // And the Gaussian formula is exactly the hinge at sigma = 0.
      expect(expectedOverflow(projMean[0][0] + w, 0, Math.max(...projMean[0]))).toBe(Math.max(0, projMean[0][0] + w - Math.max(...projMean[0])));
    }
  });

  it('counts the newcomer only while it is likely still running', () => {
    // Newcomer finishes after 1 token (S(0) = 1, S(>=1) = 0): only nodes at t = 0 would see it,
    // and with H = 64 all nodes are later, so every rank costs 0 and current load decides.
    const p = resolveRouterParams('fast_phi_gauss', {});
    const v = viewFor(p, [800, 300, 700], [0, 0, 0], [50, 40, 10], [1]);
    expect(routeWith('fast_phi_gauss', v, 100)).toBe(2);
  });

  it('is float-scored', () => {
    expect(getRouter('fast_phi_gauss').integerScored(resolveRouterParams('fast_phi_gauss', {}))).toBe(false);
  });
});
