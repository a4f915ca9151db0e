/**
 * The fidelity suite's data handling: read a replayable vLLM run (LLMServingSim's bench format)
 * and LLMServingSim's own simulated outputs of it, turn per-request timestamps into TTFT / TPOT /
 * E2E with the conventions of LLMServingSim's `bench/core/validate.py`, and build the comparison
 * table. Pure functions over files and arrays; benches/fidelity.ts runs the simulations.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One request of a measured run (seconds; engine timestamps share one monotonic clock). */
export interface MeasuredRequest {
  index: number;
  input: number;
  output: number;
  /** Front end's wall clock (vLLM `arrival_time`), s. */
  arrival: number;
  queued: number;
  scheduled: number;
  first: number;
  last: number;
}

export interface MeasuredRun {
  meta: VllmMeta;
  requests: MeasuredRequest[];
  timeseries: TimeRow[];
}

export interface VllmMeta {
  model: string;
  vllmVersion: string;
  tp: number;
  dp: number;
  expertParallel: boolean;
  maxNumSeqs: number;
  maxBatchedTokens: number;
  /** KV blocks vLLM allocated (only where the run recorded it). */
  numGpuBlocks?: number;
  blockSize?: number;
  /** `scheduler_config.async_scheduling` of the resolved config, where recorded. */
  asyncScheduling?: boolean;
  enablePrefixCaching?: boolean;
}

/** One row of a per-second series: throughputs in tokens/s, running and waiting requests. */
export interface TimeRow {
  t: number;
  prompt: number;
  gen: number;
  running: number;
  waiting: number;
}

/** Per-request latencies in ms, in request order (NaN where a request has no value). */
export interface Latencies {
  ttft: number[];
  tpot: number[];
  e2e: number[];
}

function fail(path: string, msg: string): never {
  throw new Error(`${path}: ${msg}`);
}

function num(v: unknown, path: string, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `${what} must be a number (got ${JSON.stringify(v)})`);
  return v;
}

export function readVllmMeta(path: string): VllmMeta {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
  const e = doc.engine_kwargs ?? fail(path, 'no engine_kwargs');
  const kv = doc.kv_cache ?? {};
  const sched = doc.resolved_config?.scheduler_config ?? {};
  return {
    model: String(doc.model),
    vllmVersion: String(doc.vllm_version),
    tp: num(e.tensor_parallel_size, path, 'tensor_parallel_size'),
    dp: num(e.data_parallel_size, path, 'data_parallel_size'),
    expertParallel: e.enable_expert_parallel === true,
    maxNumSeqs: num(e.max_num_seqs, path, 'max_num_seqs'),
    maxBatchedTokens: num(e.max_num_batched_tokens, path, 'max_num_batched_tokens'),
    numGpuBlocks: typeof kv.num_gpu_blocks === 'number' ? kv.num_gpu_blocks : undefined,
    blockSize: typeof kv.block_size === 'number' ? kv.block_size : undefined,
    asyncScheduling: typeof sched.async_scheduling === 'boolean' ? sched.async_scheduling : undefined,
    enablePrefixCaching: typeof kv.enable_prefix_caching === 'boolean' ? kv.enable_prefix_caching : undefined,
  };
}

/** requests.jsonl: one JSON object per line with vLLM's RequestStateStats timestamps. */
export function readVllmRequests(path: string): MeasuredRequest[] {
  const out: MeasuredRequest[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const r = JSON.parse(line) as Record<string, unknown>;
      const where = `${path}:${i + 1}`;
      const id = String(r.request_id ?? '');
      const m = /(\d+)$/.exec(id) ?? fail(where, `request_id ${JSON.stringify(id)} has no index`);
      out.push({
        index: Number(m[1]),
        input: num(r.input_toks, where, 'input_toks'),
        output: num(r.output_toks, where, 'output_toks'),
        arrival: num(r.arrival_time, where, 'arrival_time'),
        queued: num(r.queued_ts, where, 'queued_ts'),
        scheduled: num(r.scheduled_ts, where, 'scheduled_ts'),
        first: num(r.first_token_ts, where, 'first_token_ts'),
        last: num(r.last_token_ts, where, 'last_token_ts'),
      });
    });
  out.sort((a, b) => a.index - b.index);
  out.forEach((r, i) => r.index !== i && fail(path, `request indices are not 0..${out.length - 1} (missing ${i})`));
  return out;
}

/** A CSV of numbers with a header (timeseries.csv, LLMServingSim's reduced requests.csv). */
export function readNumericCsv(path: string): Record<string, number>[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = lines[0].split(',').map((h) => h.trim());
  return lines.slice(1).map((l, i) => {
    const cells = l.split(',');
    if (cells.length !== header.length) fail(path, `line ${i + 2}: expected ${header.length} cells`);
    return Object.fromEntries(header.map((h, j) => [h, num(Number(cells[j]), `${path}:${i + 2}`, h)]));
  });
}

export function readTimeRows(path: string): TimeRow[] {
  return readNumericCsv(path).map((r) => ({
    t: r.t,
    prompt: r.prompt_throughput,
    gen: r.gen_throughput,
    running: r.running,
    waiting: r.waiting,
  }));
}

export function readMeasuredRun(dir: string): MeasuredRun {
  return {
    meta: readVllmMeta(join(dir, 'vllm', 'meta.json')),
    requests: readVllmRequests(join(dir, 'vllm', 'requests.jsonl')),
    timeseries: readTimeRows(join(dir, 'vllm', 'timeseries.csv')),
  };
}

/**
 * The measured latencies, as LLMServingSim's validate.py computes them: its `arrival_time` is the
 * front end's wall clock while the other stamps are the engine's monotonic clock, so it anchors
 * on `queued_ts`: TTFT = first − queued, E2E = last − queued, TPOT = (last − first) / (o − 1)
 * for o > 1. Engine-anchored (from the first step boundary after arrival; no HTTP time).
 */
export function measuredLatencies(reqs: readonly MeasuredRequest[]): Latencies {
  return {
    ttft: reqs.map((r) => (r.first - r.queued) * 1e3),
    tpot: reqs.map((r) => (r.output > 1 ? ((r.last - r.first) / (r.output - 1)) * 1e3 : NaN)),
    e2e: reqs.map((r) => (r.last - r.queued) * 1e3),
  };
}

/**
 * The engine's split of TTFT (vLLM's `request_queue_time` and `request_prefill_time`): queue =
 * scheduled − queued, prefill service = first token − scheduled, ms.
 */
export function measuredComponents(reqs: readonly MeasuredRequest[]): { queue: number[]; prefill: number[] } {
  return {
    queue: reqs.map((r) => (r.scheduled - r.queued) * 1e3),
    prefill: reqs.map((r) => (r.first - r.scheduled) * 1e3),
  };
}

/**
 * LLMServingSim's simulated latencies from its per-request output (ns columns), as its
 * validate.py reads them: TTFT, TPOT and latency columns (TTFT from its arrival, including
 * queueing). Returned in request order.
 */
export function llmServingSimLatencies(path: string, n: number): Latencies {
  const rows = readNumericCsv(path);
  const out: Latencies = { ttft: new Array(n).fill(NaN), tpot: new Array(n).fill(NaN), e2e: new Array(n).fill(NaN) };
  for (const r of rows) {
    const i = r.request_id;
    if (!(i >= 0 && i < n)) fail(path, `request_id ${i} outside 0..${n - 1}`);
    out.ttft[i] = r.TTFT / 1e6;
    out.tpot[i] = r.output > 1 ? r.TPOT / 1e6 : NaN;
    out.e2e[i] = r.latency / 1e6;
  }
  return out;
}

// ---- statistics (validate.py's conventions) ----

/** Linear interpolation between order statistics, index q/100 * (n − 1): validate.py's `_percentile` (and NumPy's default). */
export function percentile(xs: readonly number[], q: number): number {
  const s = xs.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const idx = (q / 100) * (s.length - 1);
  const lo = Math.floor(idx);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] * (1 - (idx - lo)) + s[hi] * (idx - lo);
}

export function mean(xs: readonly number[]): number {
  const f = xs.filter((v) => Number.isFinite(v));
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
}

export const METRICS = ['ttft', 'tpot', 'e2e'] as const;
export type Metric = (typeof METRICS)[number];
export const STATS = ['mean', 'p50', 'p90'] as const;
export type Stat = (typeof STATS)[number];
export const METRIC_LABEL: Record<Metric, string> = { ttft: 'TTFT', tpot: 'TPOT', e2e: 'E2E' };

export function statOf(xs: readonly number[], s: Stat): number {
  return s === 'mean' ? mean(xs) : percentile(xs, s === 'p50' ? 50 : 90);
}

/** One line of the table: a run's statistic, measured and simulated by both simulators. */
export interface TableRow {
  run: string;
  role: string;
  metric: Metric;
  stat: Stat;
  measured: number;
  ours: number;
  peer: number;
  /** (sim − measured) / measured. */
  oursErr: number;
  peerErr: number;
}

const rel = (sim: number, meas: number) => (sim - meas) / meas;

/** The table rows of one run (every metric x statistic). `peer` may be absent (NaN columns). */
export function tableRows(run: string, role: string, measured: Latencies, ours: Latencies, peer?: Latencies): TableRow[] {
  const rows: TableRow[] = [];
  for (const metric of METRICS) {
    for (const stat of STATS) {
      const m = statOf(measured[metric], stat);
      const o = statOf(ours[metric], stat);
      const p = peer ? statOf(peer[metric], stat) : NaN;
      rows.push({ run, role, metric, stat, measured: m, ours: o, peer: p, oursErr: rel(o, m), peerErr: rel(p, m) });
    }
  }
  return rows;
}

const fmtMs = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '-');
export const fmtPct = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%` : '-');

/** The table as GitHub markdown: one row per run x metric x statistic; "closer" says which simulator is nearer. */
export function markdownTable(rows: readonly TableRow[]): string {
  const out = [
    '| run | role | metric | measured ms | ours ms | ours err | LLMServingSim ms | LLMServingSim err | closer |',
    '|---|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const closer = !Number.isFinite(r.peerErr) ? '' : Math.abs(r.oursErr) < Math.abs(r.peerErr) ? 'ours' : Math.abs(r.oursErr) > Math.abs(r.peerErr) ? 'LLMServingSim' : 'tie';
    out.push(
      `| ${r.run} | ${r.role} | ${METRIC_LABEL[r.metric]} ${r.stat} | ${fmtMs(r.measured)} | ${fmtMs(r.ours)} | ${fmtPct(r.oursErr)} | ${fmtMs(r.peer)} | ${fmtPct(r.peerErr)} | ${closer} |`,
    );
  }
  return out.join('\n');
}

/** Mean TTFT / TPOT / E2E error per run, both simulators, the nearer one in bold. */
export function meanSummary(rows: readonly TableRow[]): string {
  const runs = [...new Set(rows.map((r) => r.run))];
  const out = ['| run | role | TTFT ours | TTFT LLMServingSim | TPOT ours | TPOT LLMServingSim | E2E ours | E2E LLMServingSim |', '|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const run of runs) {
    const cells = METRICS.map((m) => {
      const r = rows.find((x) => x.run === run && x.metric === m && x.stat === 'mean')!;
      const oursBetter = Math.abs(r.oursErr) < Math.abs(r.peerErr);
      const peerBetter = Math.abs(r.peerErr) < Math.abs(r.oursErr);
      return `${oursBetter ? `**${fmtPct(r.oursErr)}**` : fmtPct(r.oursErr)} | ${peerBetter ? `**${fmtPct(r.peerErr)}**` : fmtPct(r.peerErr)}`;
    });
    out.push(`| ${run} | ${rows.find((x) => x.run === run)!.role} | ${cells.join(' | ')} |`);
  }
  return out.join('\n');
}

/** Mean TTFT split (queue wait, prefill service) per run: measured and ours, ms. */
export interface ComponentRow {
  run: string;
  queue: { measured: number; ours: number };
  prefill: { measured: number; ours: number };
}

export function componentTable(rows: readonly ComponentRow[]): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
  const e = (o: number, m: number) => fmtPct((o - m) / m);
  return [
    '| run | queue wait measured | ours | err | prefill service measured | ours | err |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.run} | ${f(r.queue.measured)} | ${f(r.queue.ours)} | ${e(r.queue.ours, r.queue.measured)} | ${f(r.prefill.measured)} | ${f(r.prefill.ours)} | ${e(r.prefill.ours, r.prefill.measured)} |`),
  ].join('\n');
}

/** The same as fixed-width text for the terminal. */
export function textTable(rows: readonly TableRow[]): string {
  const head = ['run', 'role', 'metric', 'measured', 'ours', 'err', 'LLMServingSim', 'err'];
  const body = rows.map((r) => [r.run, r.role, `${METRIC_LABEL[r.metric]} ${r.stat}`, fmtMs(r.measured), fmtMs(r.ours), fmtPct(r.oursErr), fmtMs(r.peer), fmtPct(r.peerErr)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** Replace the text between `<!-- BEGIN name -->` and `<!-- END name -->` (markers kept). */
export function replaceBetweenMarkers(doc: string, name: string, content: string): string {
  const begin = `<!-- BEGIN ${name} -->`;
  const end = `<!-- END ${name} -->`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error(`markers ${begin} ... ${end} not found`);
  return doc.slice(0, i + begin.length) + '\n' + content.trim() + '\n' + doc.slice(j);
}

/**
 * Generation throughput per 1-s bin from per-request first-token and end times (s from the run's
 * start): the first token at `first`, the other o − 1 spread evenly over (first, end]. The
 * simulator logs no per-token times; within a request its decode steps are near-uniform.
 */
export function genThroughputBins(first: readonly number[], end: readonly number[], output: readonly number[], binS = 1): { t: number; gen: number }[] {
  const last = Math.max(0, ...end.filter((v) => Number.isFinite(v)));
  const n = Math.ceil(last / binS) + 1;
  const bins = new Float64Array(n);
  for (let i = 0; i < first.length; i++) {
    if (!Number.isFinite(first[i]) || !Number.isFinite(end[i])) continue;
    bins[Math.min(n - 1, Math.floor(first[i] / binS))] += 1;
    const rest = output[i] - 1;
    if (rest <= 0) continue;
    const dt = (end[i] - first[i]) / rest;
    for (let k = 1; k <= rest; k++) bins[Math.min(n - 1, Math.floor((first[i] + k * dt) / binS))] += 1;
  }
  return [...bins].map((v, i) => ({ t: (i + 1) * binS, gen: v / binS }));
}
