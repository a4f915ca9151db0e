/**
 * What a load run leaves behind:
 * - the per-request Arrow log (MEASURED_FORMAT; its time and length columns carry the names of
 *   the simulator's request log, so `predict` output and this log line up column by column);
 * - one summary row beside it (`X.summary.arrow`) with the simulator's result column names;
 * - optionally vllm bench's JSON result;
 * - the printed summary in vllm bench's block layout.
 */
import { writeFileSync } from 'node:fs';
import { Field, Float64, List, Schema, Table, vectorFromArray, type Vector } from 'apache-arrow';
import { makeTable, type CellValue, type ColumnData, type ColumnKind } from '../formats/arrowTable.ts';
import { writeTable } from '../results/arrowWrite.ts';
import { writeFileAtomic } from '../formats/outputFile.ts';
import { WIDE_INTEGER_METRICS, metricUnit } from '../results/resultSchema.ts';
import { INTEGER_METRICS, METRIC_COLUMNS, type RunMetrics } from '../metrics/types.ts';
import { VERSION } from '../version.ts';
import { BENCH_METRICS, finishUs, pKey, type BenchMetric } from './metrics.ts';
import type { RequestRecord } from './runner.ts';

export const MEASURED_FORMAT = 'balanceroute-measured/1';
export const MEASURED_SUMMARY_FORMAT = 'balanceroute-measured-summary/1';

/** `measured.arrow` -> `measured.summary.arrow`. */
export function summaryPathFor(path: string): string {
  return /\.arrow$/i.test(path) ? path.replace(/\.arrow$/i, '.summary.arrow') : `${path}.summary.arrow`;
}

/** Settings of a run, recorded in the files. */
export interface RunSettings {
  url: string;
  endpoint: 'completions' | 'chat';
  model: string;
  requests: number;
  rate: number;
  burstiness: number;
  seed: number;
  maxConcurrency: number;
  timeoutS: number;
  maxOutput: number;
  source: { kind: 'profile' | 'trace' | 'dataset'; path: string };
  tokenizer: string | null;
  requestIdPrefix: string;
  interrupted: boolean;
  /** Router, knobs and rank count from a gateway decision log (--gateway-log). */
  gateway?: { router: string | null; routerParams: string | null; ranks: number | null };
  /** What the server reported (serverInfo.ts serverMetadata): per-request log metadata only. */
  server?: Record<string, string>;
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** The per-request log as an Arrow table. */
export function measuredTable(records: readonly RequestRecord[], s: RunSettings): Table {
  const col = (name: string, kind: ColumnKind, values: ArrayLike<CellValue>, unit?: string): ColumnData => ({ name, kind, values, metadata: unit ? { unit } : undefined });
  const tpot = (r: RequestRecord) => (r.ok && (r.outputTokens ?? 0) > 1 ? (r.latencyMs - r.ttftMs) / ((r.outputTokens as number) - 1) : null);
  const columns: ColumnData[] = [
    col('request', 'int32', records.map((r) => r.index)),
    col('request_id', 'utf8', records.map((r) => `${s.requestIdPrefix}${r.index}`)),
    col('scheduled_us', 'float64', records.map((r) => r.scheduledUs), 'us'),
    col('arrival_us', 'float64', records.map((r) => r.sendUs), 'us'),
    col('prompt', 'int32', records.map((r) => r.promptTokens ?? r.plannedPrompt), 'tokens'),
    col('output', 'int32', records.map((r) => r.outputTokens), 'tokens'),
    col('max_tokens', 'int32', records.map((r) => r.maxTokens), 'tokens'),
    col('status', 'int32', records.map((r) => (r.ok ? 4 : 5))),
    col('outcome', 'dictionary', records.map((r) => (r.ok ? 'completed' : r.failure ?? 'failed'))),
    col('rank', 'int32', records.map((r) => r.rank)),
    col('first_token_us', 'float64', records.map((r) => (r.ok ? r.sendUs + r.ttftMs * 1000 : null)), 'us'),
    col('end_us', 'float64', records.map((r) => finishUs(r)), 'us'),
    col('ttft_ms', 'float64', records.map((r) => (r.ok ? r.ttftMs : null)), 'ms'),
    col('tpot_ms', 'float64', records.map(tpot), 'ms'),
    col('e2e_ms', 'float64', records.map((r) => (r.ok ? r.latencyMs : null)), 'ms'),
    col('http_status', 'int32', records.map((r) => r.httpStatus)),
    col('error', 'utf8', records.map((r) => (r.ok ? null : r.error))),
  ];
  const base = makeTable(columns, { ...settingsMetadata(s), ...(s.server ?? {}), format: MEASURED_FORMAT });
  // Inter-token latencies: one list per request (a List<Float64> column).
  const itl = vectorFromArray(records.map((r) => r.itlMs), new List(new Field('item', new Float64(), true))) as Vector;
  const vectors: Record<string, Vector> = {};
  for (const f of base.schema.fields) vectors[f.name] = base.getChild(f.name)!;
  vectors.itl_ms = itl;
  const fields = [...base.schema.fields, new Field('itl_ms', itl.type, true, new Map([['unit', 'ms']]))];
  return new Table(new Schema(fields, base.schema.metadata), vectors);
}

function settingsMetadata(s: RunSettings): Record<string, string> {
  return {
    balanceroute_version: VERSION,
    node_version: process.version,
    created: new Date().toISOString(),
    url: s.url,
    endpoint: s.endpoint,
    model: s.model,
    rate: String(s.rate),
    burstiness: String(s.burstiness),
    seed: String(s.seed),
    max_concurrency: String(s.maxConcurrency),
    timeout_s: String(s.timeoutS),
    source_kind: s.source.kind,
    source: s.source.path,
    interrupted: String(s.interrupted),
    ...(s.gateway?.router ? { router: s.gateway.router } : {}),
    ...(s.gateway?.routerParams ? { router_params: s.gateway.routerParams } : {}),
    ...(s.gateway?.ranks ? { dp: String(s.gateway.ranks) } : {}),
  };
}

/**
 * The summary row: the simulator's result columns (src/results/resultSchema.ts) with what a load run
 * knows filled in (server-side configuration columns are null), then a few load-run columns.
 */
export function summaryTable(metrics: Record<keyof RunMetrics, number | null>, s: RunSettings, extra: { durationS: number; sendLagP99Ms: number | null }): Table {
  const cv = s.burstiness === Infinity ? 0 : 1 / Math.sqrt(s.burstiness);
  const one = (name: string, kind: ColumnKind, v: CellValue, unit = ''): ColumnData => ({ name, kind, values: [v], metadata: unit ? { unit } : undefined });
  const columns: ColumnData[] = [
    one('config_index', 'int32', 0),
    one('router', 'dictionary', s.gateway?.router ?? null),
    one('router_params', 'dictionary', s.gateway?.routerParams ?? null),
    one('dp', 'int32', s.gateway?.ranks ?? null, 'ranks'),
    one('seed', 'int32', s.source.kind === 'trace' ? null : s.seed),
    one('requests', 'int32', metrics.requests, 'requests'),
    one('max_num_seqs', 'int32', null, 'sequences'),
    one('kv_capacity', 'int32', null, 'tokens'),
    one('block_size', 'int32', null, 'tokens'),
    one('max_batched_tokens', 'int32', null, 'tokens'),
    one('max_model_len', 'int32', null, 'tokens'),
    one('rate', 'float64', finite(s.rate), 'req/s'),
    one('cv', 'float64', s.source.kind === 'trace' ? null : cv),
    one('stats_interval_ms', 'float64', null, 'ms'),
    one('timeout_s', 'float64', s.timeoutS, 's'),
    one('workload', 'dictionary', s.source.kind === 'profile' ? s.source.path : s.source.kind === 'trace' ? 'trace' : 'sharegpt_dataset'),
    one('trace', 'dictionary', s.source.kind === 'profile' ? null : s.source.path),
    one('arrival', 'dictionary', s.source.kind === 'trace' ? null : s.burstiness === 1 ? 'poisson' : 'gamma'),
    one('dispatch', 'dictionary', null),
    one('assign_order', 'dictionary', null),
    one('model', 'dictionary', s.model),
    one('engine', 'dictionary', 'live'),
    one('max_output', 'int32', s.source.kind === 'dataset' ? null : s.maxOutput, 'tokens'),
    one('prompt_dist', 'dictionary', null),
    one('output_dist', 'dictionary', null),
    ...METRIC_COLUMNS.filter((m) => m !== 'requests').map((m) =>
      one(m, INTEGER_METRICS.has(m) && !WIDE_INTEGER_METRICS.has(m) ? 'int32' : 'float64', metrics[m], metricUnit(m)),
    ),
    one('url', 'dictionary', s.url),
    one('endpoint', 'dictionary', s.endpoint),
    one('burstiness', 'float64', finite(s.burstiness)),
    one('max_concurrency', 'int32', s.maxConcurrency > 0 ? s.maxConcurrency : null, 'requests'),
    one('duration_s', 'float64', extra.durationS, 's'),
    one('send_lag_p99_ms', 'float64', extra.sendLagP99Ms, 'ms'),
  ];
  return makeTable(columns, { ...settingsMetadata(s), format: MEASURED_SUMMARY_FORMAT });
}

export function writeMeasured(path: string, records: readonly RequestRecord[], s: RunSettings, summary: Table): void {
  writeTable(path, measuredTable(records, s), 'output');
  writeTable(summaryPathFor(path), summary, 'output');
}

/** `YYYYmmdd-HHMMSS` (local time), as vllm bench dates its results. */
function benchDate(d = new Date()): string {
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** vllm bench's `--save-result` JSON (with the per-request arrays when `detailed`). */
export function benchJson(bench: Record<string, number>, records: readonly RequestRecord[], s: RunSettings, detailed: boolean): Record<string, unknown> {
  const j: Record<string, unknown> = {
    date: benchDate(),
    endpoint_type: s.endpoint === 'chat' ? 'openai-chat' : 'openai',
    backend: s.endpoint === 'chat' ? 'openai-chat' : 'openai',
    label: null,
    model_id: s.model,
    tokenizer_id: s.tokenizer,
    num_prompts: s.requests,
    request_rate: s.source.kind === 'trace' && !Number.isFinite(s.rate) ? null : s.rate === Infinity ? 'inf' : s.rate, // a trace keeps its own timing
    burstiness: s.burstiness === Infinity ? 'inf' : s.burstiness,
    max_concurrency: s.maxConcurrency > 0 ? s.maxConcurrency : null,
    ...bench,
    request_goodput: null,
  };
  if (detailed) {
    const ok = records.filter((r) => r.ok);
    j.input_lens = ok.map((r) => r.promptTokens ?? r.plannedPrompt);
    j.output_lens = ok.map((r) => r.outputTokens);
    j.ttfts = ok.map((r) => r.ttftMs / 1000);
    j.itls = ok.map((r) => r.itlMs.map((x) => x / 1000));
    j.latencies = ok.map((r) => r.latencyMs / 1000);
    j.start_times = ok.map((r) => r.sendUs / 1e6);
    j.errors = records.filter((r) => !r.ok).map((r) => r.error);
  }
  return j;
}

export function writeBenchJson(path: string, json: Record<string, unknown>): void {
  writeFileAtomic(path, (tmp) => writeFileSync(tmp, JSON.stringify(json, null, 2) + '\n'), 'save_json');
}

const HEADERS: Record<BenchMetric, [string, string]> = {
  ttft: ['Time to First Token', 'TTFT'],
  tpot: ['Time per Output Token (excl. 1st token)', 'TPOT'],
  itl: ['Inter-token Latency', 'ITL'],
  e2el: ['End-to-end Latency', 'E2EL'],
};

/** The printed result block, in vllm bench serve's layout. */
export function formatBenchBlock(b: Record<string, number>, s: RunSettings, percentiles: readonly number[]): string {
  const center = (t: string, c: string) => {
    const n = 50 - t.length;
    const left = Math.floor(n / 2);
    return c.repeat(Math.max(0, left)) + t + c.repeat(Math.max(0, n - left));
  };
  const line = (k: string, v: string | number, digits?: number) =>
    `${k.padEnd(40)} ${(typeof v === 'number' && digits !== undefined ? v.toFixed(digits) : String(v)).padEnd(10)}`;
  const out = [center(' Serving Benchmark Result ', '=')];
  out.push(line('Successful requests:', b.completed));
  out.push(line('Failed requests:', b.failed));
  if (s.maxConcurrency > 0) out.push(line('Maximum request concurrency:', s.maxConcurrency));
  if (s.rate !== Infinity && s.source.kind !== 'trace') out.push(line('Request rate configured (RPS):', s.rate, 2));
  out.push(line('Benchmark duration (s):', b.duration, 2));
  out.push(line('Total input tokens:', b.total_input_tokens));
  out.push(line('Total generated tokens:', b.total_output_tokens));
  out.push(line('Request throughput (req/s):', b.request_throughput, 2));
  out.push(line('Output token throughput (tok/s):', b.output_throughput, 2));
  out.push(line('Peak output token throughput (tok/s):', b.max_output_tokens_per_s, 2));
  out.push(line('Peak concurrent requests:', b.max_concurrent_requests, 2));
  out.push(line('Total token throughput (tok/s):', b.total_token_throughput, 2));
  for (const m of BENCH_METRICS) {
    const [title, short] = HEADERS[m];
    out.push(center(title, '-'));
    out.push(line(`Mean ${short} (ms):`, b[`mean_${m}_ms`], 2));
    out.push(line(`Median ${short} (ms):`, b[`median_${m}_ms`], 2));
    for (const p of percentiles) out.push(line(`P${pKey(p)} ${short} (ms):`, b[`p${pKey(p)}_${m}_ms`], 2));
  }
  out.push('='.repeat(50));
  return out.map((l) => l.trimEnd()).join('\n');
}

/** One line per failure kind: count and the first message. */
export function formatFailures(records: readonly RequestRecord[]): string[] {
  const by = new Map<string, { n: number; first: string }>();
  for (const r of records) {
    if (r.ok) continue;
    const k = r.failure ?? 'failed';
    const e = by.get(k);
    if (e) e.n++;
    else by.set(k, { n: 1, first: `request ${r.index}: ${r.error}` });
  }
  return [...by.entries()].map(([k, { n, first }]) => `failed ${k}: ${n} (first: ${first})`);
}
