// Vega-Lite specs for one configuration's time series: per-rank KV load with the load envelope,
// the barrier (slowest rank's step time) against the mean rank, idle fraction over time, the
// per-request Gantt chart (from the request log) and heat strips of running / waiting requests
// per rank.
import type { TopLevelSpec } from 'vega-lite';
import type { ChartDef } from './sweepCharts.ts';
import type { BinnedSeries, SeriesTotals } from './timeseriesData.ts';
import { STATUS_COMPLETED, type GanttData } from './requestsData.ts';
import { num } from './html.ts';

/** Up to this many ranks, load is drawn as one line per rank; above, as a min–max band. */
export const MAX_RANK_LINES = 16;

const WIDTH = 980;
const fin = (v: number): number | null => (Number.isFinite(v) ? v : null);
const mid = (b: BinnedSeries, i: number) => (b.edgesS[i] + b.edgesS[i + 1]) / 2;
const timeX = (b: BinnedSeries) => ({
  field: 't',
  type: 'quantitative',
  title: 'simulated time (s)',
  scale: { domain: [b.edgesS[0], b.edgesS[b.bins]], nice: false, zero: false },
});

/** KV load per rank (lines, or a band for many ranks), the max envelope and the mean. */
export function loadChart(b: BinnedSeries, idPrefix: string): ChartDef {
  const G = b.ranks;
  const envelope: Record<string, number | string | null>[] = [];
  for (let i = 0; i < b.bins; i++) {
    if (b.steps[i] === 0) continue;
    envelope.push({ t: mid(b, i), series: 'max over ranks (envelope)', kv: fin(b.kvMax[i]) });
    envelope.push({ t: mid(b, i), series: 'mean over ranks', kv: fin(b.kvMean[i]) });
  }
  const envLayer = {
    data: { values: envelope },
    mark: { type: 'line', strokeWidth: 2.2 },
    encoding: {
      x: timeX(b),
      y: { field: 'kv', type: 'quantitative', title: 'KV tokens', axis: { format: '~s' } },
      strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: ['max over ranks (envelope)', 'mean over ranks'], range: [[1, 0], [5, 3]] } },
      color: { value: '#1f2328' },
      detail: { field: 'series' },
    },
  };
  let rankLayer: Record<string, unknown>;
  let what: string;
  if (G <= MAX_RANK_LINES) {
    const rows: Record<string, number | null>[] = [];
    for (let i = 0; i < b.bins; i++) {
      if (b.steps[i] === 0) continue;
      for (let g = 0; g < G; g++) rows.push({ t: mid(b, i), rank: g, kv: fin(b.kv[i * G + g]) });
    }
    rankLayer = {
      data: { values: rows },
      mark: { type: 'line', strokeWidth: 1.1, opacity: 0.8 },
      encoding: {
        x: timeX(b),
        y: { field: 'kv', type: 'quantitative' },
        color: { field: 'rank', type: 'nominal', title: 'rank', scale: { scheme: G <= 10 ? 'tableau10' : 'category20' }, sort: 'ascending' },
      },
    };
    what = 'one thin line per rank';
  } else {
    const rows: Record<string, number | null>[] = [];
    for (let i = 0; i < b.bins; i++) if (b.steps[i] > 0) rows.push({ t: mid(b, i), lo: fin(b.kvMin[i]), hi: fin(b.kvMax[i]) });
    rankLayer = {
      data: { values: rows },
      mark: { type: 'area', color: '#9ecae9', opacity: 0.6 },
      encoding: { x: timeX(b), y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
    };
    what = `the band spans the least to the most loaded of the ${G} ranks`;
  }
  return {
    id: `${idPrefix}load`,
    title: 'KV load per rank over time',
    caption: `KV tokens resident on each rank after each step, step-time-weighted mean per time bin (${b.bins} bins); ${what}. ` +
      'The solid black line is the max over ranks, the envelope the barrier waits on; dashed is the mean. The gap between them is the imbalance.',
    spec: { width: WIDTH, height: 240, layer: [rankLayer, envLayer], resolve: { scale: { color: 'independent', strokeDash: 'independent' } } } as TopLevelSpec,
  };
}

/** Barrier (max_g t_g) versus the mean rank's compute time; the shaded gap is idle time. */
export function barrierChart(b: BinnedSeries, idPrefix: string): ChartDef {
  const rows: Record<string, number | null>[] = [];
  for (let i = 0; i < b.bins; i++) if (b.steps[i] > 0) rows.push({ t: mid(b, i), barrier: fin(b.barrierMs[i]), mean: fin(b.meanRankMs[i]) });
  const long = rows.flatMap((r) => [
    { t: r.t, series: 'slowest rank (the barrier)', ms: r.barrier },
    { t: r.t, series: 'mean rank', ms: r.mean },
  ]);
  return {
    id: `${idPrefix}barrier`,
    title: 'Barrier envelope: step time of the slowest rank vs the mean rank',
    caption: 'Per time bin, the mean over steps of the slowest rank\'s compute time (the EP barrier: every rank waits for it) and of the mean rank\'s. ' +
      'The shaded gap is compute time lost waiting at the barrier (all-to-all time excluded).',
    spec: {
      width: WIDTH,
      height: 200,
      layer: [
        {
          data: { values: rows },
          mark: { type: 'area', color: '#f28e2b', opacity: 0.25 },
          encoding: { x: timeX(b), y: { field: 'mean', type: 'quantitative', title: 'ms per step' }, y2: { field: 'barrier' } },
        },
        {
          data: { values: long },
          mark: { type: 'line', strokeWidth: 1.6 },
          encoding: {
            x: timeX(b),
            y: { field: 'ms', type: 'quantitative' },
            color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['slowest rank (the barrier)', 'mean rank'], range: ['#c2410c', '#4e79a7'] } },
          },
        },
      ],
    } as TopLevelSpec,
  };
}

/** Idle fraction per time bin, with the whole-run value as a rule. */
export function idleChart(b: BinnedSeries, totals: SeriesTotals, idPrefix: string): ChartDef {
  const rows: Record<string, number | null>[] = [];
  for (let i = 0; i < b.bins; i++) if (b.steps[i] > 0) rows.push({ t: mid(b, i), idle: fin(b.idleFrac[i]) });
  return {
    id: `${idPrefix}idle`,
    title: 'Barrier idle fraction over time',
    caption: `Per time bin, 1 − Σ t_g / (G · Σ max_g t_g) over its steps. Dashed: the whole run, ${(100 * totals.idleFrac).toFixed(1)}%.`,
    spec: {
      width: WIDTH,
      height: 150,
      layer: [
        {
          data: { values: rows },
          mark: { type: 'line', color: '#c2410c', strokeWidth: 1.4, interpolate: 'step-after' },
          encoding: { x: timeX(b), y: { field: 'idle', type: 'quantitative', title: 'idle fraction', axis: { format: '.0%' }, scale: { domain: [0, 1] } } },
        },
        {
          data: { values: [{ idle: fin(totals.idleFrac) }] },
          mark: { type: 'rule', strokeDash: [5, 3], color: '#1f2328' },
          encoding: { y: { field: 'idle', type: 'quantitative' } },
        },
      ],
    } as TopLevelSpec,
  };
}

/** Gantt-style heat strip: one row per rank, colour = mean count per time bin. */
export function heatStrip(b: BinnedSeries, which: 'running' | 'waiting', idPrefix: string): ChartDef {
  const G = b.ranks;
  const values = which === 'running' ? b.running : b.waiting;
  const rows: Record<string, number | null>[] = [];
  const overlap = (0.6 * (b.edgesS[b.bins] - b.edgesS[0])) / WIDTH;
  let max = 0;
  for (let i = 0; i < b.bins; i++) {
    for (let g = 0; g < G; g++) {
      // No step in the bin: the clock jumped over an idle gap, every rank was empty.
      const v = b.steps[i] === 0 ? 0 : fin(values[i * G + g]);
      if (v !== null && v > max) max = v;
      // A hair of overlap so anti-aliasing leaves no light seams between adjacent cells.
      rows.push({ t0: b.edgesS[i], t1: b.edgesS[i + 1] + overlap, rank: g, n: v });
    }
  }
  const rowHeight = Math.max(3, Math.min(22, Math.floor(320 / G)));
  const height = max === 0 ? Math.min(rowHeight * G, 48) : rowHeight * G;
  const title = which === 'running' ? 'Requests running per rank (Gantt view)' : 'Requests waiting per rank';
  return {
    id: `${idPrefix}${which}`,
    title,
    caption: which === 'running'
      ? `One strip per rank; colour is the step-time-weighted mean number of running (decoding or prefilling) requests in each time bin (${b.bins} bins). ` +
        'Without a request log beside the time series (FILE.requests.arrow), this draws occupancy bands rather than one bar per request.'
      : `One strip per rank; colour is the step-time-weighted mean number of requests queued on the rank (routed to it, not yet admitted to its batch) in each time bin.` +
        (max === 0 ? ' No rank ever had a waiting request in this run.' : ''),
    spec: {
      width: WIDTH,
      height,
      data: { values: rows },
      mark: { type: 'rect', clip: true, aria: false },
      encoding: {
        x: { ...timeX(b), field: 't0' },
        x2: { field: 't1' },
        y: { field: 'rank', type: 'ordinal', title: 'rank', axis: G > 32 || (max === 0 && G > 4) ? { values: Array.from({ length: Math.ceil(G / 8) }, (_, k) => 8 * k) } : {} },
        color: {
          field: 'n',
          type: 'quantitative',
          title: which,
          scale: { range: which === 'running' ? ['#f7fbff', '#08306b'] : ['#fffaf3', '#a63603'], domain: [0, Math.max(1, max)] },
          legend: max === 0 ? null : { gradientLength: Math.max(40, Math.min(200, height)) },
        },
      },
    } as TopLevelSpec,
  };
}

/** Phases of a request in the Gantt chart, with their colours (legend order). */
export const GANTT_PHASES = {
  waiting: ['waiting (arrival → admission)', '#9aa0a6'],
  prefill: ['prefill (admission → first token)', '#f28e2b'],
  decode: ['decode (first token → end)', '#4e79a7'],
  failed: ['failed (× where it failed)', '#d62728'],
} as const;

/** Vega-Lite mark names of the Gantt layers (the SVG groups get class `<name>_marks`). */
export const GANTT_MARKS = { lanes: 'gantt_lanes', waiting: 'gantt_waiting', done: 'gantt_done', failed: 'gantt_failed', prefill: 'gantt_prefill', fail: 'gantt_fail_at' } as const;

/** Vertical layout of the lanes: each rank's lane spans [g, g + 1] on the y scale. */
const LANE_PAD = 0.08;
const BAR_FILL = 0.78;

/** Where request row `slot` of `slots` sits in lane `rank`: [y0, y1] on the y scale. */
export function ganttRowSpan(rank: number, slot: number, slots: number): [number, number] {
  const h = (1 - 2 * LANE_PAD) / Math.max(1, slots);
  const y0 = rank + LANE_PAD + slot * h;
  return [y0, y0 + BAR_FILL * h];
}

/**
 * The per-request Gantt chart: one lane per rank, one bar per request from admission to its end
 * (prefill part in another colour, decode the rest), a thin line for the wait from arrival to
 * admission, failed requests red with a × where they failed. Requests of a rank are packed into
 * rows of its lane so they never overlap; how full a lane is shows how many requests it held.
 */
export function ganttChart(g: GanttData, idPrefix: string): ChartDef {
  const G = Math.max(1, g.lanes);
  const S = Math.max(1, g.slots);
  const lanes: Record<string, number>[] = [];
  for (let k = 1; k < G; k += 2) lanes.push({ t0: g.t0S, t1: g.t1S, y0: k, y1: k + 1 });
  const waiting: Record<string, number | string>[] = [];
  const done: Record<string, number | string>[] = [];
  const failed: Record<string, number | string>[] = [];
  const prefill: Record<string, number | string>[] = [];
  const failAt: Record<string, number>[] = [];
  for (const b of g.bars) {
    const [y0, y1] = ganttRowSpan(b.rank, b.slot, S);
    const ym = (y0 + y1) / 2;
    const admitted = Number.isFinite(b.admitS);
    const waitEnd = admitted ? b.admitS : b.endS;
    if (waitEnd > b.arrivalS) waiting.push({ a: b.arrivalS, b: waitEnd, y: ym, phase: GANTT_PHASES.waiting[0] });
    if (admitted) {
      const bar = { a: b.admitS, b: b.endS, y0, y1, phase: b.status === STATUS_COMPLETED ? GANTT_PHASES.decode[0] : GANTT_PHASES.failed[0] };
      (b.status === STATUS_COMPLETED ? done : failed).push(bar);
      const pre = Number.isFinite(b.firstTokenS) ? b.firstTokenS : b.endS;
      if (pre > b.admitS) prefill.push({ a: b.admitS, b: pre, y0, y1, phase: GANTT_PHASES.prefill[0] });
    }
    if (b.status !== STATUS_COMPLETED && b.endsInWindow) failAt.push({ t: b.endS, y: ym });
  }
  const phases = Object.values(GANTT_PHASES).filter(([name]) => name !== GANTT_PHASES.failed[0] || g.drawnFailed > 0);
  const x = { field: 'a', type: 'quantitative', title: 'simulated time (s)', scale: { domain: [g.t0S, g.t1S], nice: false, zero: false } };
  const every = G <= 32 ? 1 : Math.ceil(G / 16);
  const y = {
    field: 'y0',
    type: 'quantitative',
    title: 'rank',
    scale: { domain: [0, G], reverse: true, nice: false, zero: false },
    axis: { values: Array.from({ length: Math.ceil(G / every) }, (_, k) => k * every + 0.5), labelExpr: 'floor(datum.value)', grid: false, ticks: false, domain: false },
  };
  const color = {
    field: 'phase',
    type: 'nominal',
    title: null,
    scale: { domain: phases.map((p) => p[0]), range: phases.map((p) => p[1]) },
    legend: { orient: 'top', direction: 'horizontal', symbolType: 'square', labelLimit: 400, columnPadding: 18 },
  };
  const rect = (name: string, values: unknown[]) => ({
    name,
    data: { values },
    mark: { type: 'rect', clip: true, aria: false },
    encoding: { x, x2: { field: 'b' }, y, y2: { field: 'y1' }, color },
  });
  const laneH = Math.max(18, Math.min(80, S * 3.2));
  const height = Math.round(Math.max(100, Math.min(760, G * laneH)));
  const layer = [
    {
      name: GANTT_MARKS.lanes,
      data: { values: lanes },
      mark: { type: 'rect', color: '#f3f4f6', aria: false },
      encoding: { x: { ...x, field: 't0' }, x2: { field: 't1' }, y, y2: { field: 'y1' } },
    },
    {
      name: GANTT_MARKS.waiting,
      data: { values: waiting },
      mark: { type: 'rule', clip: true, aria: false, strokeWidth: Math.max(0.6, Math.min(1.5, (0.5 * height) / (G * S))) },
      encoding: { x, x2: { field: 'b' }, y: { ...y, field: 'y' }, color },
    },
    rect(GANTT_MARKS.done, done),
    rect(GANTT_MARKS.failed, failed),
    rect(GANTT_MARKS.prefill, prefill),
    {
      name: GANTT_MARKS.fail,
      data: { values: failAt },
      mark: { type: 'point', shape: 'cross', angle: 45, filled: true, color: GANTT_PHASES.failed[1], size: 36, clip: true, aria: false },
      encoding: { x: { ...x, field: 't' }, y: { ...y, field: 'y' } },
    },
  ];

  const counts = `${num(g.completed)} completed` + (g.failed > 0 ? `, ${num(g.failed)} failed` : '') +
    (g.unrouted > 0 ? ` (${num(g.unrouted)} of them rejected before routing, not drawn)` : '');
  const msPerPx = ((g.t1S - g.t0S) * 1000) / WIDTH;
  const scale = ` At this scale a pixel is ${msPerPx < 10 ? msPerPx.toFixed(1) : num(msPerPx)} ms: waits and prefills of a few ms are only slivers.`;
  const window = g.windowed
    ? ` The run has ${num(g.routed)} routed requests, more than the ${num(g.maxBars)} one chart draws: this shows the window ` +
      `${g.t0S.toFixed(2)}–${g.t1S.toFixed(2)} s of the ${g.runStartS.toFixed(2)}–${g.runEndS.toFixed(2)} s run` +
      (g.lanes < g.ranks ? `, and only rank${g.lanes === 1 ? ' 0' : `s 0–${g.lanes - 1}`} of the ${g.ranks}` : '') +
      ` (${num(g.bars.length)} requests, ${num(g.drawnCompleted)} of them completed; bars are cut at the window's edges` +
      (g.leftOut > 0 ? `; ${num(g.leftOut)} more requests of rank 0 overlap it but are left out` : '') +
      '). The request log has every request (docs/analysis.md).'
    : '';
  return {
    id: `${idPrefix}gantt`,
    title: g.windowed ? 'Requests per rank (Gantt chart, a time window)' : 'Requests per rank (Gantt chart)',
    caption: `One lane per rank; each request is a bar in the lane of the rank it was routed to, from admission to completion: ` +
      `orange while its prompt is prefilled (admission → first token), blue while it decodes (first token → completion). ` +
      `The grey line before a bar is the wait from arrival to admission.${g.failed > 0 ? ' Failed requests are red, with × where they failed.' : ''} ` +
      `Requests of one rank are stacked in rows so bars never overlap: a full lane held many requests at once. ${counts}.${scale}${window}`,
    spec: { width: WIDTH, height, layer, resolve: { scale: { color: 'shared' } } } as unknown as TopLevelSpec,
  };
}
