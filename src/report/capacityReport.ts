// The capacity part of the reports. For a capacity file (`balanceroute capacity`) it is the whole
// report; for a sweep that spans rates it is the verdict section, computed from the swept rates.
// Below saturation every router delivers the offered load, so a throughput winner is noise; the
// number a serving team acts on is the largest rate that meets the latency SLO.
import type { TopLevelSpec } from 'vega-lite';
import type { ArrowFileData } from '../formats/arrowRead.ts';
import { VERSION } from '../version.ts';
import { computeCapacityVerdict, type CapacityCell, type CapacityInputRow } from '../capacity/verdict.ts';
import type { IntervalEstimate } from '../stats/stats.ts';
import { esc, figure, keyValueTable, num, page, pct, pctDigits, duration } from './html.ts';
import { RENDERER_VERSIONS, renderSvg } from './render.ts';
import { variantColors } from './sweepCharts.ts';
import { capacityRowsFromFile } from './capacityData.ts';
import type { BuiltReport } from './builtReport.ts';

const rate = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? num(x) : num(x, x >= 10 ? 1 : 2));

function interval(g: IntervalEstimate | null, asPct: boolean): string {
  if (!g) return '—';
  if (g.lo === null || g.hi === null) return g.n === 1 ? 'one seed: no interval' : '—';
  if (asPct) {
    const d = pctDigits(g.lo, g.hi);
    return `[${pct(g.lo, d)}, ${pct(g.hi, d)}]`;
  }
  return `[${g.lo >= 0 ? '+' : '−'}${rate(Math.abs(g.lo))}, ${g.hi >= 0 ? '+' : '−'}${rate(Math.abs(g.hi))}]`;
}

/** The verdict table: one row per (context, DP) cell and router variant. */
export function capacityVerdictSection(cells: readonly CapacityCell[], variants: readonly string[], slo: string, source: string): string {
  if (cells.length === 0) return '<p class="headline">No configuration to compare.</p>';
  const baseline = cells[0].baseline;
  const colors = variantColors(variants, baseline);
  const swatch = (v: string) => {
    const i = colors.domain.indexOf(v);
    return i < 0 ? '' : `<span class="swatch" style="background:${colors.range[i]}"></span>`;
  };
  const withContext = cells.some((c) => c.context !== '');
  const sig = cells.filter((c) => c.significance === 'pos').length;
  const ns = cells.filter((c) => c.significance === 'ns').length;
  const neg = cells.filter((c) => c.significance === 'neg').length;
  const headline = `<p class="headline">Capacity under the SLO <code>${esc(slo)}</code> (${esc(source)}): ` +
    `in ${sig} of ${cells.length} cell${cells.length === 1 ? '' : 's'} a router beats ${esc(baseline)} with a 95% interval above zero; ` +
    `in ${neg} ${esc(baseline)} itself is best, significantly ahead of the next router; ${ns} show no significant difference.</p>`;
  const head = [
    ...(withContext ? ['<th>other axes</th>'] : []),
    '<th class="num">DP</th>', '<th>router</th>', '<th class="num">capacity req/s</th>', '<th class="num">95% CI</th>',
    '<th class="num">gain req/s</th>', '<th class="num">95% CI</th>', '<th class="num">gain %</th>', '<th class="num">95% CI</th>',
    '<th class="num">seeds</th>', '<th>note</th>',
  ].join('');
  const body: string[] = [];
  for (const c of cells) {
    c.variants.forEach((v, i) => {
      const isBase = v.variant === c.baseline;
      const s = isBase ? 'ns' : v.gainAbs && v.gainAbs.lo !== null && v.gainAbs.hi !== null ? (v.gainAbs.lo > 0 ? 'pos' : v.gainAbs.hi < 0 ? 'neg' : 'ns') : 'ns';
      const notes = [
        v.variant === c.best && c.variants.length > 1 ? 'highest mean' : '',
        v.belowMin ? `SLO not met at the minimum rate for ${v.belowMin} seed${v.belowMin === 1 ? '' : 's'} (capacity 0)` : '',
        v.atMax ? `SLO still met at the maximum rate for ${v.atMax} seed${v.atMax === 1 ? '' : 's'}` : '',
      ].filter(Boolean).join('; ');
      const attrs = `data-context="${esc(c.context)}" data-dp="${c.dp}" data-variant="${esc(v.variant)}" data-capacity="${v.capacity.mean}" data-gain="${v.gainAbs?.mean ?? ''}" data-lo="${v.gainAbs?.lo ?? ''}" data-hi="${v.gainAbs?.hi ?? ''}" data-significance="${s}"`;
      body.push(
        `<tr ${attrs}${i === 0 ? ' class="cell-start"' : ''}>` +
          (withContext ? `<td>${i === 0 ? esc(c.context) : ''}</td>` : '') +
          `<td class="num">${i === 0 ? c.dp : ''}</td>` +
          `<td class="${v.variant === c.best ? 'best' : ''}">${swatch(v.variant)}${esc(v.variant)}${isBase ? ' (baseline)' : ''}</td>` +
          `<td class="num">${rate(v.capacity.mean)}</td><td class="num ci">${v.capacity.lo === null ? '—' : `[${rate(v.capacity.lo)}, ${rate(v.capacity.hi)}]`}</td>` +
          `<td class="num gain ${s}">${isBase ? '—' : v.gainAbs ? `${v.gainAbs.mean >= 0 ? '+' : '−'}${rate(Math.abs(v.gainAbs.mean))}` : '—'}</td>` +
          `<td class="num ci ${s}">${isBase ? '—' : interval(v.gainAbs, false)}</td>` +
          `<td class="num gain ${s}">${isBase ? '—' : pct(v.gainRel?.mean)}</td>` +
          `<td class="num ci ${s}">${isBase ? '—' : interval(v.gainRel, true)}</td>` +
          `<td class="num">${v.capacity.n}</td><td class="note">${esc(notes)}</td></tr>`,
      );
    });
    body.push(`<tr class="cell-verdict"><td colspan="${withContext ? 11 : 10}"><b>${c.context ? esc(c.context) + ', ' : ''}DP ${c.dp}:</b> ${esc(c.summary)}</td></tr>`);
  }
  const intro = `<p>For every configuration the <b>capacity</b> is the largest request rate at which every bound of the SLO holds. ` +
    `Gains over <b>${esc(baseline)}</b> are paired by seed (the same seed is the same request stream at every rate): ` +
    `gain<sub>s</sub> = capacity(router, s) − capacity(${esc(baseline)}, s), with the mean and its 95% Student-t interval over seeds; ` +
    `green: the interval lies above zero, red: below; otherwise the routers are not distinguishable at this number of seeds.</p>`;
  return `${headline}\n${intro}\n<table class="verdict capacity" id="capacity-table" data-baseline="${esc(baseline)}"><thead><tr>${head}</tr></thead><tbody>${body.join('\n')}</tbody></table>`;
}

/** Capacity vs DP per router (mean over seeds, interval as error bars); one panel per context. */
export function capacityChart(cells: readonly CapacityCell[], variants: readonly string[]): TopLevelSpec {
  const baseline = cells[0]?.baseline ?? '';
  const colors = variantColors(variants, baseline);
  const values = cells.flatMap((c) =>
    c.variants.map((v) => ({ context: c.context || 'all', dp: c.dp, variant: v.variant, capacity: v.capacity.mean, lo: v.capacity.lo ?? v.capacity.mean, hi: v.capacity.hi ?? v.capacity.mean })),
  );
  const dps = [...new Set(values.map((v) => v.dp))].sort((a, b) => a - b);
  const contexts = [...new Set(values.map((v) => v.context))];
  const x = dps.length > 1
    ? { field: 'dp', type: 'quantitative', title: 'DP size', scale: { type: 'log', base: 2, nice: false, padding: 12 }, axis: { values: dps, format: 'd' } }
    : { field: 'dp', type: 'ordinal', title: 'DP size' };
  const color = { field: 'variant', type: 'nominal', title: 'router', scale: colors, sort: variants };
  const inner = {
    layer: [
      { mark: { type: dps.length > 1 ? 'line' : 'point', point: true }, encoding: { x, y: { field: 'capacity', type: 'quantitative', title: 'capacity (req/s)', scale: { zero: false } }, color } },
      { mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
    ],
  };
  if (contexts.length > 1) {
    return { data: { values }, facet: { row: { field: 'context', type: 'nominal', title: null } }, spec: { width: 420, height: 200, ...inner }, resolve: { scale: { y: 'independent' } } } as unknown as TopLevelSpec;
  }
  return { data: { values }, width: 480, height: 240, ...inner } as unknown as TopLevelSpec;
}

/** The verdict section and chart for labelled capacity rows; shared by both reports. */
export async function capacitySection(rows: readonly CapacityInputRow[], variants: readonly string[], slo: string, source: string): Promise<{ html: string; charts: string[]; warnings: string[] }> {
  const cells = computeCapacityVerdict(rows, { variantOrder: variants });
  const warnings: string[] = [];
  const charts: string[] = [];
  let chartHtml = '';
  if (cells.length > 0) {
    const r = await renderSvg(capacityChart(cells, variants), 'capacity-vs-dp');
    warnings.push(...r.warnings.map((w) => `capacity-vs-dp: ${w}`));
    charts.push('capacity-vs-dp');
    chartHtml = figure('capacity-vs-dp', 'SLO capacity vs DP size', 'Mean capacity over seeds per router, with the 95% interval of the mean as a vertical bar.', r.svg);
  }
  return { html: `${capacityVerdictSection(cells, variants, slo, source)}\n<div class="charts">${chartHtml}</div>`, charts, warnings };
}

/** The report of a capacity file. */
export async function capacityReport(file: ArrowFileData): Promise<BuiltReport> {
  const data = capacityRowsFromFile(file);
  const m = file.metadata;
  const tol = m.tolerance ? `${Number((100 * Number(m.tolerance)).toPrecision(3))}%` : '—';
  const section = await capacitySection(data.rows, data.variants, data.slo, `each configuration searched to ${tol}`);
  const name = m.sweep_name || file.path;
  const run: [string, string][] = [
    ['SLO', m.slo ?? '—'],
    ['tolerance', tol],
    ['rate range', m.min_rate && m.max_rate ? `${m.min_rate} – ${m.max_rate} req/s (grid, then refined)` : 'walked from the sweep rate (×2 steps), then refined'],
    ['arrival window', m.window === 'fixed' ? 'fixed request count at every rate' : m.window === 'base' ? 'each configuration\'s requests / rate' : m.window ? `${m.window} s of arrivals per evaluation` : '—'],
    ['simulations', m.simulations ?? '—'],
    ['rounds', m.rounds ?? '—'],
    ['engine', m.engine ?? '—'],
    ['wall time', m.wall_ms !== undefined ? duration(Number(m.wall_ms)) : '—'],
    ['configurations', String(file.numRows)],
    ['balanceroute', m.balanceroute_version ?? '—'],
  ];
  const body = [
    `<h1>balanceroute capacity report: ${esc(name)}</h1>`,
    `<p class="sub">${esc(file.path)} · ${num(file.numRows)} configurations · ${data.variants.length} router variant${data.variants.length === 1 ? '' : 's'}</p>`,
    `<h2 id="verdict">Verdict: capacity under the SLO</h2>`,
    section.html,
    `<h2 id="run">The search</h2>`,
    keyValueTable(run),
    `<footer>Generated by balanceroute ${esc(VERSION)} (vega ${esc(RENDERER_VERSIONS.vega)}, vega-lite ${esc(RENDERER_VERSIONS['vega-lite'])}). Self-contained: no scripts, no network.</footer>`,
  ].join('\n');
  return { html: page(`balanceroute capacity: ${name}`, body), charts: section.charts, warnings: section.warnings };
}
