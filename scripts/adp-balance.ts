// Tables of docs/barrier-policies.md: TensorRT-LLM's published ADP Balance experiment (DeepSeek-V3
// on 8 GB200, tech blog 10) simulated with the CPU engine, beside the published figures.
//   npm run repro:adp               # runs whichever of the three sweeps has no result yet, then prints
//   npm run repro:adp -- --rerun    # runs all three again
// The phase table re-steps seeds 1-3 of the main sweep on the engine core (a few minutes) to split
// each run into its context phase (up to the last step with a prefill) and its drain tail.
// The sweeps are examples/adp-balance-gb200{,-ttft,-sensitivity}.yaml; results go to results/.
// Gains are paired by seed (the three policies see the same request stream): per seed
// policy / baseline, then mean and 95% Student-t interval over the seeds.
import { existsSync, mkdirSync } from 'node:fs';
import { main } from '../src/cli.ts';
import { loadSweepFile } from '../src/config/expand.ts';
import { EngineCore } from '../src/engine/core/index.ts';
import { resolveStepModel } from '../src/model/presets.ts';
import type { Scenario } from '../src/config/scenario.ts';
import { readArrowFile } from '../src/formats/arrowRead.ts';
import { mean, tInterval } from '../src/stats/stats.ts';
import { getWorkload } from '../src/workload/build.ts';

type Row = Record<string, unknown>;

/** NVIDIA TensorRT-LLM tech blog 10, "Performance Summary" table. */
const PUBLISHED: Record<string, { tps: number; balance: number; sol: number; speedup: string }> = {
  baseline: { tps: 25_664, balance: 0.5411, sol: 39_552, speedup: '1.00×' },
  context_wait: { tps: 33_499, balance: 0.8433, sol: 38_312, speedup: '1.31×' },
  full: { tps: 34_140, balance: 0.877, sol: 37_912, speedup: '1.33×' },
};
const POLICIES = ['baseline', 'context_wait', 'full'] as const;
const LABEL: Record<string, string> = {
  baseline: 'Baseline: sorted round robin',
  context_wait: 'Context wait (`timeout_iters` 50)',
  full: 'Full strategy (+ `batching_wait_iters` 10)',
};

const SWEEPS = ['adp-balance-gb200', 'adp-balance-gb200-ttft', 'adp-balance-gb200-sensitivity'];
const rerun = process.argv.includes('--rerun');
mkdirSync('results', { recursive: true });
for (const name of SWEEPS) {
  const out = `results/${name}.arrow`;
  if (existsSync(out) && !rerun) continue;
  process.stderr.write(`running examples/${name}.yaml -> ${out}\n`);
  const code = await main(['node', 'balanceroute', 'sweep', `examples/${name}.yaml`, '--engine', 'cpu', '-o', out]);
  if (code !== 0) process.exit(code);
}

function policyOf(r: Row): string {
  if (r.admission === 'none') return 'baseline';
  return Number(r.adp_batching_wait_iters) > 0 ? 'full' : 'context_wait';
}
const fmt = (x: number, d = 0): string =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '—';
const ci = (xs: number[], scale = 1, d = 0): string => {
  const e = tInterval(xs);
  if (e.lo === null || e.hi === null) return fmt(e.mean * scale, d);
  return `${fmt(e.mean * scale, d)} [${fmt(e.lo * scale, d)}, ${fmt(e.hi * scale, d)}]`;
};
const times = (xs: number[]): string => {
  const e = tInterval(xs);
  return e.lo === null || e.hi === null ? `${fmt(e.mean, 3)}×` : `${fmt(e.mean, 3)}× [${fmt(e.lo, 3)}, ${fmt(e.hi, 3)}]`;
};

/** Rows of one sweep, each with its scenario (for the prompt tokens of the total TPS). */
function load(name: string): { rows: Row[]; scenarios: Scenario[] } {
  return { rows: readArrowFile(`results/${name}.arrow`).rows() as Row[], scenarios: loadSweepFile(`examples/${name}.yaml`).scenarios };
}

const promptSums = new Map<string, number>();
/** Input tokens of the requests a configuration completed (every request, when none failed). */
function inputTokens(r: Row, sc: Scenario): number {
  if (Number(r.completed) !== Number(r.requests)) return NaN;
  const key = JSON.stringify(sc.workload);
  let s = promptSums.get(key);
  if (s === undefined) {
    s = 0;
    for (const p of getWorkload(sc.workload).prompt) s += p;
    promptSums.set(key, s);
  }
  return s;
}

/** Per-seed ratio of a metric against the baseline of the same seed and group. */
function paired(rows: Row[], policy: string, metric: (r: Row) => number): number[] {
  const out: number[] = [];
  for (const r of rows.filter((x) => policyOf(x) === policy)) {
    const b = rows.find((x) => policyOf(x) === 'baseline' && x.seed === r.seed);
    if (b) out.push(metric(r) / metric(b));
  }
  return out;
}

const w = (s: string) => process.stdout.write(s);

// ---- Table 1: the published experiment ----
{
  const { rows, scenarios } = load('adp-balance-gb200');
  const total = (r: Row) => (Number(r.output_tokens) + inputTokens(r, scenarios[Number(r.config_index)])) / Number(r.makespan_s);
  const seeds = new Set(rows.map((r) => r.seed)).size;
  w(`\n### Throughput and balance (${seeds} seeds, mean [95% CI])\n\n`);
  w('| configuration | output tok/s | total tok/s | speedup (output tok/s, paired) | token balance ratio | published TPS | published balance | published speedup |\n');
  w('|---|---|---|---|---|---|---|---|\n');
  for (const p of POLICIES) {
    const rs = rows.filter((r) => policyOf(r) === p);
    const pub = PUBLISHED[p];
    const speed = p === 'baseline' ? '1.00×' : times(paired(rows, p, (r) => Number(r.throughput_tok_s)));
    w(`| ${LABEL[p]} | ${ci(rs.map((r) => Number(r.throughput_tok_s)))} | ${ci(rs.map(total))} | ${speed} | ${ci(rs.map((r) => Number(r.token_balance_ratio)), 100, 1)}% | ${fmt(pub.tps)} | ${fmt(100 * pub.balance, 2)}% | ${pub.speedup} |\n`);
  }
  w('\n| configuration | iterations | makespan s | idle_frac | TTFT p50 s | TTFT p95 s | TPOT mean ms | preempted |\n|---|---|---|---|---|---|---|---|\n');
  for (const p of POLICIES) {
    const rs = rows.filter((r) => policyOf(r) === p);
    const m = (k: string, s = 1) => mean(rs.map((r) => Number(r[k]) * s));
    w(`| ${LABEL[p]} | ${fmt(m('steps'))} | ${fmt(m('makespan_s'))} | ${fmt(m('idle_frac'), 3)} | ${fmt(m('ttft_p50_ms', 1e-3), 0)} | ${fmt(m('ttft_p95_ms', 1e-3), 0)} | ${fmt(m('tpot_mean_ms'), 1)} | ${fmt(m('preempted'))} |\n`);
  }
}

// ---- Table 2: TTFT below saturation ----
{
  const { rows } = load('adp-balance-gb200-ttft');
  const seeds = new Set(rows.map((r) => r.seed)).size;
  w(`\n### Below saturation: Poisson arrivals at ${fmt(Number(rows[0].rate), 0)} req/s (${seeds} seeds, mean)\n\n`);
  w('| configuration | output tok/s | TTFT mean ms | TTFT p50 ms | TTFT p95 ms | TTFT p95 vs baseline (paired) | TPOT mean ms | TPOT mean vs baseline | token balance ratio |\n');
  w('|---|---|---|---|---|---|---|---|---|\n');
  for (const p of POLICIES) {
    const rs = rows.filter((r) => policyOf(r) === p);
    const m = (k: string) => mean(rs.map((r) => Number(r[k])));
    const ttft = p === 'baseline' ? '—' : times(paired(rows, p, (r) => Number(r.ttft_p95_ms)));
    const tpot = p === 'baseline' ? '—' : times(paired(rows, p, (r) => Number(r.tpot_mean_ms)));
    w(`| ${LABEL[p]} | ${fmt(m('throughput_tok_s'))} | ${fmt(m('ttft_mean_ms'))} | ${fmt(m('ttft_p50_ms'))} | ${fmt(m('ttft_p95_ms'))} | ${ttft} | ${fmt(m('tpot_mean_ms'), 1)} | ${tpot} | ${fmt(100 * m('token_balance_ratio'), 1)}% |\n`);
  }
}

// ---- Table 3: sensitivity to the settings the blog leaves open ----
{
  const { rows } = load('adp-balance-gb200-sensitivity');
  const variant = (r: Row): string => {
    if (Number(r.max_batched_tokens) !== 8192) return `token budget ${fmt(Number(r.max_batched_tokens))} (contexts chunked)`;
    if (!String(r.model).endsWith('fp8kv.json')) return 'BF16 KV cache (the `deepseek-v3-gb200` preset)';
    if (Number(r.max_num_seqs) !== 384) return `${fmt(Number(r.max_num_seqs))} requests per rank`;
    const sigma = (JSON.parse(String(r.output_dist)) as { sigma: number }).sigma;
    return `output lognormal σ ${sigma}`;
  };
  const groups = new Map<string, Row[]>();
  for (const r of rows) groups.set(variant(r), [...(groups.get(variant(r)) ?? []), r]);
  const seeds = new Set(rows.map((r) => r.seed)).size;
  w(`\n### Sensitivity (one change to the main experiment each, ${seeds} seeds, mean)\n\n`);
  w('| change | baseline output tok/s | context wait speedup | full strategy speedup | token balance ratio (baseline / context wait / full) | preempted (baseline / context wait / full) |\n');
  w('|---|---|---|---|---|---|\n');
  for (const [name, rs] of groups) {
    const by = (p: string) => rs.filter((r) => policyOf(r) === p);
    const m = (p: string, k: string, s = 1) => mean(by(p).map((r) => Number(r[k]) * s));
    const sp = (p: string) => times(paired(rs, p, (r) => Number(r.throughput_tok_s)));
    w(`| ${name} | ${fmt(m('baseline', 'throughput_tok_s'))} | ${sp('context_wait')} | ${sp('full')} | ${POLICIES.map((p) => fmt(m(p, 'token_balance_ratio', 100), 1) + '%').join(' / ')} | ${POLICIES.map((p) => fmt(m(p, 'preempted'))).join(' / ')} |\n`);
  }
}

// ---- Table 4: context phase and drain tail (re-stepped on the engine core) ----
{
  interface Phase { ctxSteps: number; ctxS: number; ctxTokS: number; ctxBal: number; tailSteps: number; tailS: number; tailBal: number; solTokS: number; ctxBalTime: number }
  /** Step a scenario on the core; split at the last step in which some rank prefilled. */
  const phases = (sc: Scenario): Phase => {
    const wl = getWorkload(sc.workload);
    const core = new EngineCore(sc, resolveStepModel(sc.model));
    const G = sc.dp;
    const bal: number[] = [];
    const durs: number[] = [];
    const ends: number[] = [];
    const decodes: number[] = [];
    let lastPrefill = -1;
    // The blog's speed-of-light time: every iteration's time scaled by its balance ratio.
    let solUs = 0;
    let k = 0;
    let now = 0;
    while (!(core.done() && k === wl.n)) {
      while (k < wl.n && wl.arrivalUs[k] <= now) {
        core.submit({ promptTokens: wl.prompt[k], outputTokens: wl.output[k], arrivalUs: wl.arrivalUs[k] });
        k++;
      }
      const dur = core.beginStep(now);
      if (dur === 0) {
        now = wl.arrivalUs[k];
        continue;
      }
      let sum = 0;
      let max = 0;
      let dec = 0;
      let prefill = false;
      for (let g = 0; g < G; g++) {
        const s = core.lastStepOf(g);
        sum += s.tokens;
        if (s.tokens > max) max = s.tokens;
        dec += s.decodes;
        if (s.tokens > s.decodes) prefill = true;
      }
      if (prefill) lastPrefill = bal.length;
      bal.push(sum / G / max);
      solUs += (dur * sum) / G / max;
      durs.push(dur);
      decodes.push(dec);
      now += dur;
      ends.push(now);
      core.endStep(now);
    }
    const cut = lastPrefill + 1;
    const ctxEnd = ends[lastPrefill];
    let firsts = 0;
    for (let r = 0; r < wl.n; r++) if (core.st.firstUs[r] >= 0 && core.st.firstUs[r] <= ctxEnd) firsts++;
    const sumOf = (a: number[]) => a.reduce((x, y) => x + y, 0);
    return {
      ctxSteps: cut,
      ctxS: ctxEnd / 1e6,
      // Every decode scheduled in the phase emits a token; each first token ends a prefill.
      ctxTokS: (sumOf(decodes.slice(0, cut)) + firsts) / (ctxEnd / 1e6),
      ctxBal: sumOf(bal.slice(0, cut)) / cut,
      // Weighted by step time from iteration 100, like the blog's window of iterations 100-12,000.
      ctxBalTime: sumOf(bal.slice(100, cut).map((b, i) => b * durs[100 + i])) / sumOf(durs.slice(100, cut)),
      tailSteps: bal.length - cut,
      tailS: (ends[ends.length - 1] - ctxEnd) / 1e6,
      tailBal: bal.length > cut ? sumOf(bal.slice(cut)) / (bal.length - cut) : NaN,
      // sol_tps = elapsed / sol_time x actual output tok/s (blog 10, "Speed-of-Light Throughput").
      solTokS: (ends[ends.length - 1] / solUs) * (sumOf(Array.from(wl.output)) / (ends[ends.length - 1] / 1e6)),
    };
  };
  const { scenarios } = load('adp-balance-gb200');
  const chosen = scenarios.filter((s) => s.workload.seed <= 3);
  const res = chosen.map((sc) => ({ policy: policyOf({ admission: sc.admission, adp_batching_wait_iters: sc.adpBatchingWaitIters }), seed: sc.workload.seed, ph: phases(sc) }));
  w('\n### Context phase and drain tail (seeds 1-3, mean)\n\n');
  w('| configuration | context phase: iterations | s | output tok/s | speedup (paired) | token balance ratio | same, time-weighted from iteration 100 | drain tail: iterations | s | token balance ratio | SOL output tok/s (whole run) |\n');
  w('|---|---|---|---|---|---|---|---|---|---|---|\n');
  for (const p of POLICIES) {
    const rs = res.filter((x) => x.policy === p);
    const m = (f: (x: Phase) => number) => mean(rs.map((x) => f(x.ph)));
    const ratios = rs.map((x) => x.ph.ctxTokS / res.find((b) => b.policy === 'baseline' && b.seed === x.seed)!.ph.ctxTokS);
    w(`| ${LABEL[p]} | ${fmt(m((x) => x.ctxSteps))} | ${fmt(m((x) => x.ctxS))} | ${fmt(m((x) => x.ctxTokS))} | ${p === 'baseline' ? '1.00×' : times(ratios)} | ${fmt(100 * m((x) => x.ctxBal), 1)}% | ${fmt(100 * m((x) => x.ctxBalTime), 1)}% | ${fmt(m((x) => x.tailSteps))} | ${fmt(m((x) => x.tailS))} | ${fmt(100 * m((x) => x.tailBal), 1)}% | ${fmt(m((x) => x.solTokS))} |\n`);
  }
}
