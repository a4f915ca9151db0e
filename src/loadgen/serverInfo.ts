/**
 * What a load run records about the server it measured, in the Arrow log's metadata
 * (docs/loadgen.md, "What the log records about the server"):
 *
 * - `server_metrics_start` / `server_metrics_end`: the server's `/metrics` exposition just before
 *   the first request and just after the last one (absent when the server exports none);
 * - `server_version`: the JSON of `GET /version` (vLLM: `{version}`; `balanceroute emulate`
 *   adds `step_model`, `data_parallel_size` and `speed`);
 * - `server_dp`: the engine count: the emulator's `data_parallel_size`, else the number of
 *   `engine` label values of vLLM's per-engine gauges when they are 0..G-1 (internal-LB vLLM
 *   exports every engine on one port; an external-LB port exports only its own, and then the DP
 *   size is not known);
 * - `server_kv_blocks` / `server_block_size` (vllm:cache_config_info), `server_max_model_len`
 *   (/v1/models), `server_step_model`, `server_speed` (the emulator's).
 *
 * `predict` and `calibrate --from-run` read them back with serverInfoFromMetadata.
 */
import { Agent } from 'undici';
import { parseExposition, type Sample } from '../serve/gateway/exposition.ts';

export interface ServerSnapshot {
  metrics: string | null;
  version: Record<string, unknown> | null;
  models: Record<string, unknown> | null;
}

async function get(agent: Agent, url: URL, headers: Record<string, string>, timeoutMs: number): Promise<string | null> {
  try {
    const res = await agent.request({ origin: url.origin, path: url.pathname, method: 'GET', headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.body.text();
    return res.statusCode === 200 ? text : null;
  } catch {
    return null;
  }
}

function jsonObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * GET /metrics, /version and /v1/models of the server at `origin` (the base of the endpoint URL).
 * What does not answer 200 is null: a server without them is still measurable.
 */
export async function fetchServerSnapshot(origin: URL, headers: Record<string, string>, timeoutMs = 5000, what: { models?: boolean } = {}): Promise<ServerSnapshot> {
  const agent = new Agent({ connectTimeout: timeoutMs });
  const at = (path: string) => {
    const u = new URL(origin.href);
    u.pathname = path;
    u.search = '';
    return u;
  };
  try {
    const [metrics, version, models] = await Promise.all([
      get(agent, at('/metrics'), headers, timeoutMs),
      get(agent, at('/version'), headers, timeoutMs),
      what.models === false ? Promise.resolve(null) : get(agent, at('/v1/models'), headers, timeoutMs),
    ]);
    return { metrics, version: jsonObject(version), models: jsonObject(models) };
  } finally {
    await agent.destroy().catch(() => {});
  }
}

function samplesOf(text: string | null | undefined): Sample[] | null {
  if (!text) return null;
  try {
    return parseExposition(text);
  } catch {
    return null;
  }
}

/** Engine label values of vLLM's per-engine gauges, ascending. */
function engineLabels(samples: readonly Sample[]): string[] {
  const s = new Set<string>();
  for (const x of samples) if ((x.name === 'vllm:num_requests_running' || x.name === 'vllm:num_requests_waiting') && x.labels.engine !== undefined) s.add(x.labels.engine);
  return [...s].sort((a, b) => Number(a) - Number(b));
}

const posInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
const posNum = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);

/** The metadata entries of a run's server snapshots (start before the first request, end after the last). */
export function serverMetadata(start: ServerSnapshot, end: ServerSnapshot | null): Record<string, string> {
  const md: Record<string, string> = {};
  if (start.metrics !== null) md.server_metrics_start = start.metrics;
  if (end?.metrics != null) md.server_metrics_end = end.metrics;
  if (start.version !== null) md.server_version = JSON.stringify(start.version);
  const v = start.version ?? {};
  let dp = posInt(v.data_parallel_size);
  const samples = samplesOf(start.metrics);
  if (dp === undefined && samples) {
    const engines = engineLabels(samples);
    // Only a complete 0..G-1 set says G (an external-LB port shows its own engine only).
    if (engines.length > 0 && engines.every((e, i) => e === String(i))) dp = engines.length;
  }
  if (dp !== undefined) md.server_dp = String(dp);
  if (samples) {
    const cc = samples.find((s) => s.name === 'vllm:cache_config_info');
    const blocks = Number(cc?.labels.num_gpu_blocks);
    const bs = Number(cc?.labels.block_size);
    if (blocks > 0) md.server_kv_blocks = String(blocks);
    if (bs > 0) md.server_block_size = String(bs);
  }
  if (typeof v.step_model === 'string') md.server_step_model = v.step_model;
  const speed = posNum(v.speed);
  if (speed !== undefined) md.server_speed = String(speed);
  const data = (start.models?.data as Record<string, unknown>[] | undefined)?.[0];
  const mml = posInt(data?.max_model_len);
  if (mml !== undefined) md.server_max_model_len = String(mml);
  return md;
}

/** Engine-side means over the run (ms) from the /metrics histograms: (end - start) sum / count. */
export interface HistogramMeans {
  queueMs?: number;
  prefillMs?: number;
  ttftMs?: number;
  e2eMs?: number;
  count: number;
}

export interface ServerInfo {
  /** Whether the log records anything about the server. */
  recorded: boolean;
  dp?: number;
  stepModel?: string;
  speed?: number;
  kvBlocks?: number;
  blockSize?: number;
  maxModelLen?: number;
  means?: HistogramMeans;
}

function sumOf(samples: readonly Sample[], name: string): number {
  let s = 0;
  for (const x of samples) if (x.name === name && Number.isFinite(x.value)) s += x.value;
  return s;
}

function meansFrom(start: readonly Sample[], end: readonly Sample[]): HistogramMeans | undefined {
  const delta = (base: string): { mean?: number; count: number } => {
    const count = sumOf(end, `${base}_count`) - sumOf(start, `${base}_count`);
    if (!(count > 0)) return { count: 0 };
    return { mean: ((sumOf(end, `${base}_sum`) - sumOf(start, `${base}_sum`)) / count) * 1000, count };
  };
  const q = delta('vllm:request_queue_time_seconds');
  const p = delta('vllm:request_prefill_time_seconds');
  const t = delta('vllm:time_to_first_token_seconds');
  const e = delta('vllm:e2e_request_latency_seconds');
  const count = Math.max(q.count, p.count, t.count, e.count);
  if (count === 0) return undefined;
  return { queueMs: q.mean, prefillMs: p.mean, ttftMs: t.mean, e2eMs: e.mean, count };
}

/** Read back what serverMetadata recorded. */
export function serverInfoFromMetadata(md: Readonly<Record<string, string>>): ServerInfo {
  const n = (k: string) => {
    const v = md[k] !== undefined ? Number(md[k]) : NaN;
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const start = samplesOf(md.server_metrics_start);
  const end = samplesOf(md.server_metrics_end);
  return {
    recorded: md.server_version !== undefined || md.server_metrics_start !== undefined,
    dp: n('server_dp'),
    stepModel: md.server_step_model,
    speed: n('server_speed'),
    kvBlocks: n('server_kv_blocks'),
    blockSize: n('server_block_size'),
    maxModelLen: n('server_max_model_len'),
    means: start && end ? meansFrom(start, end) : undefined,
  };
}
