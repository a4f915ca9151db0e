import { describe, expect, it } from 'vitest';
import {
  buildWorkload,
  clearWorkloadCache,
  getWorkload,
  outputSurvival,
  workloadKey,
  WORKLOAD_CACHE_LIMIT,
} from '../../src/workload/build.ts';
import { InputError } from '../../src/errors.ts';
import type { WorkloadSpec } from '../../src/workload/types.ts';
import { BASE, CONV, cv, expectInputError, gaps, median } from './helpers.ts';

const spec = (over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({ ...BASE, ...over });

describe('determinism', () => {
  it('the same spec gives identical arrays', () => {
    for (const s of [spec(), spec({ source: 'azure_code', arrival: 'gamma', cv: 4, requests: 2000 }), spec({ prompt: { kind: 'lognormal', median: 800, sigma: 1 } })]) {
      const a = buildWorkload(s);
      const b = buildWorkload({ ...s });
      expect(b.arrivalUs).toEqual(a.arrivalUs);
      expect(b.prompt).toEqual(a.prompt);
      expect(b.output).toEqual(a.output);
      expect(b.outputSurvival).toEqual(a.outputSurvival);
      expect(b.label).toBe(a.label);
    }
  });

  it('the default stream is frozen (a change here changes every published result)', () => {
    const w = buildWorkload(spec());
    expect(w.n).toBe(500);
    expect(w.label).toBe('sharegpt');
    expect([...w.arrivalUs.slice(0, 3)]).toEqual([1035862, 1366487, 1442630]);
    expect([...w.prompt.slice(0, 5)]).toEqual([408, 977, 1050, 798, 589]);
    expect([...w.output.slice(0, 5)]).toEqual([558, 619, 601, 767, 585]);
  });

  it('different seeds give different streams', () => {
    const a = buildWorkload(spec({ seed: 1 }));
    const b = buildWorkload(spec({ seed: 2 }));
    expect(b.prompt).not.toEqual(a.prompt);
    expect(b.arrivalUs).not.toEqual(a.arrivalUs);
  });

  it('types and ranges: integer µs non-decreasing after 0, lengths >= 1', () => {
    const w = buildWorkload(spec({ source: 'azure_code', arrival: 'gamma', cv: 13, requests: 5000 }));
    expect(w.arrivalUs).toBeInstanceOf(Float64Array);
    expect(w.prompt).toBeInstanceOf(Int32Array);
    expect(w.output).toBeInstanceOf(Int32Array);
    expect(w.arrivalUs[0]).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < w.n; i++) {
      expect(Number.isInteger(w.arrivalUs[i])).toBe(true);
      if (i) expect(w.arrivalUs[i]).toBeGreaterThanOrEqual(w.arrivalUs[i - 1]);
      expect(w.prompt[i]).toBeGreaterThanOrEqual(1);
      expect(w.output[i]).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('common random numbers', () => {
  it('rate 2 vs 4: same lengths, arrivals scaled by 2 within rounding', () => {
    const a = buildWorkload(spec({ rate: 2, requests: 3000 }));
    const b = buildWorkload(spec({ rate: 4, requests: 3000 }));
    expect(b.prompt).toEqual(a.prompt);
    expect(b.output).toEqual(a.output);
    for (let i = 0; i < a.n; i++) expect(Math.abs(a.arrivalUs[i] - 2 * b.arrivalUs[i])).toBeLessThanOrEqual(1);
  });

  it('the arrival process and cv change only arrivals', () => {
    const a = buildWorkload(spec());
    const b = buildWorkload(spec({ arrival: 'gamma', cv: 4 }));
    expect(b.prompt).toEqual(a.prompt);
    expect(b.output).toEqual(a.output);
    expect(b.arrivalUs).not.toEqual(a.arrivalUs);
  });

  it('overriding the output distribution leaves prompts and arrivals alone (and vice versa)', () => {
    const a = buildWorkload(spec());
    const b = buildWorkload(spec({ output: { kind: 'lognormal', median: 200, sigma: 1 } }));
    expect(b.prompt).toEqual(a.prompt);
    expect(b.arrivalUs).toEqual(a.arrivalUs);
    const c = buildWorkload(spec({ prompt: { kind: 'uniform', min: 1, max: 100 } }));
    expect(c.output).toEqual(a.output);
  });

  it('a longer stream extends a shorter one', () => {
    const a = buildWorkload(spec({ requests: 100 }));
    const b = buildWorkload(spec({ requests: 1000 }));
    expect(b.arrivalUs.slice(0, 100)).toEqual(a.arrivalUs);
    expect(b.prompt.slice(0, 100)).toEqual(a.prompt);
    expect(b.output.slice(0, 100)).toEqual(a.output);
  });

  it('max_output only clips outputs', () => {
    const a = buildWorkload(spec({ maxOutput: 1 << 20 }));
    const b = buildWorkload(spec({ maxOutput: 600 }));
    expect(b.prompt).toEqual(a.prompt);
    for (let i = 0; i < a.n; i++) expect(b.output[i]).toBe(Math.min(600, a.output[i]));
  });
});

describe('synthetic statistics', () => {
  it('Poisson at 7 req/s over 20k requests: mean rate and gap CV within 3%', () => {
    const w = buildWorkload(spec({ rate: 7, requests: 20_000 }));
    expect(Math.abs(w.n / (w.arrivalUs[w.n - 1] / 1e6) / 7 - 1)).toBeLessThan(0.03);
    expect(Math.abs(cv(gaps(w.arrivalUs)) - 1)).toBeLessThan(0.03);
  });

  it('gamma CV 4 over 20k requests: gap CV within 10%', () => {
    const w = buildWorkload(spec({ arrival: 'gamma', cv: 4, rate: 7, requests: 20_000 }));
    expect(Math.abs(cv(gaps(w.arrivalUs)) / 4 - 1)).toBeLessThan(0.1);
  });

  it('a profile reproduces its medians', () => {
    const w = buildWorkload(spec({ source: 'azure_conv', requests: 20_000, maxOutput: 100_000 }));
    expect(Math.abs(median(w.prompt) / 1020 - 1)).toBeLessThan(0.03);
    expect(Math.abs(median(w.output) / 129 - 1)).toBeLessThan(0.03);
  });

  it('lengths can come from another profile or a parametric distribution', () => {
    const w = buildWorkload(spec({ requests: 20_000, output: { kind: 'empirical', profile: 'azure_code' }, prompt: { kind: 'lognormal', median: 3000, sigma: 0.5 } }));
    expect(Math.abs(median(w.output) / 13 - 1)).toBeLessThan(0.08);
    expect(Math.abs(median(w.prompt) / 3000 - 1)).toBeLessThan(0.03);
    expect(w.label).toBe('sharegpt[prompt=lognormal(3000,0.5),output=empirical(azure_code)]');
  });
});

describe('output survival table', () => {
  it('S(0) = 1, non-increasing, S(max) = 0, and equal to the brute-force fraction', () => {
    const w = buildWorkload(spec({ source: 'azure_conv', requests: 3000 }));
    const s = w.outputSurvival;
    let maxO = 0;
    for (const o of w.output) maxO = Math.max(maxO, o);
    expect(s.length).toBe(maxO + 1);
    expect(s[0]).toBe(1);
    expect(s[maxO]).toBe(0);
    for (let a = 1; a < s.length; a++) expect(s[a]).toBeLessThanOrEqual(s[a - 1]);
    for (const a of [1, 10, 129, 500, maxO - 1]) {
      const frac = w.output.filter((o) => o > a).length / w.n;
      expect(s[a]).toBeCloseTo(frac, 12);
    }
  });

  it('small hand example', () => {
    expect([...outputSurvival(Int32Array.from([1, 3, 3, 2]))]).toEqual([1, 0.75, 0.5, 0]);
  });

  it('respects the max_output cap', () => {
    const w = buildWorkload(spec({ maxOutput: 256 }));
    expect(Math.max(...w.output)).toBeLessThanOrEqual(256);
    expect(w.outputSurvival.length).toBeLessThanOrEqual(257);
  });
});

describe('workloadKey and getWorkload', () => {
  it('equal keys for specs that give the same stream', () => {
    expect(workloadKey(spec({ cv: 3 }))).toBe(workloadKey(spec({ cv: 1 }))); // cv is ignored by Poisson
    expect(workloadKey(spec({ arrival: 'gamma', cv: 1 }))).toBe(workloadKey(spec())); // gamma cv 1 = Poisson
    expect(workloadKey(spec({ prompt: { kind: 'empirical', profile: 'sharegpt' } }))).toBe(workloadKey(spec()));
    expect(workloadKey(spec({ prompt: { kind: 'lognormal', median: 9, sigma: 1 } }))).toBe(
      workloadKey(spec({ prompt: { kind: 'lognormal', median: 9, sigma: 1, min: 1 } })),
    );
  });

  it('different keys for specs that differ in anything that shapes the stream', () => {
    const keys = new Set(
      [spec(), spec({ seed: 2 }), spec({ rate: 4 }), spec({ requests: 501 }), spec({ maxOutput: 512 }), spec({ source: 'azure_conv' }), spec({ arrival: 'gamma', cv: 2 }), spec({ arrival: 'gamma', cv: 3 }), spec({ output: { kind: 'fixed', value: 9 } })].map(workloadKey),
    );
    expect(keys.size).toBe(9);
  });

  it('trace keys ignore the seed and the arrival process, and resolve the path', () => {
    const t = (over: Partial<WorkloadSpec>) => spec({ source: 'trace', tracePath: 'x/../trace.csv', rate: 0, requests: 0, ...over });
    expect(workloadKey(t({ seed: 1 }))).toBe(workloadKey(t({ seed: 2, arrival: 'gamma', cv: 5 })));
    expect(workloadKey(t({ tracePath: 'trace.csv' }))).toBe(workloadKey(t({})));
    expect(workloadKey(t({ rate: 3 }))).not.toBe(workloadKey(t({})));
  });

  it('getWorkload shares one object per key and stays bounded', () => {
    clearWorkloadCache();
    const a = getWorkload(spec({ cv: 2 }));
    expect(getWorkload(spec())).toBe(a);
    for (let s = 100; s < 100 + WORKLOAD_CACHE_LIMIT; s++) getWorkload(spec({ seed: s, requests: 10 }));
    expect(getWorkload(spec())).not.toBe(a); // evicted, rebuilt
    expect(getWorkload(spec()).prompt).toEqual(a.prompt);
  });

  it('getWorkload on a trace', () => {
    const t = spec({ source: 'trace', tracePath: CONV, rate: 0, requests: 100 });
    expect(getWorkload(t)).toBe(getWorkload({ ...t, seed: 9 }));
    expect(getWorkload(t).n).toBe(100);
  });
});

describe('spec validation: InputError naming the snake_case field and the value', () => {
  it.each([
    [{ rate: 0 }, 'rate', 0],
    [{ rate: -2 }, 'rate', -2],
    [{ rate: Number.NaN }, 'rate', Number.NaN],
    [{ requests: 0 }, 'requests', 0],
    [{ requests: 2.5 }, 'requests', 2.5],
    [{ arrival: 'gamma', cv: 0 }, 'cv', 0],
    [{ cv: -1 }, 'cv', -1],
    [{ maxOutput: 0 }, 'max_output', 0],
    [{ maxOutput: 10.5 }, 'max_output', 10.5],
    [{ seed: -1 }, 'seed', -1],
    [{ seed: 1.5 }, 'seed', 1.5],
    [{ arrival: 'weibull' }, 'arrival', 'weibull'],
    [{ source: 'nope' }, 'workload', 'nope'],
    [{ source: '' }, 'workload', ''],
    [{ prompt: { kind: 'fixed', value: -5 } }, 'prompt.value', -5],
    [{ output: { kind: 'empirical', profile: 'x' } }, 'output.profile', 'x'],
  ] as [Partial<WorkloadSpec>, string, unknown][])('%j -> %s', (over, field, value) => {
    const e = expectInputError(() => buildWorkload(spec(over)), field, Number.isNaN(value) ? undefined : value);
    expect(() => workloadKey(spec(over))).toThrow(InputError);
    if (field === 'workload') expect(e.message).toContain('known: sharegpt, azure_conv, azure_code');
  });
});
