// HTML page of a measured-vs-predicted comparison: the table of statistics with error %, a
// per-request scatter of predicted against measured TTFT and E2E, and the in-flight request
// count over time, measured and predicted side by side. Charts go through the report's
// Vega-Lite renderer (render.ts) and page shell (html.ts).
import type { TopLevelSpec } from 'vega-lite';
import { readArrowFile } from '../formats/arrowRead.ts';
import { MEASURED_FORMAT } from '../loadgen/output.ts';
import { PREDICTED_FORMAT } from '../loadgen/predict.ts';
import { COMPARED_METRICS, checkFormats, checkSameRun, compareSides, fmtPct, readSide, type Comparison, type ComparedMetric } from './compare.ts';
import { esc, figure, keyValueTable, num, page } from './html.ts';
import { RENDERER_VERSIONS, renderSvg } from './render.ts';

const LABEL: Record<ComparedMetric, string> = { ttft: 'TTFT', tpot: 'TPOT', e2e: 'E2E' };

function scatterSpec(c: Comparison, metric: ComparedMetric): TopLevelSpec {
  const values = c.pairs.filter((p) => p.metric === metric).map((p) => ({ request: p.request, measured: p.measured, predicted: p.predicted }));
  const hi = values.reduce((m, v) => Math.max(m, v.measured, v.predicted), 1e-9);
  // Very large runs: every k-th request keeps the page small (the table uses all of them).
  const k = Math.ceil(values.length / 5000);
  if (k > 1) values.splice(0, values.length, ...values.filter((_, i) => i % k === 0));
  return {
    width: 420,
    height: 420,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: hi, y: hi }] },
        mark: { type: 'line', color: '#8a929c', strokeDash: [4, 3], strokeWidth: 1 },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 18, opacity: 0.55, color: '#0969da' },
        encoding: {
          x: { field: 'measured', type: 'quantitative', title: `measured ${LABEL[metric]} (ms)`, scale: { domain: [0, hi], nice: true } },
          y: { field: 'predicted', type: 'quantitative', title: `predicted ${LABEL[metric]} (ms)`, scale: { domain: [0, hi], nice: true } },
        },
      },
    ],
  } as TopLevelSpec;
}

/** At most `bins` points of a step series: the highest count in each time bin (peaks survive). */
export function thinSeries(series: readonly [number, number][], bins = 1500): [number, number][] {
  if (series.length <= 2 * bins) return [...series];
  const t0 = series[0][0];
  const span = Math.max(1e-12, series[series.length - 1][0] - t0);
  const out: [number, number][] = [];
  let cur = -1;
  for (const [t, n] of series) {
    const b = Math.min(bins - 1, Math.floor(((t - t0) / span) * bins));
    if (b !== cur) {
      out.push([t0 + (b / bins) * span, n]);
      cur = b;
    } else if (n > out[out.length - 1][1]) out[out.length - 1][1] = n;
  }
  return out;
}

function inFlightSpec(c: Comparison): TopLevelSpec {
  const values = [
    ...thinSeries(c.inFlight.measured).map(([t, n]) => ({ t, n, side: 'measured' })),
    ...thinSeries(c.inFlight.predicted).map(([t, n]) => ({ t, n, side: 'predicted' })),
  ];
  return {
    data: { values },
    facet: { column: { field: 'side', type: 'nominal', title: null, sort: ['measured', 'predicted'] } },
    spec: {
      width: 460,
      height: 220,
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.3 },
      encoding: {
        x: { field: 't', type: 'quantitative', title: 'time since the first request (s)' },
        y: { field: 'n', type: 'quantitative', title: 'requests in flight' },
        color: { field: 'side', type: 'nominal', legend: null, scale: { domain: ['measured', 'predicted'], range: ['#0969da', '#cf222e'] } },
      },
    },
    resolve: { scale: { y: 'shared', x: 'shared' } },
  } as TopLevelSpec;
}

function tableHtml(c: Comparison): string {
  const head = '<thead><tr><th>metric</th><th>stat</th><th class="num">measured (ms)</th><th class="num">predicted (ms)</th><th class="num">error</th></tr></thead>';
  const rows = c.rows.map((r) => `<tr><td>${LABEL[r.metric]}</td><td>${r.stat}</td><td class="num">${num(r.measured, 2)}</td><td class="num">${num(r.predicted, 2)}</td><td class="num">${esc(fmtPct(r.error))}</td></tr>`);
  rows.push(`<tr><td>output throughput</td><td>tok/s</td><td class="num">${num(c.throughput.measured, 1)}</td><td class="num">${num(c.throughput.predicted, 1)}</td><td class="num">${esc(fmtPct(c.throughput.error))}</td></tr>`);
  return `<table class="compare">${head}<tbody>${rows.join('')}</tbody></table>`;
}

export interface ComparisonReport {
  html: string;
  comparison: Comparison;
  warnings: string[];
}

export async function compareReport(measuredPath: string, predictedPath: string): Promise<ComparisonReport> {
  const mf = readArrowFile(measuredPath);
  const pf = readArrowFile(predictedPath);
  checkFormats(mf, pf);
  checkSameRun(mf, pf);
  const c = compareSides(readSide(mf, 'measured', MEASURED_FORMAT), readSide(pf, 'predicted', PREDICTED_FORMAT));
  const warnings: string[] = [];
  const figs: string[] = [];
  const charts: [string, string, string, TopLevelSpec][] = [
    ...COMPARED_METRICS.filter((m) => m !== 'tpot').map((m): [string, string, string, TopLevelSpec] => [
      `scatter-${m}`,
      `Predicted vs measured ${LABEL[m]}, per request`,
      `One point per request completed on both sides; the dashed line is predicted = measured. Points above it are requests the model thinks slower than they were.`,
      scatterSpec(c, m),
    ]),
    ['inflight', 'Requests in flight over time', 'Requests sent and not yet finished, from the loadgen log (left) and from the simulation of the same arrivals (right), on the measured clock; long runs show the highest count per time bin.', inFlightSpec(c)],
  ];
  for (const [id, title, caption, spec] of charts) {
    const r = await renderSvg(spec, id);
    warnings.push(...r.warnings.map((w) => `${id}: ${w}`));
    figs.push(figure(id, title, caption, r.svg));
  }
  const md = mf.metadata;
  const pd = pf.metadata;
  const settings = keyValueTable([
    ['measured', `${measuredPath} (${md.url ?? '?'}, model ${md.model ?? '?'}, ${md.source_kind ?? '?'} ${md.source ?? ''})`],
    ['predicted', `${predictedPath} (router ${pd.router ?? '?'} ${pd.router_params ?? ''}, dp ${pd.dp ?? '?'}, step model ${pd.model ?? '?'}, speed ${pd.speed ?? '1'})`],
    ['requests', `${c.joined} in both logs, ${c.bothCompleted} completed on both sides (failed: measured ${c.measuredFailed}, predicted ${c.predictedFailed})`],
    ['charts', `vega ${RENDERER_VERSIONS.vega}, vega-lite ${RENDERER_VERSIONS['vega-lite']}`],
  ]);
  const e2e = c.rows.find((r) => r.metric === 'e2e' && r.stat === 'mean')!;
  const ttft = c.rows.find((r) => r.metric === 'ttft' && r.stat === 'mean')!;
  const tpot = c.rows.find((r) => r.metric === 'tpot' && r.stat === 'mean')!;
  const body = [
    '<h1>Measured vs predicted</h1>',
    `<p class="sub">The same requests, sent to a server by <code>balanceroute loadgen</code> and replayed through the simulator by <code>balanceroute predict</code>.</p>`,
    `<p class="headline">Mean TTFT ${esc(fmtPct(ttft.error))}, mean TPOT ${esc(fmtPct(tpot.error))}, mean E2E ${esc(fmtPct(e2e.error))} (predicted relative to measured).</p>`,
    settings,
    '<h2>Statistics</h2>',
    '<p class="note">Over the requests completed on both sides; percentiles interpolate linearly (as NumPy and vllm bench do); error = (predicted − measured) / measured. Anchor: client — TTFT and E2E start at the request\'s send time on both sides, as <code>loadgen</code> measures (the predict log also holds the engine-anchored <code>ttft_engine_ms</code> and <code>e2e_engine_ms</code>, which start when the engine queued the request).</p>',
    tableHtml(c),
    '<h2>Per request</h2>',
    `<div class="charts">${figs.slice(0, 2).join('\n')}</div>`,
    '<h2>Load over time</h2>',
    figs.slice(2).join('\n'),
    `<footer>balanceroute compare · ${esc(new Date().toISOString())}</footer>`,
  ].join('\n');
  return { html: page('Measured vs predicted', body), comparison: c, warnings };
}
