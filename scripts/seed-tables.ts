// Tables of docs/seed-reproduction.md from sweep results:
//   npx tsx scripts/seed-tables.ts RESULTS.arrow [--timeseries TS.arrow] [--saturation]
// Rows are grouped into settings (model, dp, sync, topology and prefill pool, rate); within a setting, each router's relative
// change of throughput_tok_s and tpot_mean_ms against vllm_default is paired by seed (same request
// stream) and reported as mean and 95% t-interval.
// --timeseries adds the write-up's K-sweep metric, the mean over busy steps of (max − min) rank KV
// load, which no result column holds (`imbalance` is (max − mean) / mean, a ratio).
// --saturation prints each setting's mean req_per_s and 0.7 × it (the experiments' rate).
import { readArrowFile } from '../src/formats/arrowRead.ts';
import { mean, tInterval } from '../src/stats/stats.ts';

type Row = Record<string, unknown>;

const args = process.argv.slice(2);
const resultsPath = args[0];
if (!resultsPath || resultsPath.startsWith('-')) {
  process.stderr.write('usage: tsx scripts/seed-tables.ts RESULTS.arrow [--timeseries TS.arrow] [--saturation]\n');
  process.exit(2);
}
const tsIdx = args.indexOf('--timeseries');
const tsPath = tsIdx >= 0 ? args[tsIdx + 1] : undefined;
const saturation = args.includes('--saturation');

const rows = readArrowFile(resultsPath).rows();

/** Router label: name, plus K for fast_phi (the K sweep). */
function label(r: Row): string {
  const name = String(r.router);
  if (name === 'fast_phi' && r.knob_K !== undefined && r.knob_K !== null) return `fast_phi K=${String(r.knob_K)}`;
  return name;
}
function settingKey(r: Row): string {
  // A pd run's setting includes its prefill pool: colocated and pd rows never pair.
  const pd = r.topology === 'pd' ? ` topology=pd P=${String(r.prefill_instances)}` : '';
  return `model=${String(r.model)} dp=${String(r.dp)} sync=${String(r.sync)}${pd} rate=${Number(r.rate).toFixed(1)}`;
}
const fmt = (x: number | null, d = 1): string =>
  x === null || !Number.isFinite(x) ? '—' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (e: ReturnType<typeof tInterval>): string =>
  `${e.mean >= 0 ? '+' : ''}${fmt(100 * e.mean)}% [${fmt(e.lo === null ? null : 100 * e.lo)}, ${fmt(e.hi === null ? null : 100 * e.hi)}]`;

/** Mean over busy steps of (max − min) KV tokens across ranks, per configuration. */
function kvSpreadByConfig(path: string): Map<number, number> {
  const t = readArrowFile(path).table;
  const col = (n: string) => t.getChild(n)!.toArray() as ArrayLike<number>;
  const cfg = col('config_index');
  const step = col('step');
  const kv = col('kv_tokens');
  const stepUs = col('step_us');
  const sums = new Map<number, { spread: number; steps: number }>();
  let i = 0;
  const n = t.numRows;
  while (i < n) {
    let j = i;
    let lo = Infinity;
    let hi = -Infinity;
    while (j < n && cfg[j] === cfg[i] && step[j] === step[i]) {
      lo = Math.min(lo, kv[j]);
      hi = Math.max(hi, kv[j]);
      j++;
    }
    if (stepUs[i] > 0) {
      const s = sums.get(cfg[i]) ?? { spread: 0, steps: 0 };
      s.spread += hi - lo;
      s.steps += 1;
      sums.set(cfg[i], s);
    }
    i = j;
  }
  return new Map([...sums].map(([c, s]) => [c, s.spread / s.steps]));
}

const spread = tsPath ? kvSpreadByConfig(tsPath) : undefined;

const settings = new Map<string, Row[]>();
for (const r of rows) {
  const k = settingKey(r);
  settings.set(k, [...(settings.get(k) ?? []), r]);
}

for (const [key, rs] of settings) {
  process.stdout.write(`\n### ${key}\n\n`);
  if (saturation) {
    const rps = rs.map((r) => Number(r.req_per_s));
    const e = tInterval(rps);
    process.stdout.write(
      `saturation req_per_s mean ${fmt(e.mean, 2)} [${fmt(e.lo, 2)}, ${fmt(e.hi, 2)}] over ${e.n} seeds; ` +
        `tok/s ${fmt(mean(rs.map((r) => Number(r.throughput_tok_s))), 0)}; 0.7 x = ${fmt(0.7 * e.mean, 2)} req/s\n`,
    );
    continue;
  }
  const base = new Map<number, Row>();
  for (const r of rs) if (label(r) === 'vllm_default') base.set(Number(r.seed), r);
  const labels = [...new Set(rs.map(label))];
  const head = ['router', 'seeds', 'tok/s', 'tok/s vs vllm_default [95% CI]', 'TPOT mean ms', 'TPOT vs vllm_default [95% CI]', 'imbalance', 'idle_frac'];
  if (spread) head.push('mean (max−min) KV [95% CI]');
  process.stdout.write(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|\n`);
  for (const l of labels) {
    const mine = rs.filter((r) => label(r) === l);
    const tput = mean(mine.map((r) => Number(r.throughput_tok_s)));
    const paired = (col: string): number[] =>
      mine.filter((r) => base.has(Number(r.seed))).map((r) => Number(r[col]) / Number(base.get(Number(r.seed))![col]) - 1);
    const gains = paired('throughput_tok_s');
    const tpot = paired('tpot_mean_ms');
    const cells = [
      l,
      String(mine.length),
      fmt(tput, 0),
      l === 'vllm_default' || gains.length === 0 ? '—' : pct(tInterval(gains)),
      fmt(mean(mine.map((r) => Number(r.tpot_mean_ms))), 2),
      l === 'vllm_default' || tpot.length === 0 ? '—' : pct(tInterval(tpot)),
      fmt(mean(mine.map((r) => Number(r.imbalance))), 3),
      fmt(mean(mine.map((r) => Number(r.idle_frac))), 3),
    ];
    if (spread) {
      const e = tInterval(mine.map((r) => spread.get(Number(r.config_index)) ?? NaN));
      cells.push(`${fmt(e.mean, 0)} [${fmt(e.lo, 0)}, ${fmt(e.hi, 0)}]`);
    }
    process.stdout.write(`| ${cells.join(' | ')} |\n`);
  }
}
