// A sweep result file, read for the report: rows labelled by router variant (router + the knobs
// that vary for it) and context (other axes that vary but are not plotted), the sweep's axes and
// fixed settings. Seeds are kept per row; averaging and pairing happen downstream.
import type { ArrowFileData } from '../formats/arrowRead.ts';
import { InputError } from '../errors.ts';
import { METRIC_COLUMNS } from '../metrics/types.ts';
import { KNOB_PREFIX } from '../results/resultSchema.ts';

/** Metrics the report plots (failed_pct is derived: 100 · failed / requests). */
export const PLOT_METRICS = ['throughput_tok_s', 'ttft_p95_ms', 'tpot_mean_ms', 'failed_pct', 'imbalance', 'idle_frac'] as const;
export type PlotMetric = (typeof PLOT_METRICS)[number];

/** Columns a result file must have for the report. */
export const REQUIRED_RESULT_COLUMNS = [
  'router', 'dp', 'rate', 'seed', 'requests', 'failed',
  'throughput_tok_s', 'ttft_p95_ms', 'tpot_mean_ms', 'imbalance', 'idle_frac',
] as const;

/** One result row, labelled for the report. */
export interface SweepRow {
  /** Row number in the file. */
  row: number;
  router: string;
  /** Router knobs of this row (from router_params, else the knob_* columns). */
  params: Record<string, string | number | boolean | null>;
  /** Router plus the knobs that vary for that router, e.g. "br0 b=4". */
  variant: string;
  /** The non-plotted axes that vary, e.g. "dispatch=per_step"; '' when none vary. */
  context: string;
  dp: number;
  rate: number;
  seed: number;
  values: Record<PlotMetric, number | null>;
}

/** An axis of the sweep: a configuration column with more than one value. */
export interface SweepAxis {
  name: string;
  /** Distinct values, formatted, in order of first appearance (numbers sorted). */
  values: string[];
  /** How the report uses it: `derived` varies only together with plotted axes (see `follows`). */
  role: 'router' | 'knob' | 'dp' | 'rate' | 'seed' | 'context' | 'derived';
  /** For derived columns: the smallest set of plotted axes that determines it, e.g. "dp". */
  follows?: string;
}

export interface SweepData {
  path: string;
  /** Schema-level metadata of the file. */
  meta: Record<string, string>;
  rows: SweepRow[];
  /** Router variants in order of first appearance. */
  variants: string[];
  /** Router of each variant. */
  variantRouter: Map<string, string>;
  /** Context labels in order of first appearance ([''] when no other axis varies). */
  contexts: string[];
  dps: number[];
  rates: number[];
  seeds: number[];
  /** Everything that varies. */
  axes: SweepAxis[];
  /** Configuration columns with one value (null-only columns left out). */
  fixed: { name: string; value: string }[];
}

/** Columns that describe a configuration but are neither axes nor settings. */
const NOT_SETTINGS = new Set(['config_index', 'engine', 'router_params']);

/** Format one value for labels and tables. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return String(v);
}

/** Throws an InputError unless the file has every column the report needs. */
export function checkResultColumns(file: ArrowFileData): void {
  const have = new Set(file.columns.map((c) => c.name));
  const missing = REQUIRED_RESULT_COLUMNS.filter((c) => !have.has(c));
  if (missing.length > 0) {
    throw new InputError('file', file.path, `not a balanceroute sweep result: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  if (file.numRows === 0) throw new InputError('file', file.path, 'the result file has no rows');
}

function numbers(file: ArrowFileData, name: string, allowNull: boolean): (number | null)[] {
  const vs = file.column(name);
  return vs.map((v, i) => {
    if (v === null && allowNull) return null;
    if (typeof v !== 'number') {
      throw new InputError('file', file.path, `column ${name}, row ${i}: expected a number, found ${v === null ? 'null' : JSON.stringify(v)}`);
    }
    return Number.isFinite(v) ? v : null;
  });
}

function parseParams(text: unknown, file: ArrowFileData, i: number): Record<string, string | number | boolean | null> {
  if (typeof text !== 'string') return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, string | number | boolean | null>;
  } catch {
    // fall through
  }
  throw new InputError('file', file.path, `column router_params, row ${i}: not a JSON object`);
}

const distinct = <T>(xs: readonly T[]): T[] => [...new Set(xs)];
const sortedNumbers = (xs: readonly number[]): number[] => distinct(xs).sort((a, b) => a - b);

/**
 * The smallest set of the plotted axes (router variant, dp, rate, seed) whose values determine
 * `values`, named like "dp" or "router, dp".
 */
function followedAxes(values: readonly unknown[], axes: Record<string, readonly unknown[]>): string {
  const names = Object.keys(axes);
  const determines = (subset: string[]) => {
    const seen = new Map<string, string>();
    for (let i = 0; i < values.length; i++) {
      const k = JSON.stringify(subset.map((a) => axes[a][i]));
      const v = JSON.stringify(values[i]);
      const had = seen.get(k);
      if (had === undefined) seen.set(k, v);
      else if (had !== v) return false;
    }
    return true;
  };
  for (let size = 1; size <= names.length; size++) {
    const pick = (start: number, chosen: string[]): string[] | null => {
      if (chosen.length === size) return determines(chosen) ? chosen : null;
      for (let j = start; j < names.length; j++) {
        const r = pick(j + 1, [...chosen, names[j]]);
        if (r) return r;
      }
      return null;
    };
    const found = pick(0, []);
    if (found) return found.join(', ');
  }
  return names.join(', ');
}

/** Read and label the rows of a result file (already read with readArrowFile). */
// Long on purpose: one pass over the columns that builds every labelled array the report reads.
export function sweepData(file: ArrowFileData): SweepData {
  checkResultColumns(file);
  const n = file.numRows;
  const names = file.columns.map((c) => c.name);
  const routerCol = file.column('router');
  const routers = routerCol.map((v, i) => {
    if (typeof v !== 'string' || v === '') throw new InputError('file', file.path, `column router, row ${i}: expected a router name, found ${JSON.stringify(v)}`);
    return v;
  });
  const dp = numbers(file, 'dp', false) as number[];
  const rate = numbers(file, 'rate', false) as number[];
  const seed = numbers(file, 'seed', false) as number[];
  const requests = numbers(file, 'requests', true);
  const failed = numbers(file, 'failed', true);
  const metric = (name: string) => numbers(file, name, true);
  const throughput = metric('throughput_tok_s');
  const ttft = metric('ttft_p95_ms');
  const tpot = metric('tpot_mean_ms');
  const imbalance = metric('imbalance');
  const idle = metric('idle_frac');

  // Router knobs: router_params when present, else the non-null knob_* columns.
  const knobNames = names.filter((c) => c.startsWith(KNOB_PREFIX));
  const knobCols = knobNames.map((c) => [c.slice(KNOB_PREFIX.length), file.column(c)] as const);
  const paramsCol = names.includes('router_params') ? file.column('router_params') : null;
  const params = routers.map((_, i) => {
    if (paramsCol) return parseParams(paramsCol[i], file, i);
    const p: Record<string, string | number | boolean | null> = {};
    for (const [k, vs] of knobCols) if (vs[i] !== null) p[k] = vs[i] as string | number;
    return p;
  });

  // Knobs that vary within each router make the variant label.
  const varyingKnobs = new Map<string, string[]>();
  for (const r of distinct(routers)) {
    const idx = routers.flatMap((x, i) => (x === r ? [i] : []));
    const keys = distinct(idx.flatMap((i) => Object.keys(params[i])));
    varyingKnobs.set(r, keys.filter((k) => new Set(idx.map((i) => JSON.stringify(params[i][k] ?? null))).size > 1));
  }
  const variantOfIndex = (_: unknown, i: number) => variantOf(i);
  const variantOf = (i: number) => {
    const ks = varyingKnobs.get(routers[i])!;
    return [routers[i], ...ks.map((k) => `${k}=${formatValue(params[i][k] ?? null)}`)].join(' ');
  };

  // Configuration columns other than router, knobs, dp, rate, seed: constant -> fixed, varying -> context.
  const settingNames = names.filter(
    (c) => !NOT_SETTINGS.has(c) && !c.startsWith(KNOB_PREFIX) && (c === 'requests' || !(METRIC_COLUMNS as readonly string[]).includes(c)) && !['router', 'dp', 'rate', 'seed'].includes(c),
  );
  // A column that varies only together with the plotted axes (kv_capacity derived from dp, say)
  // is not an axis of its own: it is listed as derived, and does not split lines or cells.
  const plottedKey = (i: number) => JSON.stringify([variantOf(i), dp[i], rate[i], seed[i]]);
  const keyOfRow = Array.from({ length: n }, (_, i) => plottedKey(i));
  const fixed: SweepData['fixed'] = [];
  const contextCols: { name: string; values: unknown[] }[] = [];
  const derivedCols: { name: string; values: unknown[]; follows: string }[] = [];
  for (const c of settingNames) {
    const vs = file.column(c);
    const keys = new Set(vs.map((v) => JSON.stringify(v)));
    if (keys.size <= 1) {
      if (vs[0] !== null && vs[0] !== undefined) fixed.push({ name: c, value: formatValue(vs[0]) });
      continue;
    }
    const seen = new Map<string, string>();
    let independent = false;
    for (let i = 0; i < n && !independent; i++) {
      const v = JSON.stringify(vs[i]);
      const had = seen.get(keyOfRow[i]);
      if (had === undefined) seen.set(keyOfRow[i], v);
      else if (had !== v) independent = true;
    }
    if (independent) contextCols.push({ name: c, values: vs });
    else derivedCols.push({ name: c, values: vs, follows: followedAxes(vs, { router: routers.map(variantOfIndex), dp, rate, seed }) });
  }
  const contextOf = (i: number) => contextCols.map((c) => `${c.name}=${formatValue(c.values[i])}`).join(', ');

  const rows: SweepRow[] = [];
  for (let i = 0; i < n; i++) {
    const req = requests[i];
    const f = failed[i];
    rows.push({
      row: i,
      router: routers[i],
      params: params[i],
      variant: variantOf(i),
      context: contextOf(i),
      dp: dp[i],
      rate: rate[i],
      seed: seed[i],
      values: {
        throughput_tok_s: throughput[i],
        ttft_p95_ms: ttft[i],
        tpot_mean_ms: tpot[i],
        failed_pct: req !== null && f !== null && req > 0 ? (100 * f) / req : null,
        imbalance: imbalance[i],
        idle_frac: idle[i],
      },
    });
  }

  const variants = distinct(rows.map((r) => r.variant));
  const variantRouter = new Map(rows.map((r) => [r.variant, r.router]));
  const axes: SweepAxis[] = [];
  const add = (name: string, values: string[], role: SweepAxis['role']) => {
    if (values.length > 1) axes.push({ name, values, role });
  };
  add('router', distinct(routers), 'router');
  for (const [r, ks] of varyingKnobs) {
    for (const k of ks) {
      add(`${r}.${k}`, distinct(rows.filter((x) => x.router === r).map((x) => formatValue(x.params[k] ?? null))), 'knob');
    }
  }
  add('dp', sortedNumbers(dp).map(formatValue), 'dp');
  add('rate', sortedNumbers(rate).map(formatValue), 'rate');
  add('seed', sortedNumbers(seed).map(formatValue), 'seed');
  const valuesOf = (xs: unknown[]) => {
    const vs = distinct(xs);
    return (vs.every((v) => typeof v === 'number') ? (vs as number[]).sort((a, b) => a - b) : vs).map(formatValue);
  };
  for (const c of contextCols) add(c.name, valuesOf(c.values), 'context');
  for (const c of derivedCols) axes.push({ name: c.name, values: valuesOf(c.values), role: 'derived', follows: c.follows });

  return {
    path: file.path,
    meta: file.metadata,
    rows,
    variants,
    variantRouter,
    contexts: distinct(rows.map((r) => r.context)),
    dps: sortedNumbers(dp),
    rates: sortedNumbers(rate),
    seeds: sortedNumbers(seed),
    axes,
    fixed,
  };
}

/** Mean over seeds of each plotted metric, per (context, variant, dp, rate). */
export interface CellMean {
  context: string;
  variant: string;
  router: string;
  dp: number;
  rate: number;
  /** Seeds averaged. */
  n: number;
  values: Record<PlotMetric, number | null>;
}

/** Average the rows over seeds (and over duplicate rows, if any). */
export function meansOverSeeds(data: Pick<SweepData, 'rows'>): CellMean[] {
  const groups = new Map<string, SweepRow[]>();
  for (const r of data.rows) {
    const key = JSON.stringify([r.context, r.variant, r.dp, r.rate]);
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const out: CellMean[] = [];
  for (const g of groups.values()) {
    const values = {} as Record<PlotMetric, number | null>;
    for (const m of PLOT_METRICS) {
      const xs = g.map((r) => r.values[m]).filter((v): v is number => v !== null);
      values[m] = xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
    }
    out.push({ context: g[0].context, variant: g[0].variant, router: g[0].router, dp: g[0].dp, rate: g[0].rate, n: new Set(g.map((r) => r.seed)).size, values });
  }
  return out;
}
