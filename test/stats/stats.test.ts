// Student t quantiles and intervals against published table values.
import { describe, expect, it } from 'vitest';
import { mean, sampleSd, studentTCdf, studentTQuantile, tInterval } from '../../src/stats/stats.ts';

describe('studentTQuantile', () => {
  // Two-sided 95% (p = 0.975) and other values from standard t tables (R: qt(p, df)).
  const table: [number, number, number][] = [
    [0.975, 1, 12.706204736174698],
    [0.975, 2, 4.302652729749464],
    [0.975, 3, 3.182446305284263],
    [0.975, 4, 2.776445105197799],
    [0.975, 5, 2.570581835636314],
    [0.975, 10, 2.228138851986274],
    [0.975, 30, 2.042272456301238],
    [0.975, 100, 1.983971518523552],
    [0.995, 7, 3.499483297350566],
    [0.9, 3, 1.637744353696210],
  ];
  for (const [p, df, want] of table) {
    it(`t(${p}, ${df}) = ${want}`, () => expect(studentTQuantile(p, df)).toBeCloseTo(want, 9));
  }
  it('tends to the normal quantile for large df', () => expect(studentTQuantile(0.975, 1e6)).toBeCloseTo(1.959964, 5));
  it('is symmetric and inverts the CDF', () => {
    expect(studentTQuantile(0.025, 6)).toBeCloseTo(-studentTQuantile(0.975, 6), 12);
    expect(studentTQuantile(0.5, 6)).toBe(0);
    for (const df of [1, 2, 3, 8, 40]) for (const p of [0.6, 0.9, 0.99]) expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 10);
  });
  it('rejects p outside (0, 1) and df <= 0', () => {
    expect(() => studentTQuantile(1, 3)).toThrow(RangeError);
    expect(() => studentTQuantile(0.9, 0)).toThrow(RangeError);
  });
});

describe('tInterval', () => {
  it('mean ± t·sd/√n', () => {
    const xs = [0.05, 0.07, 0.09];
    const r = tInterval(xs);
    expect(r.n).toBe(3);
    expect(r.mean).toBeCloseTo(0.07, 15);
    expect(r.sd).toBeCloseTo(0.02, 15);
    const half = 4.302652729749464 * (0.02 / Math.sqrt(3));
    expect(r.lo).toBeCloseTo(0.07 - half, 12);
    expect(r.hi).toBeCloseTo(0.07 + half, 12);
  });
  it('has no interval for a single value', () => {
    expect(tInterval([0.1])).toEqual({ n: 1, mean: 0.1, sd: null, lo: null, hi: null });
  });
  it('mean and sd', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(sampleSd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138089935299395, 12);
  });
});
