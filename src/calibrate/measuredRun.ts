/**
 * A measured serving run, read from one of three formats, as `calibrate --from-run` and the
 * fidelity suite consume it (docs/calibration.md):
 *
 * - `engine-log`: an engine-side per-request log such as LLMServingSim's validation bench writes
 *   (`vllm/requests.jsonl`: request_id, input_toks, output_toks, arrival_time [wall s],
 *   queued_ts, scheduled_ts, first_token_ts, last_token_ts [engine-core monotonic s], vLLM's
 *   RequestStateStats), with an optional sibling `meta.json` (engine_kwargs, kv_cache,
 *   resolved_config). Engine-anchored: TTFT = first_token_ts - queued_ts, E2E = last_token_ts -
 *   queued_ts, queue = scheduled_ts - queued_ts, prefill = first_token_ts - scheduled_ts.
 * - `vllm-bench`: `vllm bench serve --save-result --save-detailed` JSON (input_lens, output_lens,
 *   ttfts, itls, start_times, errors; vllm/benchmarks/serve.py). Client-anchored. Without
 *   start_times (older vLLM) the send times are rebuilt from request_rate, burstiness and the
 *   seed with the same generator vllm bench uses (src/loadgen/arrivals.ts), and `notes` says so.
 * - `loadgen`: the Arrow log of `balanceroute loadgen` (client-anchored), with what the server
 *   reported (engine count, KV blocks, the emulator's step model and speed, /metrics snapshots
 *   at start and end) from its metadata.
 *
 * Every array has one entry per request in arrival order; times are µs on the run's own clock
 * (arrivals from the first one), -1 where missing or where the request failed.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.ts';
import { readArrowFile } from '../formats/arrowRead.ts';
import { vllmBenchSchedule } from '../loadgen/arrivals.ts';
import { MEASURED_FORMAT } from '../loadgen/output.ts';
import { serverInfoFromMetadata } from '../loadgen/serverInfo.ts';

export type MeasuredSource = 'loadgen' | 'vllm-bench' | 'engine-log';
export type Anchor = 'client' | 'engine';

/** Engine-side means over the run from the server's /metrics histograms (end - start snapshot), ms. */
export interface ServerMeans {
  queueMs?: number;
  prefillMs?: number;
  ttftMs?: number;
  e2eMs?: number;
  /** Requests the histograms counted over the run. */
  count: number;
}

export interface MeasuredRun {
  source: MeasuredSource;
  /** Where the latencies start: at the client's send, or at the engine core's queued_ts. */
  anchor: Anchor;
  path: string;
  arrivalUs: Float64Array;
  prompt: Int32Array;
  /** Output tokens (failed requests of a loadgen log: their max_tokens, what ignore_eos would give). */
  output: Int32Array;
  /** 1 = completed, 0 = failed. */
  ok: Uint8Array;
  ttftUs: Float64Array;
  e2eUs: Float64Array;
  /** Engine logs: scheduled - queued. */
  queueUs?: Float64Array;
  /** Engine logs: first token - scheduled. */
  prefillUs?: Float64Array;
  /** DP size (engine count) the run was served with, when recorded. */
  dp?: number;
  /** The served model's name (HF id / --served-model-name), when recorded. */
  modelName?: string;
  /** The step model (preset or file) of a run against `balanceroute emulate`, when it reported one. */
  stepModel?: string;
  /** Model µs per measured µs (`emulate --speed`), when the server reported it; 1 for real hardware. */
  speed?: number;
  maxNumSeqs?: number;
  maxBatchedTokens?: number;
  maxModelLen?: number;
  asyncScheduling?: boolean;
  /** KV blocks per engine and their size in tokens (vLLM num_gpu_blocks, block_size). */
  kvBlocks?: number;
  blockSize?: number;
  /** Engine-side means from /metrics snapshots (loadgen logs of servers that export them). */
  serverMeans?: ServerMeans;
  /** What the reader had to assume (e.g. rebuilt arrivals). */
  notes: string[];
}

/** A run's per-request arrays for n requests, latencies unknown (-1) until read. */
function perRequestArrays(n: number): Pick<MeasuredRun, 'arrivalUs' | 'prompt' | 'output' | 'ok' | 'ttftUs' | 'e2eUs'> {
  return {
    arrivalUs: new Float64Array(n),
    prompt: new Int32Array(n),
    output: new Int32Array(n),
    ok: new Uint8Array(n),
    ttftUs: new Float64Array(n).fill(-1),
    e2eUs: new Float64Array(n).fill(-1),
  };
}

export interface ReadOptions {
  /** vllm-bench JSON without start_times: the seed of its arrivals (vllm bench --seed; default 0). */
  seed?: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const posInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/** Read a measured run, detecting its format; a one-line InputError naming `field` otherwise. */
export function readMeasuredRun(path: string, field = 'from_run', opts: ReadOptions = {}): MeasuredRun {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new InputError(field, path, `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (st.isDirectory()) {
    // An LLMServingSim bench output folder (or its parent holding vllm/).
    for (const p of [join(path, 'requests.jsonl'), join(path, 'vllm', 'requests.jsonl')]) {
      try {
        if (statSync(p).isFile()) return readEngineLog(p, field);
      } catch {
        // try the next
      }
    }
    throw new InputError(field, path, 'a folder without requests.jsonl (expected an engine log folder, a loadgen .arrow log or a vllm bench JSON)');
  }
  const buf = readFileSync(path);
  if (buf.subarray(0, 6).toString('latin1') === 'ARROW1') return readLoadgenLog(path, field);
  const text = buf.toString('utf8');
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{')) {
    throw new InputError(field, path, 'unknown format (expected a loadgen .arrow log, a vllm bench serve --save-detailed JSON or an engine requests.jsonl)');
  }
  // One JSON document: vllm bench; else JSON Lines: an engine log.
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (doc !== undefined && typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
    const o = doc as Record<string, unknown>;
    if ('queued_ts' in o && 'request_id' in o) return readEngineLog(path, field, text);
    if (Array.isArray(o.ttfts) || Array.isArray(o.input_lens)) return readBenchJson(path, field, o, opts);
    throw new InputError(field, path, 'a JSON file without ttfts/input_lens (vllm bench serve needs --save-result --save-detailed)');
  }
  return readEngineLog(path, field, text);
}

// ---- engine-side per-request log ----

interface EngineRow {
  input: number;
  output: number;
  arrival: number;
  queued: number | null;
  scheduled: number | null;
  first: number | null;
  last: number | null;
}

function readEngineLog(path: string, field: string, text?: string): MeasuredRun {
  const body = text ?? readFileSync(path, 'utf8');
  const rows: EngineRow[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (l === '') continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new InputError(field, path, `line ${i + 1} is not JSON`);
    }
    const at = (k: string, required: boolean): number | null => {
      const v = o[k];
      if (v === null || v === undefined) {
        if (required) throw new InputError(`${field}.${k}`, v, `line ${i + 1} of ${path}: needed (an engine per-request log: request_id, input_toks, output_toks, arrival_time, queued_ts, scheduled_ts, first_token_ts, last_token_ts)`);
        return null;
      }
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${field}.${k}`, v, `line ${i + 1} of ${path}: must be a number`);
      return v;
    };
    const input = at('input_toks', true)!;
    const output = at('output_toks', true)!;
    if (!Number.isInteger(input) || input < 1) throw new InputError(`${field}.input_toks`, input, `line ${i + 1} of ${path}: must be a whole number >= 1`);
    if (!Number.isInteger(output) || output < 0) throw new InputError(`${field}.output_toks`, output, `line ${i + 1} of ${path}: must be a whole number >= 0`);
    rows.push({ input, output, arrival: at('arrival_time', true)!, queued: at('queued_ts', false), scheduled: at('scheduled_ts', false), first: at('first_token_ts', false), last: at('last_token_ts', false) });
  }
  if (rows.length === 0) throw new InputError(field, path, 'holds no requests');
  rows.sort((a, b) => a.arrival - b.arrival);
  const n = rows.length;
  const t0 = rows[0].arrival;
  const run: MeasuredRun = {
    source: 'engine-log',
    anchor: 'engine',
    path,
    ...perRequestArrays(n),
    queueUs: new Float64Array(n).fill(-1),
    prefillUs: new Float64Array(n).fill(-1),
    notes: [],
  };
  const us = (a: number | null, b: number | null) => (a === null || b === null ? -1 : Math.max(0, (b - a) * 1e6));
  rows.forEach((r, k) => {
    run.arrivalUs[k] = (r.arrival - t0) * 1e6;
    run.prompt[k] = r.input;
    run.output[k] = Math.max(1, r.output);
    const ok = r.queued !== null && r.first !== null && r.last !== null && r.output >= 1;
    run.ok[k] = ok ? 1 : 0;
    if (ok) {
      run.ttftUs[k] = us(r.queued, r.first);
      run.e2eUs[k] = us(r.queued, r.last);
      run.queueUs![k] = us(r.queued, r.scheduled);
      run.prefillUs![k] = us(r.scheduled, r.first);
    }
  });
  readEngineMeta(join(dirname(path), 'meta.json'), run, field);
  return run;
}

/** LLMServingSim's meta.json beside requests.jsonl (optional): DP size, limits, KV cache, async. */
function readEngineMeta(metaPath: string, run: MeasuredRun, field: string): void {
  let text: string;
  try {
    text = readFileSync(metaPath, 'utf8');
  } catch {
    run.notes.push('no meta.json beside the log: DP size, limits and KV cache not recorded');
    return;
  }
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new InputError(`${field}.meta`, metaPath, 'is not valid JSON');
  }
  const obj = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const kw = obj(m.engine_kwargs);
  const kv = obj(m.kv_cache);
  const rc = obj(m.resolved_config);
  const sched = obj(rc.scheduler_config);
  const model = obj(rc.model_config);
  run.dp = posInt(kw.data_parallel_size) ?? posInt(obj(rc.parallel_config).data_parallel_size);
  run.modelName = typeof m.model === 'string' ? m.model : typeof kw.model === 'string' ? kw.model : undefined;
  run.maxNumSeqs = posInt(sched.max_num_seqs) ?? posInt(kw.max_num_seqs);
  run.maxBatchedTokens = posInt(sched.max_num_batched_tokens) ?? posInt(kw.max_num_batched_tokens);
  run.maxModelLen = posInt(model.max_model_len) ?? posInt(kw.max_model_len);
  run.kvBlocks = posInt(kv.num_gpu_blocks) ?? posInt(obj(rc.cache_config).num_gpu_blocks);
  run.blockSize = posInt(kv.block_size) ?? posInt(obj(rc.cache_config).block_size);
  if (typeof sched.async_scheduling === 'boolean') run.asyncScheduling = sched.async_scheduling;
  else run.notes.push('meta.json has no resolved scheduler_config.async_scheduling: the model file decides');
}

// ---- vllm bench serve --save-result --save-detailed ----

function readBenchJson(path: string, field: string, o: Record<string, unknown>, opts: ReadOptions): MeasuredRun {
  const arr = (k: string, required: boolean): unknown[] | undefined => {
    const v = o[k];
    if (v === undefined || v === null) {
      if (required) throw new InputError(`${field}.${k}`, undefined, `missing in ${basename(path)} (vllm bench serve --save-result --save-detailed writes it)`);
      return undefined;
    }
    if (!Array.isArray(v)) throw new InputError(`${field}.${k}`, v, 'must be a list');
    return v;
  };
  const inLens = arr('input_lens', true)!;
  const outLens = arr('output_lens', true)!;
  const ttfts = arr('ttfts', true)!;
  const itls = arr('itls', false);
  const lat = arr('latencies', false);
  const starts = arr('start_times', false);
  const errors = arr('errors', false) ?? [];
  const n = inLens.length;
  for (const [k, v] of [['output_lens', outLens], ['ttfts', ttfts], ['itls', itls], ['latencies', lat], ['start_times', starts]] as const) {
    if (v !== undefined && v.length !== n) throw new InputError(`${field}.${k}`, `${v.length} entries`, `must have one entry per request like input_lens (${n})`);
  }
  if (n === 0) throw new InputError(field, path, 'holds no requests');
  // Upstream vllm bench lists every request (errors[i] = '' for a success); balanceroute
  // loadgen's --save-json lists completed requests only, with the failures' messages apart (and
  // adds `latencies`, which upstream does not save).
  const perRequestErrors = errors.length === n && lat === undefined;
  const isOk = (i: number) => (perRequestErrors ? errors[i] === '' || errors[i] === null : true) && (num(outLens[i]) ?? 0) > 0;
  const notes: string[] = [];
  let sendS: number[];
  if (starts) {
    sendS = starts.map((v, i) => {
      const x = num(v);
      if (x === undefined) throw new InputError(`${field}.start_times[${i}]`, v, 'must be a number (s)');
      return x;
    });
  } else {
    const rate = o.request_rate === 'inf' || o.request_rate === null || o.request_rate === undefined ? Infinity : num(o.request_rate);
    const burst = o.burstiness === 'inf' ? Infinity : num(o.burstiness) ?? 1;
    if (rate === undefined || !(rate > 0)) throw new InputError(`${field}.request_rate`, o.request_rate, 'must be a rate > 0 or "inf" to rebuild the send times (the file has no start_times)');
    const seed = num(o.seed) ?? opts.seed ?? 0;
    const total = posInt(o.num_prompts) ?? n;
    const sched = vllmBenchSchedule(total, rate, burst, seed);
    sendS = Array.from(sched.subarray(0, n));
    notes.push(`no start_times: send times rebuilt from request_rate ${rate}, burstiness ${burst}, seed ${seed} (vllm bench's generator)`);
    if (posInt(o.max_concurrency) !== undefined) notes.push(`max_concurrency ${o.max_concurrency}: rebuilt send times ignore the client's concurrency limit`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => sendS[a] - sendS[b] || a - b);
  const t0 = sendS[order[0]];
  const run: MeasuredRun = {
    source: 'vllm-bench',
    anchor: 'client',
    path,
    ...perRequestArrays(n),
    modelName: typeof o.model_id === 'string' ? o.model_id : undefined,
    notes,
  };
  order.forEach((i, k) => {
    const inp = num(inLens[i]);
    if (inp === undefined || inp < 1) throw new InputError(`${field}.input_lens[${i}]`, inLens[i], 'must be a token count >= 1');
    run.arrivalUs[k] = (sendS[i] - t0) * 1e6;
    run.prompt[k] = Math.round(inp);
    const out = num(outLens[i]) ?? 0;
    run.output[k] = Math.max(1, Math.round(out));
    if (!isOk(i)) return;
    const ttft = num(ttfts[i]);
    if (ttft === undefined) return;
    run.ok[k] = 1;
    run.ttftUs[k] = ttft * 1e6;
    const l = lat ? num(lat[i]) : undefined;
    // Upstream saves no per-request latency: the last token's time is ttft + the sum of its ITLs.
    const itl = itls?.[i];
    const itlSum = Array.isArray(itl) ? itl.reduce((a: number, b) => a + (num(b) ?? 0), 0) : undefined;
    run.e2eUs[k] = l !== undefined ? l * 1e6 : itlSum !== undefined ? (ttft + itlSum) * 1e6 : -1;
  });
  if (!lat) notes.push('E2E = ttft + sum of itls (vllm bench saves no per-request latency)');
  return run;
}

// ---- balanceroute loadgen ----

function readLoadgenLog(path: string, field: string): MeasuredRun {
  const f = readArrowFile(path);
  const have = new Set(f.columns.map((c) => c.name));
  const needed = ['arrival_us', 'prompt', 'output', 'max_tokens', 'status', 'ttft_ms', 'e2e_ms'];
  const missing = needed.filter((c) => !have.has(c));
  if (missing.length) {
    throw new InputError(field, path, f.metadata.format === MEASURED_FORMAT ? `loadgen log without column ${missing[0]}` : `not a loadgen log (no ${missing.join(', ')})`);
  }
  if (f.numRows === 0) throw new InputError(field, path, 'holds no requests');
  const arr = f.column('arrival_us') as number[];
  const req = have.has('request') ? (f.column('request') as number[]) : arr.map((_, i) => i);
  const pr = f.column('prompt') as number[];
  const out = f.column('output') as (number | null)[];
  const mt = f.column('max_tokens') as number[];
  const status = f.column('status') as number[];
  const ttft = f.column('ttft_ms') as (number | null)[];
  const e2e = f.column('e2e_ms') as (number | null)[];
  const n = f.numRows;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => arr[a] - arr[b] || req[a] - req[b]);
  const t0 = arr[order[0]];
  const info = serverInfoFromMetadata(f.metadata);
  const gwDp = f.metadata.dp !== undefined ? Number(f.metadata.dp) : undefined;
  const run: MeasuredRun = {
    source: 'loadgen',
    anchor: 'client',
    path,
    ...perRequestArrays(n),
    dp: posInt(gwDp) ?? info.dp,
    modelName: f.metadata.model,
    stepModel: info.stepModel,
    speed: info.speed,
    kvBlocks: info.kvBlocks,
    blockSize: info.blockSize,
    maxModelLen: info.maxModelLen,
    serverMeans: info.means,
    notes: [],
  };
  order.forEach((i, k) => {
    run.arrivalUs[k] = arr[i] - t0;
    run.prompt[k] = Math.max(1, pr[i]);
    run.output[k] = Math.max(1, out[i] ?? mt[i]);
    if (status[i] === 4 && ttft[i] !== null && e2e[i] !== null) {
      run.ok[k] = 1;
      run.ttftUs[k] = (ttft[i] as number) * 1000;
      run.e2eUs[k] = (e2e[i] as number) * 1000;
    }
  });
  if (!info.recorded) run.notes.push('the log records no server configuration (written before loadgen saved it, or the server exports no /metrics)');
  return run;
}
