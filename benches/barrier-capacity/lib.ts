// Capacity under an SLO of the barrier policies (docs/barrier-policies.md, "Capacity under an SLO"): for every sweep file
// (one per model), the SLO capacity of each policy (a `configs` entry) at each DP size and seed,
// paired by seed against vllm_default, then every policy once more at one common rate per
// (model, DP size) for the TTFT it costs there. Pure table building is separated from running so
// the test can check both on a tiny sweep.
import { loadSweepFile } from '../../src/config/expand.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import { parseSlo } from '../../src/capacity/slo.ts';
import { searchCapacity, withRate, type CapacityResult, type CapacityOptions } from '../../src/capacity/search.ts';
import { computeCapacityVerdict, type CapacityInputRow } from '../../src/capacity/verdict.ts';
import { mean, studentTQuantile, tInterval, type IntervalEstimate } from '../../src/stats/stats.ts';
import type { Engine } from '../../src/engine/types.ts';
import type { RunMetrics } from '../../src/metrics/types.ts';

/** Interactive-chat bounds (docs/barrier-policies.md, "Capacity under an SLO"). */
export const BARRIER_SLO = 'ttft_p95_ms=2000,tpot_p95_ms=100';
export const BASELINE = 'vllm_default';
/** The common rate of the TTFT table, as a fraction of vllm_default's mean capacity. */
export const COMMON_RATE_FRACTION = 0.8;

/**
 * The policy a configuration stands for: router, dispatch when it is not the router's own, and the
 * admission with its knobs. Generic on purpose: a new dispatch mode (`wave`) or admission gets a
 * label of its own without touching this file.
 */
export function policyLabel(sc: Scenario): string {
  const parts = [sc.router];
  const ownDispatch = sc.router === 'sorted_round_robin' ? 'per_step' : 'on_arrival';
  if (sc.dispatch !== ownDispatch) {
    // Wave dispatch has a timeout knob (wave_timeout_ms); read loosely so this file does not
    // depend on the field existing.
    const waveMs = (sc as unknown as { waveTimeoutMs?: number }).waveTimeoutMs;
    parts.push(`dispatch ${String(sc.dispatch)}${String(sc.dispatch) === 'wave' && waveMs !== undefined ? ` ${waveMs} ms` : ''}`);
  }
  if (sc.admission === 'adp_balance') parts.push(`adp_balance t=${sc.adpTimeoutIters} w=${sc.adpBatchingWaitIters}`);
  else if (sc.admission !== 'none') parts.push(`admission ${String(sc.admission)}`);
  return parts.join(' + ');
}

export interface BarrierOptions {
  files: string[];
  /** Keep only these DP sizes / seeds / policy labels (all when undefined). */
  dps?: number[];
  seeds?: number[];
  policies?: string[];
  tolerance: number;
  /** Arrival window per evaluation (default: each file's requests / rate). */
  window?: CapacityOptions['window'];
  slo?: string;
  log?: (s: string) => void;
}

export interface PolicyRun {
  model: string;
  dp: number;
  seed: number;
  policy: string;
  capacity: number;
  status: string;
  /** Metrics at the capacity. */
  atCapacity: RunMetrics;
  /** The common rate of its (model, dp) cell and the metrics there. */
  commonRate: number;
  atCommon: RunMetrics;
}

export interface BarrierResult {
  slo: string;
  tolerance: number;
  window: CapacityOptions['window'];
  runs: PolicyRun[];
  /** Policy labels in file order. */
  policies: string[];
  /** Arrival window (s) per model, for the settings line. */
  windows: Record<string, number>;
  simulations: number;
  simulatedRequests: number;
  stoppedEarly: number;
  wallMs: number;
}

/** Load the sweep files and keep the selected configurations. */
export function barrierConfigs(opts: Pick<BarrierOptions, 'files' | 'dps' | 'seeds' | 'policies'>): Scenario[] {
  const out: Scenario[] = [];
  for (const f of opts.files) {
    for (const sc of loadSweepFile(f).scenarios) {
      if (opts.dps && !opts.dps.includes(sc.dp)) continue;
      if (opts.seeds && !opts.seeds.includes(sc.workload.seed)) continue;
      if (opts.policies && !opts.policies.includes(policyLabel(sc))) continue;
      out.push({ ...sc, index: out.length });
    }
  }
  return out;
}

const cellKey = (model: string, dp: number) => `${model}\u0000${dp}`;

/** Round to 2 significant digits (a readable common rate). */
export function round2(x: number): number {
  if (!(x > 0)) return x;
  const p = Math.pow(10, Math.floor(Math.log10(x)) - 1);
  return Math.round(x / p) * p;
}

export async function runBarrierCapacity(engine: Engine, opts: BarrierOptions): Promise<BarrierResult> {
  const log = opts.log ?? (() => {});
  const configs = barrierConfigs(opts);
  if (configs.length === 0) throw new Error('barrier-capacity: no configuration selected');
  const sloText = opts.slo ?? BARRIER_SLO;
  const capOpts: CapacityOptions = { slo: parseSlo(sloText), tolerance: opts.tolerance, window: opts.window ?? 'base', earlyStop: true };
  const t0 = performance.now();
  const search = await searchCapacity(configs, (s) => engine.run(s), capOpts, (p) =>
    log(`capacity: round ${p.round}: ${p.pending}/${p.total} searching, ${p.simulations} simulations, ${((performance.now() - t0) / 1000).toFixed(0)} s`),
  );
  // The common rate of a (model, dp) cell: a fixed fraction of vllm_default's mean capacity there.
  const baseCaps = new Map<string, number[]>();
  search.results.forEach((r, i) => {
    const sc = configs[i];
    if (policyLabel(sc) !== BASELINE) return;
    const k = cellKey(sc.model, sc.dp);
    baseCaps.set(k, [...(baseCaps.get(k) ?? []), r.capacity]);
  });
  const commonOf = (sc: Scenario) => {
    const caps = baseCaps.get(cellKey(sc.model, sc.dp));
    // Without a vllm_default row in the cell, the cell's own mean capacity.
    const c = caps ? mean(caps) : mean(search.results.filter((_, i) => configs[i].model === sc.model && configs[i].dp === sc.dp).map((r) => r.capacity));
    return round2(COMMON_RATE_FRACTION * c);
  };
  const commonScs = configs.map((sc, i) => withRate(sc, commonOf(sc), i, capOpts.window));
  log(`common rate: ${commonScs.length} runs`);
  const common = await engine.run(commonScs);
  const wallMs = performance.now() - t0;
  const runs = configs.map((sc, i): PolicyRun => {
    const r: CapacityResult = search.results[i];
    return {
      model: sc.model,
      dp: sc.dp,
      seed: sc.workload.seed,
      policy: policyLabel(sc),
      capacity: r.capacity,
      status: r.status,
      atCapacity: r.metrics,
      commonRate: commonScs[i].workload.rate,
      atCommon: common[i].metrics,
    };
  });
  const windows: Record<string, number> = {};
  for (const sc of configs) {
    const w = capOpts.window;
    windows[sc.model] = typeof w === 'number' ? w : sc.workload.requests / sc.workload.rate;
  }
  return {
    slo: sloText,
    tolerance: opts.tolerance,
    window: capOpts.window,
    runs,
    policies: [...new Set(runs.map((r) => r.policy))],
    windows,
    simulations: search.simulations + commonScs.length,
    simulatedRequests: search.simulatedRequests + commonScs.reduce((s, c) => s + c.workload.requests, 0),
    stoppedEarly: search.stoppedEarly,
    wallMs,
  };
}

// ---- tables ----

const num = (x: number, d: number) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '—');
const signed = (x: number, d: number) => (Number.isFinite(x) ? `${x > 0 ? '+' : x < 0 ? '−' : '±'}${num(Math.abs(x), d)}` : '—');
const rateDigits = (x: number) => (x >= 100 ? 0 : x >= 10 ? 1 : 2);

function ci(e: IntervalEstimate | null, scale: number, d: number, withSign: boolean): string {
  if (!e || e.lo === null || e.hi === null) return '';
  const f = (x: number) => (withSign ? signed(scale * x, d) : num(scale * x, d));
  return ` [${f(e.lo)}, ${f(e.hi)}]`;
}

/** Paired differences per seed, policy − baseline, of a metric. */
function pairedDiff(runs: PolicyRun[], policy: string, pick: (r: PolicyRun) => number): IntervalEstimate | null {
  const base = new Map(runs.filter((r) => r.policy === BASELINE).map((r) => [r.seed, pick(r)]));
  const xs: number[] = [];
  for (const r of runs.filter((x) => x.policy === policy).sort((a, b) => a.seed - b.seed)) {
    const b = base.get(r.seed);
    if (b !== undefined && Number.isFinite(b) && Number.isFinite(pick(r))) xs.push(pick(r) - b);
  }
  return xs.length ? tInterval(xs) : null;
}

export function barrierTables(res: BarrierResult): string {
  const models = [...new Set(res.runs.map((r) => r.model))];
  const seeds = [...new Set(res.runs.map((r) => r.seed))].sort((a, b) => a - b);
  const out: string[] = [];
  const windows = Object.entries(res.windows).map(([m, w]) => `${m} ${num(w, 0)} s`).join(', ');
  out.push(
    `SLO \`${res.slo}\`; tolerance ${num(100 * res.tolerance, 1)}% (final bracket hi − lo ≤ tolerance · lo); ` +
      `arrival window per evaluation: ${windows}; seeds ${seeds.join(', ')} (${seeds.length}); CPU engine. ` +
      `Intervals: 95% Student-t over seeds of the per-seed paired difference (same request stream per seed), ` +
      `t(0.975, ${seeds.length - 1}) = ${seeds.length > 1 ? num(studentTQuantile(0.975, seeds.length - 1), 3) : '—'}. ` +
      `${res.simulations.toLocaleString('en-US')} simulations (${res.stoppedEarly.toLocaleString('en-US')} stopped early), ` +
      `${res.simulatedRequests.toLocaleString('en-US')} simulated requests, ${num(res.wallMs / 1000, 0)} s wall.`,
    '',
  );
  for (const model of models) {
    const mr = res.runs.filter((r) => r.model === model);
    const dps = [...new Set(mr.map((r) => r.dp))].sort((a, b) => a - b);
    const rows: CapacityInputRow[] = mr.map((r) => ({ variant: r.policy, router: r.policy, context: '', dp: r.dp, seed: r.seed, capacity: r.capacity, status: r.status }));
    const cells = computeCapacityVerdict(rows, { baselineRouter: BASELINE, variantOrder: res.policies });
    out.push(`### ${model}: capacity (req/s) and paired gain over ${BASELINE}`, '');
    out.push(`| policy | ${dps.map((g) => `G = ${g}: capacity | G = ${g}: gain`).join(' | ')} |`);
    out.push(`|---|${dps.map(() => '---:|---:').join('|')}|`);
    for (const p of res.policies) {
      const cols: string[] = [];
      for (const g of dps) {
        const v = cells.find((c) => c.dp === g)?.variants.find((x) => x.variant === p);
        if (!v) {
          cols.push('', '');
          continue;
        }
        const d = rateDigits(v.capacity.mean);
        const flags = [v.belowMin ? `${v.belowMin} below min` : '', v.atMax ? `${v.atMax} at max` : ''].filter(Boolean).join(', ');
        cols.push(`${num(v.capacity.mean, d)}${ci(v.capacity, 1, d, false)}${flags ? ` (${flags})` : ''}`);
        cols.push(
          v.gainRel ? `${signed(100 * v.gainRel.mean, 1)}%${ci(v.gainRel, 100, 1, true)}` : v.variant === BASELINE ? '—' : '',
        );
      }
      out.push(`| ${p} | ${cols.join(' | ')} |`);
    }
    out.push('');
    // What binds at capacity, and the balance the policy reaches there.
    out.push(`### ${model}: at capacity (means over seeds)`, '');
    out.push(`| policy | ${dps.map((g) => `G = ${g}: TTFT p95 / TPOT p95 ms`).join(' | ')} | ${dps.map((g) => `G = ${g}: idle / token balance`).join(' | ')} |`);
    out.push(`|---|${dps.map(() => '---:').join('|')}|${dps.map(() => '---:').join('|')}|`);
    for (const p of res.policies) {
      const a: string[] = [];
      const b: string[] = [];
      for (const g of dps) {
        const rs = mr.filter((r) => r.policy === p && r.dp === g);
        a.push(rs.length ? `${num(mean(rs.map((r) => r.atCapacity.ttft_p95_ms)), 0)} / ${num(mean(rs.map((r) => r.atCapacity.tpot_p95_ms)), 1)}` : '');
        b.push(rs.length ? `${num(mean(rs.map((r) => r.atCapacity.idle_frac)), 3)} / ${num(mean(rs.map((r) => r.atCapacity.token_balance_ratio)), 3)}` : '');
      }
      out.push(`| ${p} | ${a.join(' | ')} | ${b.join(' | ')} |`);
    }
    out.push('');
    // TTFT (and TPOT) at a common rate.
    const rates = dps.map((g) => mr.find((r) => r.dp === g)!.commonRate);
    out.push(
      `### ${model}: TTFT p95 at a common rate (${num(100 * COMMON_RATE_FRACTION, 0)}% of ${BASELINE}'s mean capacity: ` +
        dps.map((g, i) => `G = ${g}: ${num(rates[i], rateDigits(rates[i]))} req/s`).join(', ') + ')',
      '',
    );
    out.push(`| policy | ${dps.map((g) => `G = ${g}: TTFT p95 ms | G = ${g}: Δ vs ${BASELINE} ms | G = ${g}: TPOT p95 ms | G = ${g}: SLO met`).join(' | ')} |`);
    out.push(`|---|${dps.map(() => '---:|---:|---:|---:').join('|')}|`);
    for (const p of res.policies) {
      const cols: string[] = [];
      for (const g of dps) {
        const cellRuns = mr.filter((r) => r.dp === g);
        const rs = cellRuns.filter((r) => r.policy === p);
        if (!rs.length) {
          cols.push('', '', '', '');
          continue;
        }
        const ttft = mean(rs.map((r) => r.atCommon.ttft_p95_ms));
        const d = p === BASELINE ? null : pairedDiff(cellRuns, p, (r) => r.atCommon.ttft_p95_ms);
        const met = rs.filter((r) => r.atCommon.ttft_p95_ms <= sloBound(res.slo, 'ttft_p95_ms') && r.atCommon.tpot_p95_ms <= sloBound(res.slo, 'tpot_p95_ms')).length;
        cols.push(num(ttft, 0), d ? `${signed(d.mean, 0)}${ci(d, 1, 0, true)}` : '—', num(mean(rs.map((r) => r.atCommon.tpot_p95_ms)), 1), `${met}/${rs.length}`);
      }
      out.push(`| ${p} | ${cols.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function sloBound(slo: string, metric: string): number {
  const b = parseSlo(slo).bounds.find((x) => x.metric === metric);
  return b ? b.bound : Infinity;
}
