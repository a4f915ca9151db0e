// The per-request Gantt chart of the time-series report: its data (one bar per request in its
// rank's lane, within the run, windowed when there are too many), the rendered SVG (one rect per
// completed request, inside the plot, in the right lane) and how the report finds the request log.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { readArrowFile, type ArrowFileData } from '../../src/formats/arrowRead.ts';
import { requestsPathFor } from '../../src/results/arrowWrite.ts';
import { buildReport } from '../../src/report/buildReport.ts';
import { renderSvg } from '../../src/report/render.ts';
import { GANTT_MARKS, ganttChart, ganttRowSpan } from '../../src/report/timeseriesCharts.ts';
import { STATUS_COMPLETED, ganttData, requestLog, type GanttData, type RequestLog } from '../../src/report/requestsData.ts';
import { reportCommand } from '../../src/cli/reportCommand.ts';
import { tempDir, writeSweep } from './fixtures.ts';

/** DP 2 (every request times out) and DP 4 (most complete, some time out). */
const GANTT = `name: gantt-test
base:
  workload: sharegpt
  requests: 160
  max_output: 512
  rate: 30
  seed: 1
  timeout_s: 8
  router: jsq_load
  timeseries: true
axes:
  dp: [2, 4]
`;

/** A longer run with fewer requests alive at once than it has in all: a window can hold it. */
const LONG = `name: gantt-long
base:
  workload: sharegpt
  requests: 600
  max_output: 512
  rate: 20
  seed: 2
  router: round_robin
  dp: 4
  timeseries: true
`;

const dir = tempDir('br-report-gantt-');
let files: { results: string; timeseries: string };
let results: Record<string, unknown>[];
let log: RequestLog;
let logFile: ArrowFileData;
let long: { log: RequestLog; file: ArrowFileData; result: Record<string, unknown> };

beforeAll(async () => {
  files = await writeSweep(dir, GANTT, 'gantt');
  results = readArrowFile(files.results).rows();
  logFile = readArrowFile(requestsPathFor(files.timeseries));
  log = requestLog(logFile);
  const l = await writeSweep(dir, LONG, 'long');
  const file = readArrowFile(requestsPathFor(l.timeseries));
  long = { log: requestLog(file), file, result: readArrowFile(l.results).rows()[0] };
}, 60_000);

const resultOf = (config: number) => results.find((r) => r.config_index === config)!;
/** The request log's own rows of a configuration, as plain objects. */
const logRows = (config: number) => logFile.rows().filter((r) => r.config_index === config);

/** The rects of one named layer in a rendered SVG: x, y, width, height per path, in data order. */
function rects(svg: string, name: string): { x: number; y: number; w: number; h: number }[] {
  const at = svg.indexOf(`${name}_marks"`);
  expect(at, name).toBeGreaterThan(0);
  const open = svg.slice(at, svg.indexOf('>', at) + 1);
  if (open.endsWith('/>')) return []; // an empty layer
  const group = svg.slice(at, svg.indexOf('</g>', at));
  return [...group.matchAll(/<path d="M(-?[\d.e-]+),(-?[\d.e-]+)h(-?[\d.e-]+)v(-?[\d.e-]+)h/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
    w: Number(m[3]),
    h: Number(m[4]),
  }));
}

describe('ganttData on a small run', () => {
  it('the fixture has completed and failed requests', () => {
    expect(resultOf(0).completed).toBe(0);
    expect(resultOf(1).completed as number).toBeGreaterThan(100);
    expect(resultOf(1).failed as number).toBeGreaterThan(0);
  });

  for (const config of [0, 1]) {
    it(`configuration ${config}: one bar per request, as many completed bars as completed requests`, () => {
      const r = resultOf(config);
      const g = ganttData(log, config, { ranks: r.dp as number });
      expect(g.windowed).toBe(false);
      expect(g.total).toBe(r.requests);
      expect(g.completed).toBe(r.completed);
      expect(g.failed).toBe(r.failed);
      expect(g.drawnCompleted).toBe(r.completed);
      expect(g.bars.length).toBe((r.requests as number) - g.unrouted);
      expect(g.bars.filter((b) => b.status === STATUS_COMPLETED)).toHaveLength(r.completed as number);
    });

    it(`configuration ${config}: bars lie within the run and in the lane of a valid rank`, () => {
      const r = resultOf(config);
      const dp = r.dp as number;
      const g = ganttData(log, config, { ranks: dp });
      const rows = logRows(config);
      const firstArrival = Math.min(...rows.map((x) => x.arrival_us as number)) / 1e6;
      const end = firstArrival + (r.makespan_s as number);
      expect(g.ranks).toBe(dp);
      expect(g.runEndS).toBeCloseTo(end, 5);
      for (const b of g.bars) {
        const row = logFile.rows()[b.row];
        expect(b.rank).toBe(row.rank);
        expect(Number.isInteger(b.rank) && b.rank >= 0 && b.rank < dp).toBe(true);
        expect(b.slot).toBeGreaterThanOrEqual(0);
        expect(b.slot).toBeLessThan(g.slots);
        for (const t of [b.arrivalS, b.admitS, b.firstTokenS, b.endS].filter(Number.isFinite)) {
          expect(t).toBeGreaterThanOrEqual(0);
          expect(t).toBeLessThanOrEqual(end + 1e-9);
        }
        expect(b.arrivalS).toBeLessThanOrEqual(b.endS);
        if (Number.isFinite(b.admitS)) expect(b.admitS).toBeGreaterThanOrEqual(b.arrivalS);
        if (b.status === STATUS_COMPLETED) expect(Number.isFinite(b.firstTokenS)).toBe(true);
      }
    });
  }

  it('bars of one lane row never overlap', () => {
    const g = ganttData(log, 1, { ranks: 4 });
    const byRow = new Map<string, { a: number; e: number }[]>();
    for (const b of g.bars) {
      const k = `${b.rank}/${b.slot}`;
      if (!byRow.has(k)) byRow.set(k, []);
      byRow.get(k)!.push({ a: b.arrivalS, e: b.endS });
    }
    for (const spans of byRow.values()) {
      spans.sort((x, y) => x.a - y.a);
      for (let i = 1; i < spans.length; i++) expect(spans[i].a).toBeGreaterThanOrEqual(spans[i - 1].e);
    }
  });

  it('more requests than maxBars: a time window with exactly the requests overlapping it', () => {
    const g = ganttData(long.log, 0, { ranks: 4, maxBars: 300 });
    expect(g.windowed).toBe(true);
    expect(g.lanes).toBe(4);
    expect(g.bars.length).toBeLessThanOrEqual(300);
    expect(g.bars.length).toBeGreaterThan(250);
    expect(g.t1S - g.t0S).toBeLessThan(g.runEndS - g.runStartS);
    const lo = g.t0S * 1e6;
    const hi = g.t1S * 1e6;
    const rows = long.file.rows();
    const overlapping = rows.filter((r) => (r.rank as number) >= 0 && (r.arrival_us as number) < hi && (r.end_us as number) > lo);
    expect(g.bars.map((b) => b.row).sort((x, y) => x - y)).toEqual(overlapping.map((r) => rows.indexOf(r)));
    expect(g.drawnCompleted).toBe(overlapping.filter((r) => r.status === STATUS_COMPLETED).length);
    expect(g.t0S).toBeGreaterThanOrEqual(g.runStartS);
    expect(g.t1S).toBeLessThanOrEqual(g.runEndS);
    for (const b of g.bars) {
      for (const t of [b.arrivalS, b.admitS, b.firstTokenS, b.endS].filter(Number.isFinite)) {
        expect(t).toBeGreaterThanOrEqual(g.t0S);
        expect(t).toBeLessThanOrEqual(g.t1S);
      }
    }
    // Under the limit: the whole run.
    const all = ganttData(long.log, 0, { ranks: 4 });
    expect(all.windowed).toBe(false);
    expect(all.drawnCompleted).toBe(long.result.completed);
  });

  it('too many requests at once even in a short window: the first ranks only, and the caption says so', () => {
    for (const maxBars of [60, 5]) {
      const g = ganttData(log, 1, { ranks: 4, maxBars });
      expect(g.windowed).toBe(true);
      expect(g.bars.length).toBeLessThanOrEqual(maxBars);
      expect(g.t1S - g.t0S).toBeGreaterThanOrEqual(0.02 * (g.runEndS - g.runStartS) - 1e-9);
      expect(g.lanes).toBeLessThan(4);
      for (const b of g.bars) expect(b.rank).toBeLessThan(g.lanes);
      const caption = ganttChart(g, 'x-').caption;
      expect(caption).toContain(g.lanes === 1 ? 'only rank 0 of the 4' : `only ranks 0–${g.lanes - 1} of the 4`);
      if (g.leftOut > 0) expect(caption).toContain(`${g.leftOut} more requests of rank 0`);
    }
  });

  it('requests rejected before routing are counted, not drawn; bad rows are InputErrors', () => {
    const p = join(dir, 'hand.requests.arrow');
    const cols = {
      config_index: Int32Array.of(0, 0, 0, 0),
      arrival_us: Float64Array.of(0, 1000, 2000, 3000),
      status: Int32Array.of(4, 5, 5, 4),
      rank: Int32Array.of(0, -1, 1, 2),
      admit_us: Float64Array.of(0, -1, -1, 3500),
      first_token_us: Float64Array.of(500, -1, -1, 4000),
      end_us: Float64Array.of(9000, 1000, 6000, 8000),
    };
    writeFileSync(p, tableToIPC(tableFromArrays(cols), 'file'));
    const g = ganttData(requestLog(readArrowFile(p)), 0);
    expect([g.total, g.completed, g.failed, g.unrouted, g.bars.length, g.ranks]).toEqual([4, 2, 2, 1, 3, 3]);
    expect(g.bars.find((b) => b.rank === 1)!.admitS).toBeNaN(); // timed out waiting: a line, no bar
    writeFileSync(p, tableToIPC(tableFromArrays({ ...cols, status: Int32Array.of(4, 5, 2, 4) }), 'file'));
    expect(() => ganttData(requestLog(readArrowFile(p)), 0)).toThrow(/requests: .*status 2/);
    writeFileSync(p, tableToIPC(tableFromArrays({ config_index: Int32Array.of(0), rank: Int32Array.of(0) }), 'file'));
    expect(() => requestLog(readArrowFile(p))).toThrow(/not a balanceroute request log: missing columns arrival_us/);
  });
});

describe('the rendered Gantt chart', () => {
  async function rendered(g: GanttData) {
    const chart = ganttChart(g, 'gt-');
    const { svg, warnings } = await renderSvg(chart.spec, chart.id);
    expect(warnings).toEqual([]);
    const spec = chart.spec as unknown as { width: number; height: number };
    return { svg, chart, width: spec.width, height: spec.height };
  }

  for (const [config, maxBars] of [[1, undefined], [0, undefined], ['long', 300]] as const) {
    it(`configuration ${config}${maxBars ? `, windowed to ${maxBars}` : ''}: one rect per completed request, inside the plot, in its rank's lane`, async () => {
      const result = config === 'long' ? long.result : resultOf(config);
      const dp = result.dp as number;
      const g = config === 'long' ? ganttData(long.log, 0, { ranks: dp, maxBars }) : ganttData(log, config, { ranks: dp, maxBars });
      const { svg, chart, width, height } = await rendered(g);
      const done = rects(svg, GANTT_MARKS.done);
      const doneBars = g.bars.filter((b) => b.status === STATUS_COMPLETED);
      expect(done).toHaveLength(g.drawnCompleted);
      expect(done).toHaveLength(doneBars.length);
      if (!maxBars) expect(done).toHaveLength(result.completed as number);
      const failed = rects(svg, GANTT_MARKS.failed);
      expect(failed).toHaveLength(g.bars.filter((b) => b.status !== STATUS_COMPLETED && Number.isFinite(b.admitS)).length);
      const lane = height / g.lanes;
      expect(g.lanes).toBe(dp);
      done.forEach((r, i) => {
        // Vega keeps data order: rect i is the i-th completed bar.
        const b = doneBars[i];
        expect(r.x).toBeGreaterThanOrEqual(-0.01);
        expect(r.x + r.w).toBeLessThanOrEqual(width + 0.01);
        expect(r.y).toBeGreaterThanOrEqual(0);
        expect(r.y + r.h).toBeLessThanOrEqual(height + 0.01);
        const rank = Math.floor((r.y + r.h / 2) / lane);
        expect(rank).toBe(b.rank);
        expect(rank >= 0 && rank < dp).toBe(true);
        const [y0] = ganttRowSpan(b.rank, b.slot, g.slots);
        expect(r.y).toBeCloseTo((y0 / dp) * height, 1);
        expect(r.x).toBeCloseTo(((b.admitS - g.t0S) / (g.t1S - g.t0S)) * width, 1);
      });
      expect(chart.caption).toContain(`${result.completed} completed`);
      if (maxBars) expect(chart.caption).toMatch(/this shows the window [\d.]+–[\d.]+ s of the/);
      else expect(chart.caption).not.toContain('window');
      if (g.failed > 0) expect(chart.caption).toContain(`${g.failed} failed`);
    });
  }

  it('keeps the SVG bounded at the default window', async () => {
    const g = ganttData(log, 1, { ranks: 4, maxBars: 2000 });
    const { svg } = await rendered(g);
    expect(svg.length).toBeLessThan(200 * 1000);
  });
});

describe('the report finds the request log', () => {
  it('beside the time series: a Gantt chart per configuration, labels from the series columns', async () => {
    const r = await buildReport(files.timeseries);
    expect(r.charts).toEqual([0, 1].flatMap((c) => ['load', 'barrier', 'idle', 'gantt', 'waiting'].map((k) => `c${c}-${k}`)));
    expect(r.warnings).toEqual([]);
    expect(r.html).toContain('Per-request Gantt charts from the request log');
    expect(r.html).toContain('Configuration 1: jsq_load · DP 4 · 30 req/s · seed 1');
    expect(r.html).toContain("Labels come from the time series' own columns");
    expect(r.html).not.toContain('No per-request Gantt chart');
  });

  it('with --results, labels from the result file (knobs included) and no label note', async () => {
    const r = await buildReport(files.timeseries, { resultsPath: files.results });
    expect(r.html).toContain('Configuration 1: jsq_load · DP 4 · 30 req/s · seed 1');
    expect(r.html).not.toContain("Labels come from the time series' own columns");
  });

  it('without a log: heat strips, and the page says how to get the Gantt chart', async () => {
    const alone = join(dir, 'alone.arrow');
    copyFileSync(files.timeseries, alone);
    const r = await buildReport(alone);
    expect(r.charts).toContain('c0-running');
    expect(r.charts).not.toContain('c0-gantt');
    expect(r.html).toContain('No per-request Gantt chart');
    expect(r.html).toContain('alone.requests.arrow');
    expect(r.html).toContain('--timeseries FILE.arrow');
  });

  it('--requests names the log explicitly (through the command, as the CLI calls it)', async () => {
    const alone = join(dir, 'alone2.arrow');
    const elsewhere = join(dir, 'elsewhere.arrow');
    copyFileSync(files.timeseries, alone);
    copyFileSync(requestsPathFor(files.timeseries), elsewhere);
    const out = join(dir, 'alone2.html');
    await reportCommand(alone, { requests: elsewhere, output: out });
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('data-chart="c1-gantt"');
    expect(html).toContain('elsewhere.arrow');
  });

  it('bad --requests values are InputErrors naming requests', async () => {
    await expect(buildReport(files.timeseries, { requestsPath: join(dir, 'nope.arrow') })).rejects.toThrow(/^requests: cannot read the file/);
    await expect(buildReport(files.timeseries, { requestsPath: files.results })).rejects.toThrow(/^requests: not a balanceroute request log/);
    await expect(buildReport(files.results, { requestsPath: requestsPathFor(files.timeseries) })).rejects.toThrow(/^requests: only applies to a time-series file/);
    await expect(buildReport(requestsPathFor(files.timeseries))).rejects.toThrow(/is a per-request log; report its time series instead/);
  });

  it('a log of another run is not drawn, and the page says why', async () => {
    const other = await writeSweep(tempDir('br-report-gantt-other-'), GANTT.replace('dp: [2, 4]', 'dp: [4, 2]'), 'other');
    const r = await buildReport(files.timeseries, { requestsPath: requestsPathFor(other.timeseries) });
    expect(r.charts).toContain('c0-running');
    expect(r.html).toContain('does not belong to this time series');
    expect(existsSync(requestsPathFor(other.timeseries))).toBe(true);
  });
});
