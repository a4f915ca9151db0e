// Vega-Lite specs for the sweep report. The layout adapts to the sweep's axes:
// - latency/throughput charts put request rate on x, one line per router variant, one facet per
//   DP size (none when there is one DP size), one facet row per context (other varying axes);
// - balance charts put DP size on x, one facet per rate;
// - with a single value on the x axis a chart becomes bars, one per variant.
import type { TopLevelSpec } from 'vega-lite';
import type { CellMean, PlotMetric, SweepData } from './sweepData.ts';
import { formatValue } from './sweepData.ts';
import type { VariantGain } from './verdict.ts';

/** A chart of the report: an id (for the page and tests), a title, a caption and its spec. */
export interface ChartDef {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

export interface MetricDef {
  key: PlotMetric;
  title: string;
  axisTitle: string;
  format: string;
  /** What the chart shows, for its caption. */
  describe: string;
  /** Use a log y scale when values span more than this ratio (and are all positive). */
  logAbove?: number;
}

export const METRIC_DEFS: Record<PlotMetric, MetricDef> = {
  throughput_tok_s: { key: 'throughput_tok_s', title: 'Throughput', axisTitle: 'tokens/s', format: ',.0f', describe: 'Output tokens per second of completed requests (throughput_tok_s)' },
  ttft_p95_ms: { key: 'ttft_p95_ms', title: 'TTFT p95', axisTitle: 'TTFT p95 (ms)', format: ',.0f', logAbove: 30, describe: '95th percentile of time to first token, client anchor: from arrival (ttft_p95_ms; ttft_engine_p95_ms in the file starts when the engine queued the request)' },
  tpot_mean_ms: { key: 'tpot_mean_ms', title: 'TPOT (mean)', axisTitle: 'TPOT (ms)', format: ',.3~g', describe: 'Mean time per output token after the first (tpot_mean_ms)' },
  failed_pct: { key: 'failed_pct', title: 'Failed requests', axisTitle: 'failed (%)', format: ',.3~g', describe: 'Failed requests, rejected or timed out, in % of requests (100 · failed / requests)' },
  imbalance: { key: 'imbalance', title: 'DP imbalance', axisTitle: 'imbalance', format: '.2f', describe: 'DP imbalance (imbalance)' },
  idle_frac: { key: 'idle_frac', title: 'Barrier idle fraction', axisTitle: 'idle fraction', format: '.0%', describe: 'Barrier idle fraction (idle_frac)' },
};

/** Twenty distinguishable colours (Tableau 10, then its lighter half); the baseline is drawn near-black. */
const PALETTE = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
  '#a0cbe8', '#ffbe7d', '#ff9d9a', '#86bcb6', '#8cd17d', '#f1ce63', '#d4a6c8', '#fabfd2', '#d7b5a6', '#79706e',
];
export const BASELINE_COLOR = '#1f2328';

/** Colour of every variant, stable across all charts of a report. */
export function variantColors(variants: readonly string[], baseline: string): { domain: string[]; range: string[] } {
  let k = 0;
  const range = variants.map((v) => (v === baseline ? BASELINE_COLOR : PALETTE[k++ % PALETTE.length]));
  return { domain: [...variants], range };
}

type Row = Record<string, string | number | null>;

function records(means: readonly CellMean[], keys: readonly PlotMetric[]): Row[] {
  return means.map((c) => {
    const r: Row = { variant: c.variant, context: c.context, dp: c.dp, rate: c.rate, rate_label: rateLabel(c.rate), n: c.n };
    for (const k of keys) r[k] = c.values[k];
    return r;
  });
}

/** A rate for labels: 0 means the trace's own timing. */
export function rateLabel(rate: number): string {
  return rate === 0 ? 'trace timing' : `${formatValue(rate)} req/s`;
}

/** An x encoding for a numeric axis with these values. */
function numericX(field: string, values: readonly number[], title: string, base: number, sortLabels?: string[]): Record<string, unknown> {
  const positive = values.every((v) => v > 0);
  if (!positive) {
    // e.g. rate 0 (trace timing): categories in numeric order.
    return { field: `${field}_label`, type: 'ordinal', title, sort: sortLabels, axis: { labelAngle: 0 } };
  }
  const min = Math.min(...values);
  const max = Math.max(...values);
  const useLog = values.length >= 3 && max / min >= 4;
  const pad = useLog ? Math.pow(max / min, 0.06) : 0;
  return {
    field,
    type: 'quantitative',
    title,
    scale: useLog ? { type: 'log', base, domain: [min / pad, max * pad], nice: false } : { zero: false, padding: 12 },
    axis: { values: [...values], format: '.6~g', labelFlush: false, grid: true },
  };
}

function yEncoding(def: MetricDef, rows: readonly Row[]): Record<string, unknown> {
  const vs = rows.map((r) => r[def.key]).filter((v): v is number => typeof v === 'number');
  const positive = vs.length > 0 && vs.every((v) => v > 0);
  const useLog = def.logAbove !== undefined && positive && Math.max(...vs) / Math.min(...vs) > def.logAbove;
  let scale: Record<string, unknown>;
  if (useLog) scale = { type: 'log', nice: false, padding: 6 };
  else if (def.key === 'failed_pct') scale = { domain: [0, Math.max(1, ...vs)] }; // all-zero stays readable
  else scale = { zero: def.key === 'idle_frac' || def.key === 'imbalance' };
  return {
    field: def.key,
    type: 'quantitative',
    title: useLog ? def.axisTitle.replace(/\)$/, ', log)') : def.axisTitle,
    scale,
    axis: { format: def.format },
  };
}

interface Facets {
  /** Field for facet columns ('dp' or 'rate_label'), or null. */
  column: { field: string; values: number; labelExpr: string; sort?: string[] } | null;
  /** Facet rows by context when more than one. */
  rows: boolean;
}

function facetSpec(inner: Record<string, unknown>, facets: Facets, data: Row[], cellWidth: number): TopLevelSpec {
  const header = (labelExpr: string) => ({ labelExpr, title: null, labelAnchor: 'middle' });
  if (!facets.column && !facets.rows) return { data: { values: data }, width: cellWidth + 80, height: 220, ...inner } as TopLevelSpec;
  const sized = { width: cellWidth, height: 170, ...inner };
  const colDef = facets.column
    ? { field: facets.column.field, type: 'ordinal', sort: facets.column.sort ?? 'ascending', header: header(facets.column.labelExpr) }
    : null;
  let facet: Record<string, unknown>;
  let columns: number | undefined;
  if (facets.rows) {
    facet = { row: { field: 'context', type: 'nominal', sort: null, header: { title: null, labelAngle: 0, labelAlign: 'left', labelLimit: 220 } } };
    if (colDef) facet.column = colDef;
  } else {
    facet = colDef!;
    columns = Math.min(facets.column!.values, 4);
  }
  return {
    data: { values: data },
    facet,
    ...(columns !== undefined ? { columns } : {}),
    spec: sized,
    // Top and bottom y labels inside the axis, so no panel's bounds (and header) rise above the others.
    config: { axisY: { labelFlush: true } },
    resolve: { scale: { y: 'independent' } },
  } as unknown as TopLevelSpec;
}

/** Line + point layer (or bars when there is a single x value) for one metric. */
function metricLayer(def: MetricDef, x: Record<string, unknown> | null, colors: ReturnType<typeof variantColors>, rows: Row[], baseline: string, variants: string[]): Record<string, unknown> {
  const color = { field: 'variant', type: 'nominal', title: 'router', scale: colors, sort: variants };
  const y = yEncoding(def, rows);
  if (x === null) {
    return {
      mark: { type: 'bar', tooltip: false },
      encoding: {
        x: { field: 'variant', type: 'nominal', title: null, sort: variants, axis: { labelAngle: -35, labelLimit: 140 } },
        y,
        color: { ...color, legend: null },
      },
    };
  }
  const dashed = `datum.variant === ${JSON.stringify(baseline)}`;
  return {
    mark: { type: 'line', point: true, clip: false },
    encoding: {
      x,
      y,
      color,
      strokeDash: { condition: { test: dashed, value: [6, 3] }, value: [1, 0] },
      order: { field: String(x.field).replace(/_label$/, ''), type: 'quantitative' },
    },
  };
}

export interface SweepChartOptions {
  /** The baseline variant (dashed line, dark colour). */
  baseline: string;
  /** Paired throughput gains of every variant over the baseline (verdict.variantGains). */
  gains: readonly VariantGain[];
}

/** Error bars are drawn from this many seeds on (with 2 seeds, t(0.975, 1) = 12.7 makes them useless). */
export const MIN_SEEDS_FOR_ERROR_BARS = 3;

/** Paired throughput gain over the baseline: lines (or bars) of the mean, error bars of the CI. */
function gainLayers(x: Record<string, unknown> | null, colors: ReturnType<typeof variantColors>, baseline: string, variants: string[], withBars: boolean): Record<string, unknown> {
  const color = { field: 'variant', type: 'nominal', title: 'router', scale: colors, sort: variants };
  const y = { field: 'gain_pct', type: 'quantitative', title: 'gain (%)', axis: { format: '+~g' } };
  const zero = { mark: { type: 'rule', color: '#8a929c', strokeDash: [2, 2] }, encoding: { y: { datum: 0 } } };
  const bars = withBars && {
    transform: [{ filter: 'isValid(datum.lo_pct)' }],
    mark: { type: 'rule', strokeWidth: 1.5 },
    encoding: { ...(x ? { x } : { x: { field: 'variant', type: 'nominal', sort: variants } }), y: { field: 'lo_pct', type: 'quantitative' }, y2: { field: 'hi_pct' }, color: { ...color, legend: null } },
  };
  if (x === null) {
    return {
      layer: [
        {
          mark: { type: 'bar', opacity: 0.85 },
          encoding: { x: { field: 'variant', type: 'nominal', title: null, sort: variants, axis: { labelAngle: -35, labelLimit: 140 } }, y, color: { ...color, legend: null } },
        },
        ...(bars ? [bars] : []),
        zero,
      ],
    };
  }
  return {
    layer: [
      zero,
      ...(bars ? [bars] : []),
      {
        mark: { type: 'line', point: true },
        encoding: { x, y, color, order: { field: String(x.field).replace(/_label$/, ''), type: 'quantitative' } },
      },
    ],
  };
}

/** All charts of a sweep report. */
export function sweepCharts(data: SweepData, means: readonly CellMean[], opts: SweepChartOptions): ChartDef[] {
  const colors = variantColors(data.variants, opts.baseline);
  const contextRows = data.contexts.length > 1;
  const seedNote = (bars: boolean) => (data.seeds.length > 1 ? ` Each ${bars ? 'bar' : 'point'} is the mean over ${data.seeds.length} seeds.` : '');
  const contextNote = contextRows ? ' One row of panels per combination of the other varying axes.' : '';
  const rateSort = [...data.rates].sort((a, b) => a - b).map(rateLabel);
  const charts: ChartDef[] = [];

  // Latency and throughput versus rate, faceted by DP.
  const singleRate = data.rates.length === 1;
  const rateX = singleRate ? null : numericX('rate', data.rates, 'request rate (req/s)', 2, rateSort);
  const dpFacet: Facets = {
    column: data.dps.length > 1 ? { field: 'dp', values: data.dps.length, labelExpr: "'DP = ' + datum.value" } : null,
    rows: contextRows,
  };
  const perRate = (['throughput_tok_s', 'ttft_p95_ms', 'tpot_mean_ms', 'failed_pct'] as const).map((k) => METRIC_DEFS[k]);
  const cellWidth = (facets: number) => (facets > 4 ? 160 : 180);
  for (const def of perRate) {
    const rows = records(means, [def.key]);
    // A metric with no value anywhere (TTFT when every request failed) has no chart: an empty
    // scale would only draw nothing and make vega warn about an infinite extent.
    if (!rows.some((r) => Number.isFinite(r[def.key]))) continue;
    const where = singleRate ? ` at ${rateLabel(data.rates[0])}` : ' versus request rate';
    const by = data.dps.length > 1 ? ', one panel per DP size' : data.dps.length === 1 ? ` (DP = ${data.dps[0]})` : '';
    charts.push({
      id: def.key,
      title: `${def.title}${where}`,
      caption: `${def.describe}${singleRate ? ' per router' : ', one line per router'}${by}.${seedNote(singleRate)}${contextNote}` +
        (singleRate ? '' : ` The baseline (${opts.baseline}) is dashed.`),
      spec: facetSpec(metricLayer(def, rateX, colors, rows, opts.baseline, data.variants), dpFacet, rows, cellWidth(data.dps.length)),
    });
    if (def.key === 'throughput_tok_s' && opts.gains.length > 0) {
      const gainRows: Row[] = opts.gains.map((g) => {
        const bars = g.gain.n >= MIN_SEEDS_FOR_ERROR_BARS && g.gain.lo !== null && g.gain.hi !== null;
        return {
          variant: g.variant, context: g.context, dp: g.dp, rate: g.rate, rate_label: rateLabel(g.rate), n: g.gain.n,
          gain_pct: 100 * g.gain.mean, lo_pct: bars ? 100 * g.gain.lo! : null, hi_pct: bars ? 100 * g.gain.hi! : null,
        };
      });
      const withBars = gainRows.some((r) => r.lo_pct !== null);
      charts.push({
        id: 'throughput_gain',
        title: `Throughput gain over ${opts.baseline}${where}`,
        caption: `Paired by seed: mean over seeds of throughput(router, seed) / throughput(${opts.baseline}, seed) − 1${by}.` +
          (withBars ? ` Error bars: ${95}% Student-t intervals across seeds.` : ` No error bars with fewer than ${MIN_SEEDS_FOR_ERROR_BARS} seeds; the verdict table gives the intervals.`) + contextNote,
        spec: facetSpec(gainLayers(rateX, colors, opts.baseline, data.variants, withBars), dpFacet, gainRows, cellWidth(data.dps.length)),
      });
    }
  }

  // Balance versus DP size, faceted by rate.
  const singleDp = data.dps.length === 1;
  const dpX = singleDp ? null : numericX('dp', data.dps, 'DP size (ranks)', 2);
  const rateFacet: Facets = {
    column: data.rates.length > 1 ? { field: 'rate_label', values: data.rates.length, labelExpr: 'datum.value', sort: rateSort } : null,
    rows: contextRows,
  };
  for (const def of [METRIC_DEFS.imbalance, METRIC_DEFS.idle_frac]) {
    const rows = records(means, [def.key]);
    const where = singleDp ? ` at DP = ${data.dps[0]}` : ' versus DP size';
    const by = data.rates.length > 1 ? ', one panel per request rate' : ` (${rateLabel(data.rates[0])})`;
    charts.push({
      id: def.key,
      title: `${def.title}${where}`,
      caption: `${def.describe}${singleDp ? ' per router' : ', one line per router'}${by}.${seedNote(singleDp)}${contextNote}`,
      spec: facetSpec(metricLayer(def, dpX, colors, rows, opts.baseline, data.variants), rateFacet, rows, cellWidth(data.rates.length)),
    });
  }
  return charts;
}
