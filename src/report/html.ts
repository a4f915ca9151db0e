// The page shell of a report: one self-contained HTML file (inline CSS and SVG, no scripts, no
// network), plus helpers to build tables safely.

/** Escape text for HTML content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A figure holding one rendered chart. */
export function figure(id: string, title: string, caption: string, svg: string): string {
  return `<figure class="chart" id="chart-${esc(id)}" data-chart="${esc(id)}">
<h3>${esc(title)}</h3>
<div class="svg">${svg}</div>
<figcaption>${esc(caption)}</figcaption>
</figure>`;
}

/** A two-column key/value table. */
export function keyValueTable(rows: readonly [string, string][], cls = 'kv'): string {
  return `<table class="${cls}"><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`;
}

const CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d0d7de; --bg2: #f6f8fa; --pos: #1a7f37; --neg: #cf222e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--fg); margin: 0; background: #fff; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 0 0 6px; }
p { margin: 6px 0; }
.sub { color: var(--muted); margin: 0 0 16px; }
.note { color: var(--muted); font-size: 13px; }
.headline { font-size: 15px; background: var(--bg2); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px 28px; align-items: start; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--bg2); font-weight: 600; white-space: nowrap; position: sticky; top: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
table.kv th { font-weight: 600; color: var(--muted); white-space: nowrap; }
table.kv td { word-break: break-word; }
table.verdict td.best { font-weight: 600; white-space: nowrap; }
.pos { color: var(--pos); font-weight: 600; }
.neg { color: var(--neg); font-weight: 600; }
.ns { color: var(--muted); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
div.charts { display: flex; flex-wrap: wrap; gap: 0 36px; align-items: flex-start; }
figure.chart { margin: 18px 0 26px; max-width: 100%; }
figure.chart .svg { overflow-x: auto; }
figure.chart svg { max-width: none; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; max-width: min(1000px, 100%); }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--bg2); padding: 1px 4px; border-radius: 4px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;

/** The complete page. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="balanceroute report">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** Format a number with thousands separators and `digits` decimals; '—' for null/NaN. */
export function num(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * Decimals that show a fraction as a percentage with about two significant digits (1 to 3),
 * e.g. 0.071 -> 1 ("7.1%"), 0.002 -> 2 ("0.20%"), 0.00007 -> 3 ("0.007%").
 */
export function pctDigits(...vs: (number | null | undefined)[]): number {
  const m = Math.max(0, ...vs.filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v)).map((v) => Math.abs(v) * 100));
  if (m === 0) return 1;
  return Math.min(3, Math.max(1, 1 - Math.floor(Math.log10(m))));
}

/** A signed percentage, e.g. +7.1% / −2.3%, from a fraction (0.071); digits default to pctDigits(v). */
export function pct(v: number | null | undefined, digits = pctDigits(v)): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = (Math.abs(v) * 100).toFixed(digits);
  if (Number(s) === 0) return `${(0).toFixed(digits)}%`;
  return `${v < 0 ? '−' : '+'}${s}%`;
}

/** A duration in ms, readable. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(2)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}
