// Vega-Lite specs to static SVG, in Node, without a DOM or canvas: compile with vega-lite, run
// the dataflow with vega's headless renderer ('none'), serialize to SVG. The SVG is inlined into
// the HTML page, so ids are made unique per chart.
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/** Versions of the chart libraries (recorded in the report). */
export const RENDERER_VERSIONS = { vega: vega.version, 'vega-lite': vegaLite.version };

/** Shared look of every chart. */
export const CHART_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif',
  background: 'white',
  view: { stroke: '#d0d4da' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 600, gridColor: '#eceef1', domainColor: '#8a929c', tickColor: '#8a929c' },
  legend: { labelFontSize: 11, titleFontSize: 12, symbolStrokeWidth: 2, labelLimit: 260 },
  header: { labelFontSize: 12, titleFontSize: 12, labelFontWeight: 600 },
  title: { fontSize: 13, anchor: 'start' as const },
  line: { strokeWidth: 2 },
  point: { size: 36, filled: true },
};

/** A rendered chart and what the libraries warned about while rendering it. */
export interface RenderedSvg {
  svg: string;
  warnings: string[];
}

/** A vega logger that keeps warnings and errors instead of printing them. */
function collectingLogger(into: string[]): vega.LoggerInterface {
  let level = vega.Warn;
  const text = (args: readonly unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: readonly unknown[]) {
      into.push(`error: ${text(args)}`);
      return logger;
    },
    warn(...args: readonly unknown[]) {
      if (level >= vega.Warn) into.push(text(args));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger as unknown as vega.LoggerInterface;
}

/** Render one Vega-Lite spec to an SVG string whose ids carry `idPrefix`. */
export async function renderSvg(spec: TopLevelSpec, idPrefix: string): Promise<RenderedSvg> {
  const warnings: string[] = [];
  const logger = collectingLogger(warnings);
  const withConfig = { ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
  const compiled = vegaLite.compile(withConfig, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    return { svg: compactNumbers(uniqueIds(svg, idPrefix)), warnings };
  } finally {
    view.finalize();
  }
}

/** Prefix every id (and its references) so several inline SVGs can share one page. */
export function uniqueIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}-${id}"`);
}

/**
 * Round coordinates in geometry attributes (`d`, `transform`, `x`, `y`, `x2`, `y2`, `width`,
 * `height`) to 2 decimals: vega writes full doubles, which makes charts of thousands of marks
 * several times larger than they need to be. Text and labels are left alone.
 */
export function compactNumbers(svg: string): string {
  const round = (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) return v;
    const r = Math.round(n * 100) / 100;
    return String(Object.is(r, -0) ? 0 : r);
  };
  return svg.replace(/(?<=\s)(d|transform|x|y|x2|y2|width|height)="([^"]*)"/g, (_m, attr: string, value: string) =>
    `${attr}="${value.replace(/-?\d+\.\d{3,}(?:e-?\d+)?|-?\d+(?:\.\d+)?e-\d+/g, round)}"`,
  );
}
