// The capacity search against known thresholds (synthetic metrics) and against a brute-force fine
// rate grid of real simulations.
import { describe, expect, it } from 'vitest';
import { geometricGrid, refinePoints, searchCapacity, type BatchRunner } from '../../src/capacity/search.ts';
import { meetsSlo, parseSlo } from '../../src/capacity/slo.ts';
import type { RunMetrics } from '../../src/metrics/types.ts';
import { runScenario } from '../../src/engine/cpu/runScenario.ts';
import { makeScenario } from '../helpers.ts';

/** Metrics whose TTFT p95 grows with the rate: 100 ms · rate / threshold (meets 100 ms below it). */
function synthetic(threshold: (index: number) => number): BatchRunner & { calls: number[] } {
  const calls: number[] = [];
  const run = async (scs: { index: number; workload: { rate: number }; dp: number }[]) => {
    calls.push(scs.length);
    return scs.map((sc) => ({ metrics: { requests: 100, failed: 0, ttft_p95_ms: (100 * sc.workload.rate) / threshold(sc.dp), e2e_mean_ms: 1 } as RunMetrics }));
  };
  return Object.assign(run as unknown as BatchRunner, { calls });
}

const slo = parseSlo('ttft_p95_ms=100');

describe('searchCapacity on known thresholds', () => {
  const configs = [3, 17.3, 250].map((t, i) => makeScenario({ dp: t as number, index: i, workload: { rate: 5 } }));
  it('walks from the sweep rate and refines to the tolerance', async () => {
    const run = synthetic((dp) => dp);
    const out = await searchCapacity(configs, run, { slo, tolerance: 0.01, window: 'fixed' });
    out.results.forEach((r, i) => {
      const t = [3, 17.3, 250][i];
      expect(r.status).toBe('ok');
      expect(r.capacity).toBeLessThanOrEqual(t);
      expect(r.capacity).toBeGreaterThanOrEqual(t * 0.99);
      expect(r.hi! - r.lo!).toBeLessThanOrEqual(0.01 * r.lo!);
      expect(r.scenario.workload.rate).toBe(r.capacity);
      expect(r.metrics.ttft_p95_ms).toBeLessThanOrEqual(100);
    });
    expect(out.simulations).toBe(out.results.reduce((a, r) => a + r.simulations, 0));
    // Every round is one batch over all pending configurations.
    expect(run.calls.length).toBe(out.rounds);
  });
  it('evaluates an explicit grid in one batch, then refines', async () => {
    const run = synthetic((dp) => dp);
    const out = await searchCapacity(configs, run, { slo, tolerance: 0.005, minRate: 1, maxRate: 1000, window: 'fixed' });
    expect(run.calls[0]).toBe(3 * 8);
    out.results.forEach((r, i) => expect(r.capacity / [3, 17.3, 250][i]).toBeGreaterThan(0.995));
  });
  it('flags an SLO missed at the minimum rate (capacity 0) and one met at the maximum', async () => {
    const run = synthetic((dp) => dp);
    const out = await searchCapacity(configs, run, { slo, tolerance: 0.01, minRate: 10, maxRate: 100, window: 'fixed' });
    expect(out.results[0]).toMatchObject({ capacity: 0, status: 'below_min', lo: null });
    expect(out.results[0].scenario.workload.rate).toBe(10);
    expect(out.results[1].status).toBe('ok');
    expect(out.results[2]).toMatchObject({ capacity: 100, status: 'at_max', hi: null });
  });
  it('capacity is monotone in the SLO bound', async () => {
    const caps = [];
    for (const bound of [50, 100, 200, 400]) {
      const out = await searchCapacity(configs.slice(1, 2), synthetic((dp) => dp), { slo: parseSlo(`ttft_p95_ms=${bound}`), tolerance: 0.01, window: 'fixed' });
      caps.push(out.results[0].capacity);
    }
    for (let i = 1; i < caps.length; i++) expect(caps[i]).toBeGreaterThan(caps[i - 1]);
  });
  it('grids and refinement points', () => {
    expect(geometricGrid(1, 1000, 4).map((x) => Math.round(x))).toEqual([1, 10, 100, 1000]);
    expect(refinePoints(10, 14)).toEqual([11, 12, 13]);
    expect(refinePoints(1, 16).map((x) => Math.round(x * 1000) / 1000)).toEqual([2, 4, 8]);
  });
});

describe('arrival window', () => {
  it('scales the request count with the rate and keeps the stream paired', async () => {
    const { withRate } = await import('../../src/capacity/search.ts');
    const sc = makeScenario({ workload: { requests: 600, rate: 3 } });
    expect(withRate(sc, 6, 0, 'base').workload.requests).toBe(1200);
    expect(withRate(sc, 0.1, 0, 'base').workload.requests).toBe(50);
    expect(withRate(sc, 6, 0, 'fixed').workload.requests).toBe(600);
    expect(withRate(sc, 6, 0, 30).workload.requests).toBe(180);
  });
});

describe('searchCapacity against a brute-force rate grid (real simulations)', () => {
  // DP 2, 300 ShareGPT requests: small enough to sweep finely.
  const base = makeScenario({ dp: 2, router: 'jsq_load', workload: { requests: 300, maxOutput: 256, seed: 4, rate: 2 } });
  const realRun: BatchRunner = async (scs) => scs.map((sc) => runScenario(sc));
  const capSlo = parseSlo('ttft_p95_ms=400,tpot_p95_ms=40');

  /** The largest grid rate below the first failing one (the search's own rule), at 0.5% spacing. */
  function bruteForce(lo: number, hi: number, s = capSlo): number {
    let best = 0;
    for (let r = lo; r <= hi; r *= 1.005) {
      const m = runScenario({ ...base, workload: { ...base.workload, rate: r } }).metrics;
      if (!meetsSlo(m, s)) break;
      best = r;
    }
    return best;
  }

  it('finds the brute-force capacity within the tolerance', async () => {
    const out = await searchCapacity([base], realRun, { slo: capSlo, tolerance: 0.01, minRate: 1, maxRate: 400, window: 'fixed' });
    const r = out.results[0];
    expect(r.status).toBe('ok');
    const brute = bruteForce(r.capacity * 0.8, r.capacity * 1.2);
    // Both rules stop at the first failure from below; grids differ, so allow tolerance + spacing.
    expect(Math.abs(r.capacity - brute) / brute).toBeLessThan(0.03);
    expect(meetsSlo(r.metrics, capSlo)).toBe(true);
  }, 60_000);

  it('is monotone in the SLO bound on real simulations', async () => {
    const caps: number[] = [];
    for (const ttft of [200, 400, 800, 1600]) {
      const out = await searchCapacity([base], realRun, { slo: parseSlo(`ttft_p95_ms=${ttft},tpot_p95_ms=40`), tolerance: 0.01, minRate: 1, maxRate: 400, window: 'fixed' });
      caps.push(out.results[0].capacity);
    }
    for (let i = 1; i < caps.length; i++) expect(caps[i]).toBeGreaterThanOrEqual(caps[i - 1] * 0.99);
    expect(caps[caps.length - 1]).toBeGreaterThan(caps[0]);
  }, 60_000);
});
