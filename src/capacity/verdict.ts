// The capacity verdict: per cell (context, DP), each router variant's SLO capacity averaged over
// seeds, and its paired gain over the baseline (vllm_default) in req/s and in %, with a Student-t
// interval over seeds. Seeds pair configurations: the same seed is the same request stream (common
// random numbers), so gain_s = capacity(variant, s) − capacity(baseline, s). Pure: rows in, numbers out.
import { tInterval, type IntervalEstimate } from '../stats/stats.ts';

export interface CapacityInputRow {
  variant: string;
  router: string;
  /** Other axes that vary (model, workload, ...), '' when none. */
  context: string;
  dp: number;
  seed: number;
  /** req/s; 0 when the SLO failed at the minimum rate. */
  capacity: number;
  status: string;
}

export interface VariantCapacity {
  variant: string;
  router: string;
  /** Mean capacity over seeds and its interval. */
  capacity: IntervalEstimate;
  /** Seeds at which the SLO failed even at the minimum rate / held at the maximum. */
  belowMin: number;
  atMax: number;
  /** Paired gain over the baseline, req/s and relative; null for the baseline or without pairs. */
  gainAbs: IntervalEstimate | null;
  gainRel: IntervalEstimate | null;
}

export type Significance = 'pos' | 'neg' | 'ns';

export interface CapacityCell {
  context: string;
  dp: number;
  baseline: string;
  /** Variants in the given order. */
  variants: VariantCapacity[];
  /** Best variant by mean capacity. */
  best: string;
  /** Significance of the best variant's gain (or of the best other variant's when the baseline is best). */
  significance: Significance;
  /** One-line verdict, e.g. "jsq_load +1.3 req/s (+8.1%, 95% CI [+4.0%, +12.2%])" or "no significant difference". */
  summary: string;
}

export function significanceOf(g: IntervalEstimate | null): Significance {
  if (!g || g.lo === null || g.hi === null) return 'ns';
  if (g.lo > 0) return 'pos';
  if (g.hi < 0) return 'neg';
  return 'ns';
}

const fmtRate = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
const sign = (x: number) => (x > 0 ? '+' : x < 0 ? '−' : '±');
const fmtPct = (x: number) => `${sign(x)}${Math.abs(100 * x).toFixed(1)}%`;

export function computeCapacityVerdict(rows: readonly CapacityInputRow[], opts: { baselineRouter?: string; level?: number; variantOrder?: readonly string[] } = {}): CapacityCell[] {
  const baselineRouter = opts.baselineRouter ?? 'vllm_default';
  const level = opts.level ?? 0.95;
  const order = opts.variantOrder ?? [...new Set(rows.map((r) => r.variant))];
  const cells = new Map<string, CapacityInputRow[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.context, r.dp]);
    const c = cells.get(key);
    if (c) c.push(r);
    else cells.set(key, [r]);
  }
  const contexts = [...new Set(rows.map((r) => r.context))];
  const keys = [...cells.keys()].sort((a, b) => {
    const [ca, da] = JSON.parse(a) as [string, number];
    const [cb, db] = JSON.parse(b) as [string, number];
    return contexts.indexOf(ca) - contexts.indexOf(cb) || da - db;
  });
  const out: CapacityCell[] = [];
  for (const key of keys) {
    const [context, dp] = JSON.parse(key) as [string, number];
    const cellRows = cells.get(key)!;
    const variants = order.filter((v) => cellRows.some((r) => r.variant === v));
    const bySeed = new Map(variants.map((v) => [v, seedMap(cellRows.filter((r) => r.variant === v))]));
    const baseline = variants.find((v) => cellRows.some((r) => r.variant === v && r.router === baselineRouter)) ?? variants[0];
    const base = bySeed.get(baseline)!;
    const vc: VariantCapacity[] = variants.map((v) => {
      const mine = cellRows.filter((r) => r.variant === v);
      const m = bySeed.get(v)!;
      const abs: number[] = [];
      const rel: number[] = [];
      if (v !== baseline) {
        for (const [seed, c] of [...m].sort((a, b) => a[0] - b[0])) {
          const b = base.get(seed);
          if (b === undefined) continue;
          abs.push(c - b);
          if (b > 0) rel.push(c / b - 1);
        }
      }
      return {
        variant: v,
        router: mine[0].router,
        capacity: tInterval([...m.values()], level),
        belowMin: mine.filter((r) => r.status === 'below_min').length,
        atMax: mine.filter((r) => r.status === 'at_max').length,
        gainAbs: abs.length ? tInterval(abs, level) : null,
        gainRel: rel.length ? tInterval(rel, level) : null,
      };
    });
    let best = vc[0];
    for (const x of vc) if (x.capacity.mean > best.capacity.mean) best = x;
    let focus = best;
    if (best.variant === baseline && vc.length > 1) {
      focus = vc.filter((x) => x.variant !== baseline).reduce((a, x) => (x.capacity.mean > a.capacity.mean ? x : a));
    }
    const sig = focus.variant === baseline ? 'ns' : significanceOf(focus.gainAbs);
    const pctLevel = Math.round(level * 100);
    let summary: string;
    if (vc.length === 1) summary = `${best.variant} only`;
    else if (sig === 'ns') {
      summary = `no significant difference (best ${best.variant} ${fmtRate(best.capacity.mean)} req/s` +
        (focus.gainAbs ? `; ${focus.variant} vs ${baseline} ${sign(focus.gainAbs.mean)}${fmtRate(Math.abs(focus.gainAbs.mean))} req/s${intervalText(focus.gainAbs, pctLevel, false)}` : '') + ')';
    } else {
      const g = focus.gainAbs!;
      const r = focus.gainRel;
      summary = `${focus.variant} ${sign(g.mean)}${fmtRate(Math.abs(g.mean))} req/s over ${baseline}` +
        (r ? ` (${fmtPct(r.mean)}${intervalText(r, pctLevel, true)})` : '') + (sig === 'neg' ? ': the baseline is better' : '');
    }
    out.push({ context, dp, baseline, variants: vc, best: best.variant, significance: sig, summary });
  }
  return out;
}

function intervalText(g: IntervalEstimate, level: number, asPct: boolean): string {
  if (g.lo === null || g.hi === null) return g.n === 1 ? ', one seed: no interval' : '';
  const f = asPct ? fmtPct : (x: number) => `${sign(x)}${fmtRate(Math.abs(x))}`;
  return `, ${level}% CI [${f(g.lo)}, ${f(g.hi)}]`;
}

function seedMap(rows: readonly CapacityInputRow[]): Map<number, number> {
  const sums = new Map<number, [number, number]>();
  for (const r of rows) {
    const s = sums.get(r.seed) ?? [0, 0];
    s[0] += r.capacity;
    s[1]++;
    sums.set(r.seed, s);
  }
  return new Map([...sums].map(([k, [s, n]]) => [k, s / n]));
}
