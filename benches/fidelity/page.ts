/**
 * docs/fidelity.html: per run, the table of statistics, generation throughput over time (measured
 * by vLLM's per-second logger, simulated by balanceroute and by LLMServingSim) and per-request TTFT
 * (simulated against measured). Charts through the report's Vega-Lite renderer and page shell.
 */
import type { TopLevelSpec } from 'vega-lite';
import { esc, figure, page } from '../../src/report/html.ts';
import { RENDERER_VERSIONS, renderSvg } from '../../src/report/render.ts';
import { NOT_REPLAYED, SOURCE_COMMIT, SOURCE_REPO } from './runs.ts';
import type { HostFit } from './protocol.ts';
import { fmtPct, genThroughputBins, METRIC_LABEL, type TableRow, type TimeRow } from './suite.ts';

export interface PageRun {
  id: string;
  role: string;
  measuredSeries: TimeRow[];
  peerSeries: TimeRow[];
  output: number[];
  oursFirstS: number[];
  oursEndS: number[];
  measuredTtft: number[];
  oursTtft: number[];
  peerTtft: number[];
  rows: TableRow[];
}

const SIDES = ['measured (vLLM)', 'balanceroute', 'LLMServingSim'];
const COLORS = ['#1f2328', '#cf222e', '#0969da'];

function throughputSpec(r: PageRun): TopLevelSpec {
  const ours = genThroughputBins(r.oursFirstS, r.oursEndS, r.output);
  const values = [
    ...r.measuredSeries.map((x) => ({ t: x.t, gen: x.gen, side: SIDES[0] })),
    ...ours.map((x) => ({ t: x.t, gen: x.gen, side: SIDES[1] })),
    ...r.peerSeries.map((x) => ({ t: x.t, gen: x.gen, side: SIDES[2] })),
  ];
  return {
    width: 560,
    height: 240,
    data: { values },
    mark: { type: 'line', interpolate: 'step-before', strokeWidth: 1.4 },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'time (s)' },
      y: { field: 'gen', type: 'quantitative', title: 'generation throughput (tok/s)' },
      color: { field: 'side', type: 'nominal', title: null, scale: { domain: SIDES, range: COLORS } },
    },
  } as TopLevelSpec;
}

function ttftSpec(r: PageRun): TopLevelSpec {
  const values: { measured: number; simulated: number; side: string }[] = [];
  r.measuredTtft.forEach((m, i) => {
    const r1 = (v: number) => Math.round(v * 10) / 10;
    if (Number.isFinite(r.oursTtft[i])) values.push({ measured: r1(m), simulated: r1(r.oursTtft[i]), side: SIDES[1] });
    if (Number.isFinite(r.peerTtft[i])) values.push({ measured: r1(m), simulated: r1(r.peerTtft[i]), side: SIDES[2] });
  });
  const hi = values.reduce((a, v) => Math.max(a, v.measured, v.simulated), 1);
  return {
    width: 380,
    height: 380,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: hi, y: hi }] },
        mark: { type: 'line', color: '#8a929c', strokeDash: [4, 3], strokeWidth: 1 },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values },
        // No per-point aria labels: 2 x 300 points per run would double the page.
        mark: { type: 'point', filled: true, size: 14, opacity: 0.5, aria: false },
        encoding: {
          x: { field: 'measured', type: 'quantitative', title: 'measured TTFT (ms)', scale: { domain: [0, hi], nice: true } },
          y: { field: 'simulated', type: 'quantitative', title: 'simulated TTFT (ms)', scale: { domain: [0, hi], nice: true } },
          color: { field: 'side', type: 'nominal', title: null, scale: { domain: SIDES.slice(1), range: COLORS.slice(1) } },
        },
      },
    ],
  } as TopLevelSpec;
}

function tableHtml(rows: readonly TableRow[]): string {
  const n = (v: number) => (Number.isFinite(v) ? v.toFixed(v >= 100 ? 0 : 1) : '-');
  const head = '<thead><tr><th>metric</th><th class="num">measured ms</th><th class="num">balanceroute ms</th><th class="num">error</th><th class="num">LLMServingSim ms</th><th class="num">error</th></tr></thead>';
  const body = rows
    .map((r) => {
      const better = Math.abs(r.oursErr) < Math.abs(r.peerErr);
      return `<tr><td>${esc(`${METRIC_LABEL[r.metric]} ${r.stat}`)}</td><td class="num">${n(r.measured)}</td><td class="num">${n(r.ours)}</td><td class="num ${better ? 'pos' : ''}">${esc(fmtPct(r.oursErr))}</td><td class="num">${n(r.peer)}</td><td class="num ${better ? '' : 'pos'}">${esc(fmtPct(r.peerErr))}</td></tr>`;
    })
    .join('');
  return `<table>${head}<tbody>${body}</tbody></table>`;
}

export async function fidelityPage(runs: readonly PageRun[], info: { date: string; wallS: number; command: string; fits: HostFit[] }): Promise<string> {
  const sections: string[] = [];
  for (const r of runs) {
    const a = await renderSvg(throughputSpec(r), `tp-${r.id}`);
    const b = await renderSvg(ttftSpec(r), `ttft-${r.id}`);
    sections.push(
      `<h2>${esc(r.id)} <span class="note">(${esc(r.role)})</span></h2>`,
      tableHtml(r.rows),
      `<div class="charts">`,
      figure(
        `tp-${r.id}`,
        'Generation throughput over time',
        "vLLM's per-second logger (measured), balanceroute (each request's tokens spread evenly between its first token and its end; 1-s bins) and LLMServingSim's log.",
        a.svg,
      ),
      figure(`ttft-${r.id}`, 'TTFT per request', 'Simulated against measured TTFT, one point per request and simulator; the dashed line is simulated = measured.', b.svg),
      `</div>`,
    );
  }
  const body = [
    '<h1>Fidelity: balanceroute against real vLLM runs</h1>',
    `<p class="sub">Generated by <code>${esc(info.command)}</code> on ${esc(info.date)} in ${info.wallS.toFixed(1)} s. Runs and LLMServingSim outputs: <a href="${esc(SOURCE_REPO)}">casys-kaist/LLMServingSim</a> ${esc(SOURCE_COMMIT.slice(0, 7))} (MIT). Protocol and discussion: docs/fidelity.md.</p>`,
    '<p class="note">Engine-anchored latencies (from vLLM\'s queued_ts; balanceroute from the first step boundary at or after arrival). Percentiles interpolate linearly. Error = (simulated − measured) / measured; the smaller error of the two simulators is marked.</p>',
    '<h2>Host terms</h2>',
    `<ul>${info.fits.map((f) => `<li>${esc(f.host)}: ${esc(f.summary)}</li>`).join('')}</ul>`,
    ...sections,
    '<h2>Not replayed</h2>',
    `<ul>${NOT_REPLAYED.map((n) => `<li>${esc(n.what)}: ${esc(n.why)}</li>`).join('')}</ul>`,
    `<footer>vega ${esc(RENDERER_VERSIONS.vega)}, vega-lite ${esc(RENDERER_VERSIONS['vega-lite'])}</footer>`,
  ].join('\n');
  return page('Fidelity: balanceroute against real vLLM runs', body);
}
