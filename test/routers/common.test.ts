import { describe, expect, it } from 'vitest';
import { getRouter, resolveRouterParams, routerNames } from '../../src/routers/index.ts';
import { ROUTER_STATE_WORDS, type RouterView } from '../../src/routers/types.ts';
import { makeView, project, testRng, type Resident } from './view.ts';

const SURV = Float64Array.from({ length: 201 }, (_, a) => (a < 200 ? Math.exp(-a / 60) : 0));

/** A random but self-consistent view, with the projections `steps` asks for (both kinds). */
function randomView(rnd: () => number, G: number, steps: number[]): RouterView {
  const surv = Array.from(SURV);
  const ranks: Resident[][] = Array.from({ length: G }, () =>
    Array.from({ length: Math.floor(rnd() * 5) }, () => ({ w: 10 + Math.floor(rnd() * 800), a: Math.floor(rnd() * 100) })),
  );
  const kv = ranks.map((rs) => rs.reduce((s, r) => s + r.w, 0));
  const { projMean, projVar } = project(ranks, steps, surv);
  // Binary cutoff with a made-up prediction per request (remaining = 100 - age).
  const projCut = steps.map((h) => ranks.map((rs) => rs.reduce((s, r) => s + (h < 100 - r.a ? r.w + h : 0), 0)));
  return makeView({
    kv,
    queued: Array.from({ length: G }, () => Math.floor(rnd() * 3) * 64),
    waiting: Array.from({ length: G }, () => Math.floor(rnd() * 3)),
    running: ranks.map((rs) => rs.length),
    kvUsage: Array.from({ length: G }, () => rnd()),
    inflight: Array.from({ length: G }, () => Math.floor(rnd() * 8)),
    kvCapacity: 8192,
    horizonSteps: steps,
    projMean,
    projVar,
    projCut,
    survival: surv,
  });
}

function snapshot(v: RouterView): number[][] {
  return [v.waiting, v.running, v.kvTokens, v.queuedTokens, v.kvUsage, v.inflight, v.horizonSteps, v.projMean, v.projVar, v.projCut, v.outputSurvival].map((a) =>
    Array.from(a),
  );
}

describe.each(routerNames())('%s', (name) => {
  const def = getRouter(name);
  const params = resolveRouterParams(name, {});
  const steps = def.horizon(params, SURV);

  it('returns 0 when G = 1', () => {
    const rnd = testRng(3);
    const state = new Uint32Array(ROUTER_STATE_WORDS);
    def.init(state, 77, 1);
    for (let i = 0; i < 20; i++) expect(def.route(randomView(rnd, 1, steps), { prompt: 1 + i * 37, waitedUs: 0, canHold: false }, params, state)).toBe(0);
  });

  it('returns a rank in [0, G), leaves the view untouched, and is reproducible from init', () => {
    const rnd = testRng(4);
    for (const G of [2, 3, 8, 17]) {
      const views = Array.from({ length: 20 }, () => randomView(rnd, G, steps));
      const run = () => {
        const state = new Uint32Array(ROUTER_STATE_WORDS);
        def.init(state, 123, G);
        return views.map((v, i) => def.route(v, { prompt: 16 + 29 * i, waitedUs: 0, canHold: false }, params, state));
      };
      const before = views.map(snapshot);
      const picks = run();
      for (const g of picks) {
        expect(Number.isInteger(g)).toBe(true);
        expect(g).toBeGreaterThanOrEqual(0);
        expect(g).toBeLessThan(G);
      }
      expect(views.map(snapshot)).toEqual(before);
      expect(run()).toEqual(picks);
    }
  });

  it('declares sane horizon offsets (ascending, distinct, whole steps)', () => {
    steps.forEach((h, j) => {
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      if (j > 0) expect(h).toBeGreaterThan(steps[j - 1]);
    });
  });
});
