// The fidelity suite's loaders and table builder (benches/fidelity/suite.ts) on a three-request
// fixture in LLMServingSim's bench format; the suite itself is a benchmark (npm run fidelity).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_DIR, FIDELITY_RUNS } from '../../benches/fidelity/runs.ts';
import {
  genThroughputBins,
  llmServingSimLatencies,
  markdownTable,
  measuredLatencies,
  percentile,
  readMeasuredRun,
  replaceBetweenMarkers,
  statOf,
  tableRows,
} from '../../benches/fidelity/suite.ts';

const RUN = join(import.meta.dirname, '..', 'fixtures', 'fidelity', 'run');

describe('fidelity suite data', () => {
  const run = readMeasuredRun(RUN);

  it('reads meta.json, requests.jsonl (in request order, blank lines skipped) and timeseries.csv', () => {
    expect(run.meta).toMatchObject({ tp: 1, dp: 2, expertParallel: true, maxNumSeqs: 8, maxBatchedTokens: 64, numGpuBlocks: 100, blockSize: 16, asyncScheduling: true, enablePrefixCaching: true });
    expect(run.requests.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(run.requests[1]).toMatchObject({ input: 20, output: 3, queued: 50.51, first: 50.61 });
    expect(run.timeseries).toEqual([
      { t: 1, prompt: 30, gen: 6, running: 2, waiting: 0 },
      { t: 2, prompt: 30, gen: 3, running: 1, waiting: 0 },
    ]);
  });

  it('measured latencies are anchored on queued_ts, as validate.py computes them', () => {
    const m = measuredLatencies(run.requests);
    [100, 100, 300].forEach((v, i) => expect(m.ttft[i]).toBeCloseTo(v, 6));
    [500, 300, 300].forEach((v, i) => expect(m.e2e[i]).toBeCloseTo(v, 6));
    expect(m.tpot[0]).toBeCloseTo(100, 6);
    expect(m.tpot[1]).toBeCloseTo(100, 6);
    expect(m.tpot[2]).toBeNaN(); // one output token: no TPOT
  });

  it("LLMServingSim's per-request output by request id, ns -> ms", () => {
    const p = llmServingSimLatencies(join(RUN, 'llmservingsim', 'requests.csv'), 3);
    expect(p.ttft).toEqual([120, 100, 250]);
    expect(p.e2e).toEqual([440, 300, 250]);
    expect(p.tpot.slice(0, 2)).toEqual([80, 100]);
    expect(p.tpot[2]).toBeNaN();
    expect(() => llmServingSimLatencies(join(RUN, 'llmservingsim', 'requests.csv'), 2)).toThrow(/request_id 2 outside 0..1/);
  });

  it('percentiles interpolate between order statistics (validate.py, NumPy)', () => {
    expect(percentile([300, 100, 100], 90)).toBeCloseTo(260, 9);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([NaN, 5], 90)).toBe(5);
  });

  it('table rows: every metric x statistic, errors relative to measured', () => {
    const m = measuredLatencies(run.requests);
    const ours = { ttft: [110, 100, 300], tpot: [100, 100, NaN], e2e: [500, 300, 330] };
    const rows = tableRows('tiny', 'prediction', m, ours, llmServingSimLatencies(join(RUN, 'llmservingsim', 'requests.csv'), 3));
    expect(rows.map((r) => `${r.metric} ${r.stat}`)).toEqual(['ttft mean', 'ttft p50', 'ttft p90', 'tpot mean', 'tpot p50', 'tpot p90', 'e2e mean', 'e2e p50', 'e2e p90']);
    const ttft = rows[0];
    expect(ttft.measured).toBeCloseTo(500 / 3, 6);
    expect(ttft.ours).toBeCloseTo(170, 6);
    expect(ttft.oursErr).toBeCloseTo(170 / (500 / 3) - 1, 6);
    expect(ttft.peer).toBeCloseTo(470 / 3, 6);
    expect(rows[8].measured).toBeCloseTo(460, 6); // E2E p90 of [300, 300, 500]
    const md = markdownTable(rows);
    expect(md.split('\n')).toHaveLength(11);
    expect(md).toContain('| tiny | prediction | TTFT mean | 167 | 170 | +2.0% | 157 | -6.0% | ours |');
  });

  it('rewrites only the text between the markers', () => {
    const doc = 'a\n<!-- BEGIN t -->\nold\n<!-- END t -->\nb\n';
    expect(replaceBetweenMarkers(doc, 't', 'new')).toBe('a\n<!-- BEGIN t -->\nnew\n<!-- END t -->\nb\n');
    expect(() => replaceBetweenMarkers(doc, 'x', 'new')).toThrow(/markers/);
  });

  it('generation throughput bins spread each request\'s tokens between first token and end', () => {
    expect(genThroughputBins([0.1, 0.6], [0.5, 0.8], [5, 3])).toEqual([{ t: 1, gen: 8 }, { t: 2, gen: 0 }]);
    expect(genThroughputBins([0.5], [2.5], [3])).toEqual([{ t: 1, gen: 1 }, { t: 2, gen: 1 }, { t: 3, gen: 1 }, { t: 4, gen: 0 }]);
  });
});

describe('the copied runs reproduce LLMServingSim\'s own validation summaries', () => {
  // validation/summary.txt is LLMServingSim's validate.py output for each run (vLLM and Sim
  // columns, 0.1 ms): the loaders must give the same figures from the copied files.
  for (const run of FIDELITY_RUNS) {
    it(run.id, () => {
      const dir = join(DATA_DIR, run.id);
      const m = readMeasuredRun(dir);
      const meas = measuredLatencies(m.requests);
      const peer = llmServingSimLatencies(join(dir, 'llmservingsim', 'requests.csv'), m.requests.length);
      const summary = readFileSync(join(dir, 'llmservingsim', 'summary.txt'), 'utf8');
      const rowsSeen = new Set<string>();
      for (const line of summary.split('\n')) {
        const mm = /^(TTFT|TPOT|Latency) (Mean|Median|P90)\s+(-?[\d.]+)\s+(-?[\d.]+)/.exec(line);
        if (!mm) continue;
        const metric = mm[1] === 'Latency' ? 'e2e' : (mm[1].toLowerCase() as 'ttft' | 'tpot');
        const stat = mm[2] === 'Mean' ? 'mean' : mm[2] === 'Median' ? 'p50' : 'p90';
        expect(Math.abs(statOf(meas[metric], stat) - Number(mm[3]))).toBeLessThanOrEqual(0.05 + 1e-9);
        expect(Math.abs(statOf(peer[metric], stat) - Number(mm[4]))).toBeLessThanOrEqual(0.05 + 1e-9);
        rowsSeen.add(`${metric} ${stat}`);
      }
      expect(rowsSeen.size).toBe(9);
      expect(m.meta.tp).toBe(run.tp);
      expect(m.meta.dp).toBe(run.dp);
    });
  }
});
