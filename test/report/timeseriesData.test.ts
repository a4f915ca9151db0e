// Time-series aggregates: whole-run figures and time bins, on a hand-made series.
import { describe, expect, it } from 'vitest';
import { binSeries, stepSeries, type TimeSeriesData } from '../../src/report/timeseriesData.ts';

/** 2 ranks, 3 steps; step 1 lasts 3 ms and spans bins. Rows deliberately out of order. */
function handSeries(): TimeSeriesData {
  // [step, time_us, rank, kv, running, waiting, rank_step_us, step_us]
  const rows: number[][] = [
    [1, 1000, 1, 300, 3, 1, 1000, 3000],
    [0, 0, 0, 100, 1, 0, 800, 1000],
    [0, 0, 1, 300, 2, 0, 400, 1000],
    [1, 1000, 0, 100, 1, 0, 2900, 3000],
    [2, 4000, 0, 0, 0, 0, 0, 1000],
    [2, 4000, 1, 200, 1, 0, 900, 1000],
  ];
  const col = (j: number) => Float64Array.from(rows.map((r) => r[j]));
  return {
    path: 'hand.arrow',
    meta: {},
    configs: [7],
    rows: new Map([[7, rows.length]]),
    columns: {
      config_index: Float64Array.from(rows.map(() => 7)),
      step: col(0), time_us: col(1), rank: col(2), kv_tokens: col(3), running: col(4), waiting: col(5), rank_step_us: col(6), step_us: col(7),
    },
  };
}

describe('stepSeries', () => {
  const s = stepSeries(handSeries(), 7);
  it('orders steps and finds the ranks', () => {
    expect(s.ranks).toBe(2);
    expect([...s.timeUs]).toEqual([0, 1000, 4000]);
    expect([...s.maxRankUs]).toEqual([800, 2900, 900]);
    expect([...s.sumRankUs]).toEqual([1200, 3900, 900]);
  });
  it('recomputes idle fraction, imbalance and balance ratio as docs/model.md §8 defines them', () => {
    const t = s.totals;
    expect(t.idleFrac).toBeCloseTo(1 - (1200 + 3900 + 900) / (2 * (800 + 2900 + 900)), 12);
    // (max - mean)/mean per step, weighted by step_us: step 0: (300-200)/200, step 1: same, step 2: (200-100)/100.
    expect(t.imbalance).toBeCloseTo((1000 * 0.5 + 3000 * 0.5 + 1000 * 1) / 5000, 12);
    expect(t.balanceRatio).toBeCloseTo((1000 * (200 / 300) + 3000 * (200 / 300) + 1000 * 0.5) / 5000, 12);
    expect(t.steps).toBe(3);
    expect(t.startS).toBe(0);
    expect(t.endS).toBeCloseTo(0.005, 12);
    expect(t.peakWaiting).toBe(1);
  });
  it('rejects an unknown configuration', () => expect(() => stepSeries(handSeries(), 3)).toThrow(/config/));
});

describe('binSeries', () => {
  const s = stepSeries(handSeries(), 7);
  it('spreads a long step over the bins it overlaps', () => {
    const b = binSeries(s, 5); // 1 ms bins over [0, 5 ms)
    expect([...b.steps]).toEqual([1, 1, 1, 1, 1]);
    expect(b.running[1 * 2 + 1]).toBe(3); // bin 1 lies inside step 1: rank 1 runs 3
    expect(b.kvMax[3]).toBe(300);
    expect(b.barrierMs[2]).toBeCloseTo(2.9, 12);
  });
  it('barrier sums add up to the whole run, whatever the bins', () => {
    for (const bins of [1, 2, 3, 7, 50]) {
      const b = binSeries(s, bins);
      const sumMax = b.sumMaxUs.reduce((a, x) => a + x, 0);
      const sumRank = b.sumRankUs.reduce((a, x) => a + x, 0);
      expect(sumMax).toBeCloseTo(800 + 2900 + 900, 6);
      expect(1 - sumRank / (2 * sumMax)).toBeCloseTo(s.totals.idleFrac, 12);
    }
  });
  it('one bin is the time-weighted mean of everything', () => {
    const b = binSeries(s, 1);
    expect(b.kv[0]).toBeCloseTo((1000 * 100 + 3000 * 100 + 1000 * 0) / 5000, 12);
    expect(b.kvMean[0]).toBeCloseTo((1000 * 200 + 3000 * 200 + 1000 * 100) / 5000, 12);
  });
});
