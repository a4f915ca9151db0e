// The least-squares solvers, and calibration recovering known coefficients exactly from a
// synthetic profile written by the test (docs/step-model.md §3).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { leastSquares, nonNegativeLeastSquares } from '../../src/calibrate/leastSquares.ts';
import { calibrate } from '../../src/calibrate/calibrate.ts';
import { curvePs } from '../../src/model/stepCurve.ts';
import { stepModelForDp } from '../../src/model/stepTime.ts';
import { modelFromSpec } from '../../src/model/presets.ts';
import { KNOWN, LAYERS, writeSyntheticProfile } from './syntheticProfile.ts';

/** Deterministic pseudo-random numbers (an LCG; the tests need variety, not quality). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('least squares', () => {
  it('recovers the coefficients of noise-free data exactly (badly scaled columns, weights)', () => {
    const rnd = lcg(7);
    const truth = [900, 5, 1.5, 0.07, 2.4, 0.6, 0.13, 14];
    const X: number[][] = [];
    const y: number[] = [];
    const w: number[] = [];
    for (let i = 0; i < 400; i++) {
      const row = [1, Math.floor(rnd() * 128), Math.floor(rnd() * 2048), Math.floor(rnd() * 500_000), Math.floor(rnd() * 4000), Math.floor(rnd() * 8192), Math.floor(rnd() * 300_000), Math.floor(rnd() * 100)];
      X.push(row);
      y.push(row.reduce((s, x, j) => s + x * truth[j], 0));
      w.push(1 / (1 + rnd() * 100));
    }
    for (const b of [leastSquares(X, y), leastSquares(X, y, w), nonNegativeLeastSquares(X, y, w)]) {
      b.forEach((v, j) => expect(Math.abs(v / truth[j] - 1)).toBeLessThan(1e-9));
    }
  });

  it('non-negative least squares: a coefficient the data would make negative is held at 0 (KKT holds)', () => {
    // y = 10 + 3x - 0.5z, fitted with b >= 0: the z coefficient must be 0.
    const rnd = lcg(3);
    const X: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 200; i++) {
      const x = rnd() * 10;
      const z = rnd() * 10;
      X.push([1, x, z]);
      y.push(10 + 3 * x - 0.5 * z);
    }
    const b = nonNegativeLeastSquares(X, y);
    expect(b[2]).toBe(0);
    expect(b[0]).toBeGreaterThan(0);
    expect(b[1]).toBeGreaterThan(0);
    // Gradient of the objective: 0 on free coefficients, pointing outward (<= 0) on the bound one.
    const g = [0, 0, 0];
    for (let i = 0; i < X.length; i++) {
      const r = y[i] - X[i].reduce((s, v, j) => s + v * b[j], 0);
      for (let j = 0; j < 3; j++) g[j] += X[i][j] * r;
    }
    expect(Math.abs(g[0])).toBeLessThan(1e-6);
    expect(Math.abs(g[1])).toBeLessThan(1e-6);
    expect(g[2]).toBeLessThan(0);
    // Matches the unconstrained fit on the free columns.
    const free = leastSquares(X, y, undefined, [0, 1]);
    expect(b[0]).toBeCloseTo(free[0], 9);
    expect(b[1]).toBeCloseTo(free[1], 9);
  });

  it('a rank-deficient design yields NaN rather than a wrong answer', () => {
    const X = [[1, 2], [2, 4], [3, 6]];
    expect(leastSquares(X, [1, 2, 3]).every(Number.isNaN)).toBe(true);
  });
});

// ---- a synthetic profile with known coefficients ----

const dir = mkdtempSync(join(tmpdir(), 'br-fit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('calibrate on a synthetic profile', () => {
  const root = join(dir, 'synthetic');
  writeSyntheticProfile(root);

  it('recovers known integer-picosecond coefficients exactly', () => {
    const r = calibrate({ path: root, l2Correction: false, dp: [1, 2] });
    const c = r.preset.coefficients;
    for (const [k, v] of Object.entries(KNOWN)) expect(c[k as keyof typeof c], k).toBe(v);
    expect(c.baseExperts).toBe(0);
    expect(c.perDecodeSkewToken).toBe(0); // no skew factor in this meta.yaml
    // Only the engine's rounding to whole microseconds separates prediction and truth.
    for (const s of r.heldOut.values()) expect(s.p99).toBeLessThan(1e-3);
    expect(r.heldOutRows).toBeGreaterThan(0);
    // 9 decode-only rows + 4 chunks x 4 contexts x (1 prefill-only + 9 mixed) rows.
    expect(r.trainRows + r.heldOutRows + r.excludedRows).toBe(9 + 4 * 4 * 10);
  });

  it('the lockstep curve sums the dense and MoE tables scaled to the model', () => {
    const r = calibrate({ path: root, l2Correction: false, dp: [1], cudaGraphs: false });
    const m = stepModelForDp(modelFromSpec(r.preset), 1);
    // At 64 tokens: embedding once, layernorm twice per layer, qkv_proj once per layer, and the
    // MoE block per layer at the expected number of distinct experts of 64 tokens' top-2 of 8.
    const t = 64;
    const experts = 8 * (1 - Math.pow(1 - 2 / 8, t));
    const moeUs = 10 * Math.min(experts, 8) + t / 10; // table is linear in experts up to 8
    const us = 1 + t / 1000 + 2 * LAYERS * (2 + t / 500) + LAYERS * (5 + t / 100) + LAYERS * moeUs;
    expect(Math.abs(curvePs(m.maxRankTokenCurve!, t) - us * 1e6)).toBeLessThanOrEqual(1);
  });
});
