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
import { BENCH_METRICS, finishUs, pKey, stats, type BenchMetric } from './metrics.ts';
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
  /** Offered rate of a trace run without --rate ((n-1)/span of the schedule), req/s. */
  offeredRate?: number;
  /** Router, knobs and rank count from a gateway decision log (--gateway-log). */
  gateway?: { router: string | null; routerParams: string | null; ranks: number | null; admission?: string | null; waveTimeoutMs?: number | null };
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
    ...(s.gateway?.admission ? { admission: s.gateway.admission } : {}),
    ...(s.gateway?.waveTimeoutMs != null ? { wave_timeout_ms: String(s.gateway.waveTimeoutMs) } : {}),
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
  // Each file on its own: a log that cannot be written (a full disk) does not cost the summary row.
  let first: unknown;
  for (const [p, t] of [
    [path, () => measuredTable(records, s)],
    [summaryPathFor(path), () => summary],
  ] as const) {
    try {
      writeTable(p, t(), 'output');
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== undefined) throw first;
}

/** `YYYYmmdd-HHMMSS` (local time), as vllm bench dates its results. */
function benchDate(d = new Date()): string {
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/**
 * A value of vllm bench's result JSON with its Python type: vLLM writes with `json.dump`, so a
 * float is always written as a float (`1.0`, not `1`), which typed readers (pandas, pydantic) see.
 */
export type BenchValue =
  | { t: 'int'; v: number }
  | { t: 'float'; v: number }
  | { t: 'str'; v: string }
  | { t: 'null' }
  | { t: 'list'; of: 'int' | 'float' | 'str'; v: readonly number[] | readonly string[] }
  | { t: 'list2'; v: readonly (readonly number[])[] };

const int = (v: number): BenchValue => ({ t: 'int', v });
const flt = (v: number): BenchValue => ({ t: 'float', v });
const str = (v: string | null): BenchValue => (v === null ? { t: 'null' } : { t: 'str', v });

/** Keys vllm bench drops from the JSON unless `--save-detailed` (vllm/benchmarks/serve.py). */
export const BENCH_DETAILED_KEYS = ['input_lens', 'output_lens', 'start_times', 'ttfts', 'itls', 'generated_texts', 'errors'] as const;

/**
 * vllm bench serve's `--save-result` JSON, key for key and in its order (vllm/benchmarks/serve.py
 * at commit 009e6d4a: settings, then `benchmark()`'s result, then one block per percentile
 * metric), as if run with `--percentile-metrics ttft,tpot,itl,e2el`. Per-request arrays hold one
 * entry per request, failed ones included (`errors` is "" for a success, `ttfts` 0.0 for a
 * failure), as vLLM's do. A trace run's `request_rate` is its offered rate (`--rate`, else
 * (n-1)/span of the sends).
 */
export function benchJson(bench: Record<string, number>, records: readonly RequestRecord[], s: RunSettings, detailed: boolean): [string, BenchValue][] {
  const rate = s.offeredRate ?? s.rate;
  const out: [string, BenchValue][] = [
    ['date', str(benchDate())],
    ['endpoint_type', str(s.endpoint === 'chat' ? 'openai-chat' : 'openai')],
    ['backend', str(s.endpoint === 'chat' ? 'openai-chat' : 'openai')],
    ['label', { t: 'null' }],
    ['model_id', str(s.model)],
    ['tokenizer_id', str(s.tokenizer)],
    ['num_prompts', int(s.requests)],
    ['request_rate', Number.isFinite(rate) ? flt(rate) : str('inf')],
    ['burstiness', flt(s.burstiness)],
    ['max_concurrency', s.maxConcurrency > 0 ? int(s.maxConcurrency) : { t: 'null' }],
    ['duration', flt(bench.duration)],
    ['completed', int(bench.completed)],
    ['failed', int(bench.failed)],
    ['total_input_tokens', int(bench.total_input_tokens)],
    ['total_output_tokens', int(bench.total_output_tokens)],
    ['request_throughput', flt(bench.request_throughput)],
    ['request_goodput', { t: 'null' }],
    ['output_throughput', flt(bench.output_throughput)],
    ['total_token_throughput', flt(bench.total_token_throughput)],
  ];
  const ok = (r: RequestRecord) => r.ok;
  const perRequest: [string, BenchValue][] = [
    ['input_lens', { t: 'list', of: 'int', v: records.map((r) => r.promptTokens ?? r.plannedPrompt) }],
    ['output_lens', { t: 'list', of: 'int', v: records.map((r) => (ok(r) ? (r.outputTokens ?? 0) : 0)) }],
    ['ttfts', { t: 'list', of: 'float', v: records.map((r) => (ok(r) ? r.ttftMs / 1000 : 0)) }],
    ['itls', { t: 'list2', v: records.map((r) => (ok(r) ? r.itlMs.map((x) => x / 1000) : [])) }],
    ['latencies', { t: 'list', of: 'float', v: records.map((r) => (ok(r) ? r.latencyMs / 1000 : 0)) }],
    ['start_times', { t: 'list', of: 'float', v: records.map((r) => r.sendUs / 1e6) }],
    ['queue_times', { t: 'list', of: 'float', v: records.map((r) => (r.queueMs ?? 0) / 1000) }],
    ['generated_texts', { t: 'list', of: 'str', v: records.map((r) => r.text ?? '') }],
    ['errors', { t: 'list', of: 'str', v: records.map((r) => (ok(r) ? '' : r.error)) }],
  ];
  for (const kv of perRequest) if (detailed || !(BENCH_DETAILED_KEYS as readonly string[]).includes(kv[0])) out.push(kv);
  out.push(['max_output_tokens_per_s', flt(bench.max_output_tokens_per_s)], ['max_concurrent_requests', int(bench.max_concurrent_requests)], ['rtfx', flt(0)]);
  // The percentile blocks, in benchMetrics' order (mean, median, std, then each percentile).
  const fixed = new Set(['duration', 'completed', 'failed', 'total_input_tokens', 'total_output_tokens', 'request_throughput', 'output_throughput', 'total_token_throughput', 'max_output_tokens_per_s', 'max_concurrent_requests']);
  for (const [k, v] of Object.entries(bench)) if (!fixed.has(k)) out.push([k, flt(v)]);
  if (s.maxConcurrency > 0) {
    // vLLM adds the client-side queueing blocks when a concurrency cap is set.
    const pcts = Object.keys(bench).flatMap((k) => /^p(.+)_ttft_ms$/.exec(k)?.[1] ?? []);
    const block = (name: string, values: number[]) => {
      const st = stats(values.map((x) => x * 1000));
      const z = (v: number) => (Number.isFinite(v) ? v : 0);
      out.push([`mean_${name}_ms`, flt(z(st.mean))], [`median_${name}_ms`, flt(z(st.median))], [`std_${name}_ms`, flt(z(st.std))]);
      for (const p of pcts) out.push([`p${p}_${name}_ms`, flt(z(st.percentile(Number(p))))]);
    };
    const done = records.filter((r) => r.ok);
    block('client_queue_time', done.map((r) => (r.queueMs ?? 0) / 1000));
    if (Number.isFinite(s.rate)) block('e2el_including_client_queue', done.map((r) => (r.latencyMs + (r.queueMs ?? 0)) / 1000));
  }
  return out;
}

/** A float as Python's json.dump writes it: always with a fraction or exponent. */
function pyFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  const t = String(v);
  return /[.eE]/.test(t) ? t : `${t}.0`;
}

/** The JSON text, one line as vLLM's `json.dump` writes it (`", "` and `": "` separators). */
export function benchJsonText(entries: readonly [string, BenchValue][]): string {
  const val = (b: BenchValue): string => {
    switch (b.t) {
      case 'int':
        return String(Math.round(b.v));
      case 'float':
        return pyFloat(b.v);
      case 'str':
        return JSON.stringify(b.v);
      case 'null':
        return 'null';
      case 'list':
        return `[${(b.v as readonly (number | string)[]).map((x) => (b.of === 'str' ? JSON.stringify(x) : b.of === 'int' ? String(Math.round(x as number)) : pyFloat(x as number))).join(', ')}]`;
      case 'list2':
        return `[${b.v.map((row) => `[${row.map(pyFloat).join(', ')}]`).join(', ')}]`;
    }
  };
  return `{${entries.map(([k, b]) => `${JSON.stringify(k)}: ${val(b)}`).join(', ')}}`;
}

export function writeBenchJson(path: string, entries: readonly [string, BenchValue][]): void {
  writeFileAtomic(path, (tmp) => writeFileSync(tmp, benchJsonText(entries) + '\n'), 'save_json', { stdout: true });
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
