// The verdict of a sweep: for each (context, DP, rate) cell, the best router variant by a primary
// metric (throughput by default) and its paired gain over the baseline router (vllm_default),
// with a Student-t confidence interval across seeds. Pure: rows in, numbers out.
//
// Pairing: configurations with the same seed see the same request stream (common random
// numbers), so the gain is computed per seed, gain_s = metric(best, s) / metric(baseline, s) − 1,
// over the seeds both have, and the interval is mean ± t(0.975, n − 1) · sd / √n.
import { tInterval, type IntervalEstimate } from '../stats/stats.ts';

/** The part of a labelled result row the verdict needs (SweepRow fits). */
export interface VerdictInputRow {
  variant: string;
  router: string;
  context: string;
  dp: number;
  rate: number;
  seed: number;
  values: Readonly<Record<string, number | null>>;
}

export interface VerdictOptions {
  /** Primary criterion; larger is better. Default throughput_tok_s. */
  metric?: string;
  /** Secondary metric reported for the best variant (smaller is better). Default ttft_p95_ms. */
  secondary?: string;
  /** Router to compare against. Default vllm_default. */
  baselineRouter?: string;
  /** Confidence level of the intervals. Default 0.95. */
  level?: number;
}

/** One (context, DP, rate) cell of the verdict. */
export interface VerdictRow {
  context: string;
  dp: number;
  rate: number;
  /** Best variant by the seed-mean of the primary metric. */
  best: string;
  /** Seed-mean of the primary metric of the best variant and of the baseline. */
  bestMean: number;
  baseline: string;
  baselineMean: number | null;
  /** Paired relative gain of the best variant over the baseline (0.07 = +7%); null without pairs. */
  gain: IntervalEstimate | null;
  /** Paired relative change of the secondary metric (best vs baseline); null without pairs. */
  secondaryChange: IntervalEstimate | null;
  /** When the baseline itself is best: the best other variant and its paired gain (negative or 0). */
  runnerUp: { variant: string; mean: number; gain: IntervalEstimate | null } | null;
  /** Variants compared in this cell. */
  variants: number;
  /** Set when this cell lacks the sweep's baseline and compares against another variant. */
  note: string | null;
}

export interface Verdict {
  metric: string;
  secondary: string;
  level: number;
  baselineRouter: string;
  /** The baseline variant used where present (e.g. "vllm_default"). */
  baseline: string;
  /** True when the sweep has no baselineRouter rows and the first variant is the baseline. */
  baselineFallback: boolean;
  rows: VerdictRow[];
  /** Cells left out because no variant has a positive mean (nothing completed): no best router at 0 tok/s. */
  emptyCells: number;
}

/** Seed -> mean metric (duplicate rows of one seed are averaged); non-finite values dropped. */
function bySeed(rows: readonly VerdictInputRow[], metric: string): Map<number, number> {
  const sums = new Map<number, [number, number]>();
  for (const r of rows) {
    const v = r.values[metric];
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    const s = sums.get(r.seed) ?? [0, 0];
    s[0] += v;
    s[1] += 1;
    sums.set(r.seed, s);
  }
  return new Map([...sums].map(([seed, [sum, n]]) => [seed, sum / n]));
}

/** Paired relative change a/b − 1 over the seeds both have (b must be non-zero). */
export function pairedRelativeChange(a: Map<number, number>, b: Map<number, number>, level = 0.95): IntervalEstimate | null {
  const gains: number[] = [];
  for (const [seed, va] of [...a].sort((x, y) => x[0] - y[0])) {
    const vb = b.get(seed);
    if (vb === undefined || vb === 0) continue;
    gains.push(va / vb - 1);
  }
  return gains.length === 0 ? null : tInterval(gains, level);
}

const meanOf = (m: Map<number, number>): number | null => {
  if (m.size === 0) return null;
  let s = 0;
  for (const v of m.values()) s += v;
  return s / m.size;
};

/**
 * Compute the verdict. `variantOrder` fixes tie-breaking and the fallback baseline (first
 * variant); by default the order of first appearance in `rows`.
 */
export function computeVerdict(rows: readonly VerdictInputRow[], options: VerdictOptions = {}, variantOrder?: readonly string[]): Verdict {
  const metric = options.metric ?? 'throughput_tok_s';
  const secondary = options.secondary ?? 'ttft_p95_ms';
  const baselineRouter = options.baselineRouter ?? 'vllm_default';
  const level = options.level ?? 0.95;
  const order = variantOrder ?? [...new Set(rows.map((r) => r.variant))];
  const rank = new Map(order.map((v, i) => [v, i]));
  const baselineVariants = order.filter((v) => rows.some((r) => r.variant === v && r.router === baselineRouter));
  const baselineFallback = baselineVariants.length === 0;
  const baseline = baselineFallback ? order[0] ?? '' : baselineVariants[0];

  // Cells in order: context (first appearance), then dp, then rate ascending.
  const contexts = [...new Set(rows.map((r) => r.context))];
  const cells = groupByCell(rows);
  const keys = [...cells.keys()].sort((x, y) => {
    const [cx, dx, rx] = JSON.parse(x) as [string, number, number];
    const [cy, dy, ry] = JSON.parse(y) as [string, number, number];
    return contexts.indexOf(cx) - contexts.indexOf(cy) || dx - dy || rx - ry;
  });

  const out: VerdictRow[] = [];
  let emptyCells = 0;
  for (const key of keys) {
    const cellRows = cells.get(key)!;
    const [context, dp, rate] = JSON.parse(key) as [string, number, number];
    const variants = [...new Set(cellRows.map((r) => r.variant))].sort((a, b) => (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity));
    const primary = new Map(variants.map((v) => [v, bySeed(cellRows.filter((r) => r.variant === v), metric)]));
    const second = new Map(variants.map((v) => [v, bySeed(cellRows.filter((r) => r.variant === v), secondary)]));
    const means = new Map(variants.map((v) => [v, meanOf(primary.get(v)!)]));
    const ranked = variants.filter((v) => means.get(v) !== null);
    if (ranked.length === 0) continue; // no finite values in this cell
    // Every variant at 0 (nothing completed): naming one "best" would be noise, not a verdict.
    if (ranked.every((v) => means.get(v)! <= 0)) {
      emptyCells++;
      continue;
    }
    let best = ranked[0];
    for (const v of ranked) if (means.get(v)! > means.get(best)!) best = v;

    let cellBaseline = baseline;
    let note: string | null = null;
    if (!variants.includes(baseline)) {
      cellBaseline = variants[0];
      note = `no ${baseline} in this cell; compared with ${cellBaseline}`;
    }
    const basePrimary = primary.get(cellBaseline)!;
    const gain = pairedRelativeChange(primary.get(best)!, basePrimary, level);
    const secondaryChange = pairedRelativeChange(second.get(best)!, second.get(cellBaseline)!, level);
    let runnerUp: VerdictRow['runnerUp'] = null;
    if (best === cellBaseline) {
      const others = ranked.filter((v) => v !== cellBaseline);
      if (others.length > 0) {
        let r = others[0];
        for (const v of others) if (means.get(v)! > means.get(r)!) r = v;
        runnerUp = { variant: r, mean: means.get(r)!, gain: pairedRelativeChange(primary.get(r)!, basePrimary, level) };
      }
    }
    out.push({
      context,
      dp,
      rate,
      best,
      bestMean: means.get(best)!,
      baseline: cellBaseline,
      baselineMean: means.get(cellBaseline) ?? null,
      gain,
      secondaryChange,
      runnerUp,
      variants: variants.length,
      note,
    });
  }
  return { metric, secondary, level, baselineRouter, baseline, baselineFallback, rows: out, emptyCells };
}

/** The paired gain of one variant over the baseline in one cell. */
export interface VariantGain {
  context: string;
  variant: string;
  dp: number;
  rate: number;
  baseline: string;
  gain: IntervalEstimate;
}

/**
 * The paired relative gain of every variant over the baseline variant, per (context, dp, rate)
 * cell, for a chart; cells without the baseline are left out. `baseline` is Verdict.baseline.
 */
export function variantGains(rows: readonly VerdictInputRow[], baseline: string, metric = 'throughput_tok_s', level = 0.95): VariantGain[] {
  const cells = groupByCell(rows);
  const out: VariantGain[] = [];
  for (const [key, cellRows] of cells) {
    const [context, dp, rate] = JSON.parse(key) as [string, number, number];
    const base = bySeed(cellRows.filter((r) => r.variant === baseline), metric);
    if (base.size === 0) continue;
    for (const variant of new Set(cellRows.map((r) => r.variant))) {
      const gain = pairedRelativeChange(bySeed(cellRows.filter((r) => r.variant === variant), metric), base, level);
      if (gain) out.push({ context, variant, dp, rate, baseline, gain });
    }
  }
  return out;
}

/** Rows grouped by (context, dp, rate) cell, keyed by the JSON of that triple, in first-seen order. */
function groupByCell(rows: readonly VerdictInputRow[]): Map<string, VerdictInputRow[]> {
  const cells = new Map<string, VerdictInputRow[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.context, r.dp, r.rate]);
    const c = cells.get(key);
    if (c) c.push(r);
    else cells.set(key, [r]);
  }
  return cells;
}
