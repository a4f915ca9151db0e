import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROFILE_NAMES, getProfile, listProfiles } from '../../src/workload/profiles.ts';
import { fitAll, toJson } from '../../scripts/fit-profiles.ts';
import { DATA_DIR, expectInputError } from './helpers.ts';

describe('built-in profiles', () => {
  it('lists every profile with a name and a description', () => {
    const list = listProfiles();
    expect(list.map((p) => p.name)).toEqual([...PROFILE_NAMES]);
    for (const p of list) {
      expect(p.description.length).toBeGreaterThan(20);
      expect(p.licence).toMatch(/MIT/);
    }
  });

  it.each(PROFILE_NAMES)('%s has monotone quantile tables, consistent stats, attribution', (name) => {
    const p = getProfile(name);
    expect(p.name).toBe(name);
    expect(p.source.citation.length).toBeGreaterThan(20);
    for (const role of ['prompt', 'output'] as const) {
      const q = role === 'prompt' ? p.promptQuantiles : p.outputQuantiles;
      expect(q.length).toBe(p.quantilePoints);
      for (let i = 1; i < q.length; i++) expect(q[i]).toBeGreaterThanOrEqual(q[i - 1]);
      const s = p[role].stats;
      expect(q[0]).toBe(s.min);
      expect(q[q.length - 1]).toBe(s.max);
      expect(q[(q.length - 1) / 2]).toBeCloseTo(s.median, 3);
      expect(s.min).toBeGreaterThanOrEqual(1);
      expect(s.median).toBeLessThanOrEqual(s.p90);
      expect(p[role].lognormal.median).toBeGreaterThan(0);
      expect(p[role].lognormal.sigma).toBeGreaterThan(0);
    }
    expect(p.arrivals.meanRate).toBeGreaterThan(0);
    expect(p.arrivals.interArrivalCv).toBeGreaterThan(0);
  });

  it('matches the published statistics of the Azure traces', () => {
    const conv = getProfile('azure_conv');
    expect(conv.n).toBe(19_366);
    expect(conv.prompt.stats.median).toBe(1020);
    expect(conv.output.stats.median).toBe(129);
    expect(conv.arrivals.interArrivalCv).toBeCloseTo(1.09, 2);
    const code = getProfile('azure_code');
    expect(code.n).toBe(8_819);
    expect(code.prompt.stats.median).toBe(1469);
    expect(code.output.stats.median).toBe(13);
    expect(code.arrivals.interArrivalCv).toBeGreaterThan(13);
  });

  it('unknown names raise InputError listing the known ones', () => {
    expectInputError(() => getProfile('lmsys'), 'workload', 'lmsys', 'unknown workload profile; known: sharegpt, azure_conv, azure_code');
  });

  it('the shipped JSON files are exactly what scripts/fit-profiles.ts derives from the data', () => {
    for (const p of fitAll(DATA_DIR)) {
      const shipped = readFileSync(new URL(`../../src/workload/profiles/${p.name}.json`, import.meta.url), 'utf8');
      expect(toJson(p)).toBe(shipped);
    }
  });
});
