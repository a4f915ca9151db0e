// The projection module shared by the engines: predictors of remaining steps, binary-cutoff and
// survival-weighted loads, and how the CPU engine feeds them to brh.
import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/engine/cpu/simulate.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import {
  addCutoffLoad,
  addSurvivalLoad,
  createPredictor,
  createProjector,
  medianRemainingTable,
  predictorNoise,
  predictorNoiseFixed,
  predictorNormal,
} from '../../src/routers/projections.ts';
import { getWorkload } from '../../src/workload/build.ts';
import { makeScenario } from '../helpers.ts';
import { makeView, project } from './view.ts';

const UNIFORM100 = Float64Array.from({ length: 101 }, (_, h) => (100 - h) / 100);

describe('predictors of remaining decode steps', () => {
  it('oracle returns the true remaining steps; none never finishes', () => {
    expect(createPredictor('oracle', 0, 1, UNIFORM100).remaining(7, 30, 12)).toBe(12);
    expect(createPredictor('none', 0, 1, UNIFORM100).remaining(7, 30, 12)).toBe(Infinity);
  });

  it('median: min m >= 1 with S(a+m) <= S(a)/2 (the conditional median given age)', () => {
    // Uniform 1..100, age a: remaining uniform on 1..100−a, median ceil((100−a)/2).
    const med = medianRemainingTable(UNIFORM100);
    expect(med[0]).toBe(50);
    expect(med[1]).toBe(50); // S(1) = .99, S(51) = .49 <= .495
    expect(med[60]).toBe(20);
    expect(med[99]).toBe(1);
    expect(med[100]).toBe(1); // past every output: counts now only
    for (let a = 0; a < 100; a++) {
      const m = med[a];
      expect(UNIFORM100[a + m] ?? 0).toBeLessThanOrEqual(UNIFORM100[a] / 2);
      if (m > 1) expect(UNIFORM100[a + m - 1]).toBeGreaterThan(UNIFORM100[a] / 2);
    }
    const p = createPredictor('median', 0, 1, UNIFORM100);
    expect(p.remaining(3, 60, 999)).toBe(20);
    expect(p.remaining(3, 500, 999)).toBe(1);
  });

  it('noisy: true remaining x exp(sigma Z), Z standard normal, fixed per (seed, request)', () => {
    const n = 20000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const z = predictorNormal(42, i);
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(sq / n - (sum / n) ** 2) - 1)).toBeLessThan(0.03);
    // Reproducible, independent of the order of calls, different across seeds and requests.
    expect(predictorNormal(42, 5)).toBe(predictorNormal(42, 5));
    expect(predictorNormal(42, 5)).not.toBe(predictorNormal(43, 5));
    expect(predictorNormal(42, 5)).not.toBe(predictorNormal(42, 6));
    const p = createPredictor('noisy', 0.8, 42, UNIFORM100);
    const later = p.remaining(9, 0, 100);
    expect(p.remaining(9, 50, 50)).toBeCloseTo(later / 2, 12); // same factor for the request's life
    expect(later).toBe((100 * predictorNoiseFixed(42, 9, 0.8)) / 65536); // exp(σZ) in 2^-16 steps
    expect(Math.abs(later - 100 * Math.exp(0.8 * predictorNormal(42, 9)))).toBeLessThanOrEqual(100 / 65536);
    expect(predictorNoiseFixed(42, 9, 10)).toBeGreaterThanOrEqual(1);
    expect(predictorNoise(42, 9, 0)).toBe(1);
    expect(createPredictor('noisy', 0, 42, UNIFORM100).remaining(9, 0, 37)).toBe(37);
  });
});

describe('projected loads', () => {
  it('binary cutoff: w + h while h < c, then 0', () => {
    const cut = new Float64Array(4 * 2);
    addCutoffLoad(cut, 2, 1, [0, 1, 2, 3], 100, 2);
    addCutoffLoad(cut, 2, 1, [0, 1, 2, 3], 10, 2.5);
    expect(Array.from(cut)).toEqual([0, 110, 0, 112, 0, 12, 0, 0]);
  });

  it('survival-weighted: the engine rule q = S(a+h)/S(a), mean and variance', () => {
    const steps = [0, 10, 50, 99, 100];
    const mean = new Float64Array(steps.length);
    const variance = new Float64Array(steps.length);
    addSurvivalLoad(mean, variance, 1, 0, steps, 300, 20, UNIFORM100);
    const ref = project([[{ w: 300, a: 20 }]], steps, Array.from(UNIFORM100));
    expect(Array.from(mean)).toEqual(ref.projMean.map((r) => r[0]));
    ref.projVar.forEach((r, j) => expect(variance[j]).toBeCloseTo(r[0], 6));
  });

  it('createProjector fills the array its router reads and clears it', () => {
    const view = makeView({ kv: [0, 0], horizonSteps: [0, 1], projCut: [[0, 0], [0, 0]], projMean: [[0, 0], [0, 0]] });
    const cut = createProjector({ kind: 'cutoff', predictor: 'oracle', sigma: 0 }, [0, 1], UNIFORM100, 1);
    cut.add(view, 1, 0, 50, 3, 1);
    expect(Array.from(view.projCut)).toEqual([0, 50, 0, 0]);
    expect(Array.from(view.projMean)).toEqual([0, 0, 0, 0]);
    cut.clear(view);
    expect(Array.from(view.projCut)).toEqual([0, 0, 0, 0]);
    const surv = createProjector({ kind: 'survival' }, [0, 1], UNIFORM100, 1);
    surv.add(view, 0, 0, 50, 0, NaN);
    expect(view.projMean[0]).toBe(50);
    expect(view.projMean[2]).toBeCloseTo(0.99 * 51, 12);
  });
});

describe('brh predictors in the CPU engine', () => {
  const model = resolveStepModel('qwen3-30b-a3b-h100');
  const run = (knobs: Record<string, unknown>) => {
    const sc = makeScenario({ dp: 4, router: 'brh', routerParams: resolveRouterParams('brh', knobs), workload: { rate: 12, requests: 160, seed: 5 } });
    return simulate(sc, getWorkload(sc.workload), model, { detail: true });
  };

  it('noisy with sigma 0 is the oracle, decision for decision', () => {
    const a = run({ predictor: 'oracle' });
    const b = run({ predictor: 'noisy', predictor_sigma: 0 });
    expect(Array.from(b.requests!.rank)).toEqual(Array.from(a.requests!.rank));
    expect(b.metrics).toEqual({ ...a.metrics, wall_ms: b.metrics.wall_ms });
  });

  it('each predictor changes decisions, and every run completes every request', () => {
    // H = 300: long enough for the conditional median (~100+ steps here) to end requests in the horizon.
    const ranks = (['oracle', 'median', 'none'] as const).map((predictor) => {
      const r = run({ predictor, H: 300 });
      expect(r.metrics.completed).toBe(160);
      return Array.from(r.requests!.rank).join(',');
    });
    const noisy = run({ predictor: 'noisy', predictor_sigma: 1, H: 300 });
    expect(noisy.metrics.completed).toBe(160);
    ranks.push(Array.from(noisy.requests!.rank).join(','));
    expect(new Set(ranks).size).toBe(4);
  });
});
