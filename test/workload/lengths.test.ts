import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.ts';
import { inverseCdf, normalizeLengthDist, sampleLengths } from '../../src/workload/lengths.ts';
import { getProfile } from '../../src/workload/profiles.ts';
import { expectInputError, mean, median } from './helpers.ts';

const N = 20_000;

describe('length samplers', () => {
  it('fixed gives the value, capped', () => {
    expect([...sampleLengths({ kind: 'fixed', value: 7 }, 'prompt', 3, new Rng(1))]).toEqual([7, 7, 7]);
    expect([...sampleLengths({ kind: 'fixed', value: 700 }, 'output', 2, new Rng(1), 100)]).toEqual([100, 100]);
  });

  it('uniform gives integers covering [min, max] inclusive with the right mean', () => {
    const x = sampleLengths({ kind: 'uniform', min: 10, max: 20 }, 'prompt', N, new Rng(2));
    const seen = new Set(x);
    expect(Math.min(...x)).toBe(10);
    expect(Math.max(...x)).toBe(20);
    expect(seen.size).toBe(11);
    expect(Math.abs(mean(x) - 15)).toBeLessThan(0.1);
  });

  it('lognormal median within 3% and clamps to [min, max]', () => {
    const x = sampleLengths({ kind: 'lognormal', median: 500, sigma: 1 }, 'prompt', N, new Rng(3));
    expect(Math.abs(median(x) / 500 - 1)).toBeLessThan(0.03);
    expect(Math.min(...x)).toBeGreaterThanOrEqual(1);
    const c = sampleLengths({ kind: 'lognormal', median: 500, sigma: 2, min: 50, max: 2000 }, 'prompt', N, new Rng(3));
    expect(Math.min(...c)).toBe(50);
    expect(Math.max(...c)).toBe(2000);
    for (const v of c) expect(Number.isInteger(v)).toBe(true);
  });

  it('lognormal sigma matches the spread of ln(length)', () => {
    const x = sampleLengths({ kind: 'lognormal', median: 2000, sigma: 0.7 }, 'output', N, new Rng(4));
    const logs = Array.from(x, (v) => Math.log(v));
    const m = mean(logs);
    const sd = Math.sqrt(mean(logs.map((l) => (l - m) ** 2)));
    expect(Math.abs(sd / 0.7 - 1)).toBeLessThan(0.03);
  });

  it.each([
    ['sharegpt', 'prompt'],
    ['sharegpt', 'output'],
    ['azure_conv', 'prompt'],
    ['azure_conv', 'output'],
    ['azure_code', 'prompt'],
    ['azure_code', 'output'],
  ] as const)('empirical %s %s reproduces the profile median within 3% and its range', (name, role) => {
    const p = getProfile(name);
    const x = sampleLengths({ kind: 'empirical', profile: name }, role, N, new Rng(5));
    const target = p[role].stats.median;
    expect(Math.abs(median(x) / target - 1)).toBeLessThan(0.03);
    expect(Math.min(...x)).toBeGreaterThanOrEqual(Math.max(1, Math.round(p[role].stats.min)));
    expect(Math.max(...x)).toBeLessThanOrEqual(p[role].stats.max);
    // The mean is matched too (the table interpolates linearly between quantiles).
    expect(Math.abs(mean(x) / p[role].stats.mean - 1)).toBeLessThan(0.05);
  });

  it('empirical output lengths are capped at maxOutput', () => {
    const x = sampleLengths({ kind: 'empirical', profile: 'azure_code' }, 'output', N, new Rng(6), 64);
    expect(Math.max(...x)).toBe(64);
  });

  it('inverseCdf interpolates linearly and rounds to >= 1', () => {
    const q = Float64Array.from([0, 10, 20]);
    expect(inverseCdf(q, 0)).toBe(1);
    expect(inverseCdf(q, 0.25)).toBe(5);
    expect(inverseCdf(q, 0.5)).toBe(10);
    expect(inverseCdf(q, 0.999999)).toBe(20);
  });

  it('draw i does not depend on how many are drawn (prefix property)', () => {
    const d = { kind: 'lognormal', median: 300, sigma: 1.2 } as const;
    const a = sampleLengths(d, 'prompt', 100, new Rng(8, 3));
    const b = sampleLengths(d, 'prompt', 1000, new Rng(8, 3));
    expect(b.slice(0, 100)).toEqual(a);
  });
});

describe('length distribution validation', () => {
  it('fills defaults and keeps only meaningful fields', () => {
    expect(normalizeLengthDist({ kind: 'lognormal', median: 100, sigma: 1 }, 'prompt')).toEqual({ kind: 'lognormal', median: 100, sigma: 1, min: 1, max: 1 << 30 });
    expect(normalizeLengthDist({ kind: 'fixed', value: 3, extra: 1 }, 'output')).toEqual({ kind: 'fixed', value: 3 });
  });

  it('rejects bad distributions naming the field and value', () => {
    expectInputError(() => normalizeLengthDist({ kind: 'zipf' }, 'prompt'), 'prompt.kind', 'zipf', 'fixed, uniform, lognormal, empirical');
    expectInputError(() => normalizeLengthDist({ kind: 'fixed', value: 0 }, 'output'), 'output.value', 0);
    expectInputError(() => normalizeLengthDist({ kind: 'fixed', value: 2.5 }, 'output'), 'output.value', 2.5);
    expectInputError(() => normalizeLengthDist({ kind: 'uniform', min: 10, max: 5 }, 'prompt'), 'prompt.max', 5);
    expectInputError(() => normalizeLengthDist({ kind: 'lognormal', median: -1, sigma: 1 }, 'prompt'), 'prompt.median', -1);
    expectInputError(() => normalizeLengthDist({ kind: 'lognormal', median: 10, sigma: -1 }, 'prompt'), 'prompt.sigma', -1);
    expectInputError(() => normalizeLengthDist({ kind: 'lognormal', median: 10, sigma: 1, min: 50, max: 20 }, 'prompt'), 'prompt.max', 20);
    expectInputError(() => normalizeLengthDist({ kind: 'empirical', profile: 'nope' }, 'output'), 'output.profile', 'nope', 'sharegpt');
    expectInputError(() => normalizeLengthDist('lognormal', 'prompt'), 'prompt', 'lognormal');
  });
});
