import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.ts';
import { gammaVariate, generateArrivals, unitArrivalTimes } from '../../src/workload/arrivals.ts';
import { cv, gaps, mean } from './helpers.ts';

const N = 20_000;

describe('poisson arrivals', () => {
  const t = generateArrivals(N, 'poisson', 1, 10, new Rng(7, 1));

  it('are integer microseconds, non-decreasing, and start after 0', () => {
    expect(t[0]).toBeGreaterThan(0);
    for (let i = 0; i < N; i++) {
      expect(Number.isInteger(t[i])).toBe(true);
      if (i > 0) expect(t[i]).toBeGreaterThanOrEqual(t[i - 1]);
    }
  });

  it('have the requested mean rate (within 3% on 20k samples)', () => {
    const rate = N / (t[N - 1] / 1e6);
    expect(rate).toBeGreaterThan(10 * 0.97);
    expect(rate).toBeLessThan(10 * 1.03);
  });

  it('have exponential gaps: CV within 3% of 1', () => {
    expect(Math.abs(cv(gaps(t)) - 1)).toBeLessThan(0.03);
  });
});

describe('gamma arrivals', () => {
  it('CV = 4 gives gap CV within 10% and mean rate within 10% (20k samples)', () => {
    const t = generateArrivals(N, 'gamma', 4, 5, new Rng(11, 1));
    const g = gaps(t);
    expect(Math.abs(cv(g) / 4 - 1)).toBeLessThan(0.1);
    expect(Math.abs(N / (t[N - 1] / 1e6) / 5 - 1)).toBeLessThan(0.1);
  });

  it('CV = 0.5 (shape 4) gives gap CV within 3%', () => {
    const t = unitArrivalTimes(N, 'gamma', 0.5, new Rng(3, 1));
    const g = new Float64Array(N);
    g[0] = t[0];
    for (let i = 1; i < N; i++) g[i] = t[i] - t[i - 1];
    expect(Math.abs(mean(g) - 1)).toBeLessThan(0.02);
    expect(Math.abs(cv(g) / 0.5 - 1)).toBeLessThan(0.03);
  });

  it('Marsaglia–Tsang variates have mean = shape for shapes below and above 1', () => {
    for (const k of [0.0625, 0.5, 1, 2.5, 30]) {
      const rng = new Rng(5, 9);
      let s = 0;
      for (let i = 0; i < N; i++) s += gammaVariate(rng, k);
      expect(Math.abs(s / N / k - 1)).toBeLessThan(k < 0.1 ? 0.1 : 0.03);
    }
  });

  it('CV = 1 is exactly the Poisson stream', () => {
    const a = generateArrivals(1000, 'gamma', 1, 3, new Rng(1, 1));
    const b = generateArrivals(1000, 'poisson', 1, 3, new Rng(1, 1));
    expect(a).toEqual(b);
  });
});

describe('rate scaling (common random numbers)', () => {
  it('doubling the rate halves every arrival time, within 1 µs of rounding', () => {
    const a2 = generateArrivals(5000, 'gamma', 2, 2, new Rng(4, 1));
    const a4 = generateArrivals(5000, 'gamma', 2, 4, new Rng(4, 1));
    for (let i = 0; i < 5000; i++) expect(Math.abs(a2[i] - 2 * a4[i])).toBeLessThanOrEqual(1);
  });
});
