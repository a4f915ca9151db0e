// The HTML report of a time-series file: a summary per configuration, then per configuration the
// load per rank with its envelope, the barrier, the idle fraction, the per-request Gantt chart
// (from the request log written beside the series; heat strips of running requests without one)
// and the waiting requests per rank.
import type { ArrowFileData } from '../formats/arrowRead.ts';
import { InputError } from '../errors.ts';
import { VERSION } from '../version.ts';
import { duration, esc, figure, keyValueTable, num, page } from './html.ts';
import { RENDERER_VERSIONS, renderSvg } from './render.ts';
import type { BuiltReport } from './builtReport.ts';
import type { ChartDef } from './sweepCharts.ts';
import { barrierChart, ganttChart, heatStrip, idleChart, loadChart } from './timeseriesCharts.ts';
import { binSeries, stepSeries, timeSeriesData, type StepSeries, type TimeSeriesData } from './timeseriesData.ts';
import { ganttData, requestLog, type GanttData, type RequestLog } from './requestsData.ts';
import { formatValue } from './sweepData.ts';

export interface TimeSeriesReportOptions {
  /** A result file of the same run or sweep, to label configurations (router with knobs, DP, rate, seed). */
  results?: ArrowFileData;
  /** The per-request log of the same run (`ts.requests.arrow`), for the Gantt charts. */
  requests?: ArrowFileData;
  /** Where the request log was looked for when there is none (named in the page). */
  requestsLookedFor?: string;
  /** Configurations to draw (config_index values); default the first `maxConfigs`. */
  configs?: number[];
  /** Default 8. */
  maxConfigs?: number;
  /** Time bins of the line charts. Default 300. */
  bins?: number;
  /** Most requests per Gantt chart (more: a time window). Default MAX_GANTT_BARS. */
  maxBars?: number;
}

/** Heat strips hold at most about this many cells (bins × ranks) to keep the SVG small. */
const HEAT_CELLS = 24_000;

/** Label of each configuration from a result file: "br0 b=4 · DP 8 · 20 req/s · seed 1". */
export function configLabels(results: ArrowFileData | undefined): Map<number, string> {
  const labels = new Map<number, string>();
  if (!results) return labels;
  const names = new Set(results.columns.map((c) => c.name));
  if (!names.has('config_index')) throw new InputError('results', results.path, 'has no config_index column; expected a balanceroute result file');
  const col = (n: string) => (names.has(n) ? results.column(n) : null);
  const [idx, router, params, dp, rate, seed] = ['config_index', 'router', 'router_params', 'dp', 'rate', 'seed'].map(col);
  for (let i = 0; i < results.numRows; i++) {
    const parts: string[] = [];
    if (router) {
      let knobs = '';
      if (params && typeof params[i] === 'string' && params[i] !== '{}') {
        try {
          knobs = Object.entries(JSON.parse(params[i] as string) as Record<string, unknown>).map(([k, v]) => `${k}=${formatValue(v)}`).join(' ');
        } catch {
          knobs = '';
        }
      }
      parts.push(`${router[i]}${knobs ? ` (${knobs})` : ''}`);
    }
    if (dp) parts.push(`DP ${formatValue(dp[i])}`);
    if (rate) parts.push(rate[i] === 0 ? 'trace timing' : `${formatValue(rate[i])} req/s`);
    if (seed) parts.push(`seed ${formatValue(seed[i])}`);
    labels.set(idx![i] as number, parts.join(' · '));
  }
  return labels;
}

/**
 * Label of each configuration from the label columns of a time series (or request log):
 * "vllm_default · DP 8 · 20 req/s · seed 1" (router knobs are only in the result file).
 */
export function seriesLabels(file: ArrowFileData, data: Pick<TimeSeriesData, 'columns'>): Map<number, string> {
  const labels = new Map<number, string>();
  const vec = (n: string) => (file.columns.some((c) => c.name === n) ? file.table.getChild(n) : null);
  const [router, dp, rate, seed] = ['router', 'dp', 'rate', 'seed'].map(vec);
  if (!router && !dp && !rate && !seed) return labels;
  const idx = data.columns.config_index;
  const get = (v: ReturnType<typeof vec>, i: number): unknown => {
    const x: unknown = v?.get(i);
    return typeof x === 'bigint' ? Number(x) : x;
  };
  for (let i = 0; i < idx.length; i++) {
    if (labels.has(idx[i])) continue;
    const parts: string[] = [];
    const [ro, d, ra, se] = [router, dp, rate, seed].map((v) => get(v, i));
    if (ro !== null && ro !== undefined) parts.push(String(ro));
    if (typeof d === 'number') parts.push(`DP ${formatValue(d)}`);
    if (typeof ra === 'number') parts.push(ra === 0 ? 'trace timing' : `${formatValue(ra)} req/s`);
    if (typeof se === 'number') parts.push(`seed ${formatValue(se)}`);
    labels.set(idx[i], parts.join(' · '));
  }
  return labels;
}

/**
 * Why the request log cannot be drawn for this configuration's series (another run's log beside
 * the file, say), or null when it fits: ranks within the series' ranks, requests within its span.
 */
function logMismatch(g: GanttData, s: StepSeries): string | null {
  if (g.ranks > s.ranks) return `it routes requests to rank ${g.ranks - 1}, the time series has ${s.ranks} ranks`;
  const span = s.totals.endS - s.totals.startS;
  const tol = Math.max(0.01, 0.01 * span);
  if (g.total > 0 && (g.runEndS > s.totals.endS + tol || g.runEndS < s.totals.endS - tol)) {
    return `its last request ends at ${g.runEndS.toFixed(3)} s, the time series at ${s.totals.endS.toFixed(3)} s`;
  }
  return null;
}

/** The time-series report for a file read with readArrowFile. */
export async function timeSeriesReport(file: ArrowFileData, opts: TimeSeriesReportOptions = {}): Promise<BuiltReport> {
  const data = timeSeriesData(file);
  const maxConfigs = opts.maxConfigs ?? 8;
  let chosen: number[];
  if (opts.configs && opts.configs.length > 0) {
    for (const c of opts.configs) {
      if (!data.rows.has(c)) throw new InputError('config', c, `not in ${file.path}; it holds configurations ${data.configs.slice(0, 20).join(', ')}${data.configs.length > 20 ? ', ...' : ''}`);
    }
    chosen = opts.configs;
  } else chosen = data.configs.slice(0, maxConfigs);
  const labels = configLabels(opts.results);
  const fromSeries = seriesLabels(file, data);
  for (const [c, l] of fromSeries) if (!labels.has(c)) labels.set(c, l);
  const series: StepSeries[] = chosen.map((c) => stepSeries(data, c));
  const log: RequestLog | undefined = opts.requests ? requestLog(opts.requests) : undefined;
  const gantts = new Map<number, GanttData>();

  const warnings: string[] = [];
  const chartIds: string[] = [];
  const sections: string[] = [];
  for (const s of series) {
    const prefix = `c${s.config}-`;
    const lineBins = binSeries(s, opts.bins ?? 300);
    const heatBins = binSeries(s, Math.max(40, Math.min(opts.bins ?? 300, Math.floor(HEAT_CELLS / s.ranks))));
    let gantt: GanttData | undefined;
    let ganttNote = '';
    if (log && opts.requests) {
      if (log.rows.has(s.config)) {
        const g = ganttData(log, s.config, { ranks: s.ranks, maxBars: opts.maxBars });
        const why = logMismatch(g, s);
        if (why) ganttNote = `The request log ${opts.requests.path} does not belong to this time series (${why}); it is not drawn.`;
        else gantt = g;
      } else ganttNote = `The request log ${opts.requests.path} has no requests of configuration ${s.config}.`;
    }
    if (gantt) gantts.set(s.config, gantt);
    const charts: ChartDef[] = [
      loadChart(lineBins, prefix),
      barrierChart(lineBins, prefix),
      idleChart(lineBins, s.totals, prefix),
      gantt ? ganttChart(gantt, prefix) : heatStrip(heatBins, 'running', prefix),
      heatStrip(heatBins, 'waiting', prefix),
    ];
    const figs: string[] = [];
    for (const c of charts) {
      const r = await renderSvg(c.spec, c.id);
      warnings.push(...r.warnings.map((w) => `${c.id}: ${w}`));
      figs.push(figure(c.id, c.title, c.caption, r.svg));
      chartIds.push(c.id);
    }
    const label = labels.get(s.config);
    sections.push(
      `<section class="config" data-config="${s.config}"><h2 id="config-${s.config}">Configuration ${s.config}${label ? `: ${esc(label)}` : ''}</h2>\n` +
        `${ganttNote ? `<p class="note">${esc(ganttNote)}</p>\n` : ''}${figs.join('\n')}</section>`,
    );
  }

  const m = data.meta;
  const name = m.sweep_name && m.sweep_name !== 'run' ? m.sweep_name : file.path;
  const more = data.configs.length > chosen.length
    ? `<p class="note">The file holds ${data.configs.length} configuration${data.configs.length === 1 ? '' : 's'}; this report draws ${chosen.length}. Choose others with <code>--config 3,7</code>.</p>`
    : '';
  const unlabelled = labels.size === 0
    ? `<p class="note">Configurations are identified by <code>config_index</code>; pass the sweep's result file with <code>--results RESULTS.arrow</code> to label them with router, DP, rate and seed.</p>`
    : !opts.results && fromSeries.size > 0
      ? `<p class="note">Labels come from the time series' own columns; pass the result file with <code>--results RESULTS.arrow</code> to add router knobs.</p>`
      : '';
  const requestsNote = opts.requests
    ? `<p class="note">Per-request Gantt charts from the request log <code>${esc(opts.requests.path)}</code>.</p>`
    : `<p class="note"><strong>No per-request Gantt chart:</strong> there is no request log${opts.requestsLookedFor ? ` beside this file (<code>${esc(opts.requestsLookedFor)}</code>)` : ''}, ` +
      `so the Gantt view below shows how many requests each rank ran per time bin, not one bar per request. ` +
      `Re-run the run or sweep with <code>--timeseries FILE.arrow</code> on this version of balanceroute (${esc(VERSION)}): it writes <code>FILE.requests.arrow</code> beside the series, ` +
      `which this command then picks up (or pass it with <code>--requests FILE</code>).</p>`;
  const body = [
    `<h1>balanceroute time series: ${esc(name)}</h1>`,
    `<p class="sub">${esc(file.path)} · ${num(file.numRows)} rows (step × rank) · ${data.configs.length} configuration${data.configs.length === 1 ? '' : 's'}</p>`,
    more,
    unlabelled,
    requestsNote,
    summaryTable(series, labels, log ? gantts : undefined),
    `<p class="note">Recomputed from the series with the definitions of docs/model.md §8 (they match the result file's <code>idle_frac</code>, <code>imbalance</code> and <code>balance_ratio</code>).</p>`,
    ...sections,
    `<h2>Run</h2>`,
    keyValueTable([
      ['sweep', m.sweep_name ?? '—'],
      ['engine', m.engine ?? '—'],
      ['adapter', m.adapter ? m.adapter : m.engine === 'cpu' ? 'none (CPU engine)' : '—'],
      ['wall time', m.wall_ms !== undefined ? duration(Number(m.wall_ms)) : '—'],
      ['balanceroute', m.balanceroute_version ?? '—'],
      ['node', m.node_version ?? '—'],
      ['created', m.created ?? '—'],
      ['format', m.format ?? '—'],
    ]),
    `<footer>Generated by balanceroute ${esc(VERSION)} (vega ${esc(RENDERER_VERSIONS.vega)}, vega-lite ${esc(RENDERER_VERSIONS['vega-lite'])}). Self-contained: no scripts, no network.</footer>`,
  ].join('\n');
  return { html: page(`balanceroute time series: ${name}`, body), charts: chartIds, warnings };
}

function summaryTable(series: readonly StepSeries[], labels: Map<number, string>, gantts?: Map<number, GanttData>): string {
  const head = ['config', 'label', 'ranks', 'steps', 'simulated span', 'idle fraction', 'imbalance', 'balance ratio', 'running per rank', 'peak waiting', ...(gantts ? ['requests'] : [])]
    .map((h, i) => `<th${i >= 2 ? ' class="num"' : ''}>${h}</th>`)
    .join('');
  const rows = series.map((s) => {
    const t = s.totals;
    const attrs = `data-config="${s.config}" data-idle="${t.idleFrac}" data-imbalance="${t.imbalance}" data-balance-ratio="${t.balanceRatio}" data-steps="${t.steps}"`;
    return `<tr ${attrs}><td><a href="#config-${s.config}">${s.config}</a></td><td class="label">${esc(labels.get(s.config) ?? '—')}</td>` +
      `<td class="num">${t.ranks}</td><td class="num">${num(t.steps)}</td><td class="num">${t.startS.toFixed(2)}–${t.endS.toFixed(2)} s</td>` +
      `<td class="num">${(100 * t.idleFrac).toFixed(1)}%</td><td class="num">${num(t.imbalance, 3)}</td><td class="num">${num(t.balanceRatio, 3)}</td>` +
      `<td class="num">${num(t.meanRunning, 1)}</td><td class="num">${num(t.peakWaiting)}</td>` +
      (gantts ? `<td class="num">${requestsCell(gantts.get(s.config))}</td>` : '') + '</tr>';
  });
  return `<table class="summary" id="series-summary"><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function requestsCell(g: GanttData | undefined): string {
  if (!g) return '—';
  return g.failed > 0 ? `${num(g.total)} (<span class="neg">${num(g.failed)} failed</span>)` : num(g.total);
}
