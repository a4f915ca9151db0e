/**
 * Reading a layer-wise vLLM profile (the format of casys-kaist/LLMServingSim's profiler, see
 * docs/step-model.md §3): a folder with `attention.csv`, `dense.csv`, `moe.csv`,
 * `per_sequence.csv` and `meta.yaml`, and the model's Hugging Face config next to it. Every
 * problem is an InputError naming the file (and line).
 */
import { existsSync, statSync } from 'node:fs';
import { readInputText } from '../formats/inputFile.ts';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../errors.ts';
import { parseCsv } from '../formats/csv.ts';

/** One layer's latency by token (or sequence) count, sorted by count. */
export interface Series {
  x: number[];
  us: number[];
}

export interface AttentionRows {
  n: number;
  prefillChunk: Float64Array;
  kvPrefill: Float64Array;
  nDecode: Float64Array;
  kvDecode: Float64Array;
  us: Float64Array;
}

export interface MoeRows {
  tokens: number[];
  experts: number[];
  us: number[];
}

export interface ProfileMeta {
  vllmVersion?: string;
  gpu?: string;
  hardware?: string;
  model?: string;
  enforceEager?: boolean;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  blockSize?: number;
  gpuMemoryUtilization?: number;
  /** Tensor-parallel degrees the profiler ran (`tp_degrees`). */
  tpDegrees?: number[];
  /**
   * FlashAttention skew factor at TP 1 (`skew_fit.per_tp.1.alpha_default`): a decode batch with
   * uneven contexts takes t_mean + alpha * (t_max - t_mean).
   */
  skewAlpha?: number;
  /** The same per tensor-parallel degree (`skew_fit.per_tp.<tp>.alpha_default`). */
  skewAlphaByTp?: Record<number, number>;
}

export interface Profile {
  /** Folder holding the CSV tables. */
  dir: string;
  /** Path of the model config that was read. */
  configPath: string;
  modelConfig: Record<string, unknown>;
  meta: ProfileMeta;
  dense: Map<string, Series>;
  perSequence: Map<string, Series>;
  moe?: MoeRows;
  attention: AttentionRows;
}

const FIELD = 'profile';

/**
 * Find the profile tables and the model config from a path: a deployment folder holding
 * `profile-tp1/` (or `profile/`) and `model-config.json`, or the table folder itself (the
 * config then comes from `config`, or `model-config.json`/`config.json` here or one level up).
 */
export function readProfile(path: string, config?: string, tp = 1): Profile {
  const root = resolve(path);
  if (!isDir(root)) throw new InputError(FIELD, path, 'cannot read the profile folder (no such directory)');
  let dir = root;
  // The profiler writes one table folder per tensor-parallel degree (tp1/, tp2/, ...).
  for (const sub of [`profile-tp${tp}`, `tp${tp}`, ...(tp === 1 ? ['profile'] : [])]) {
    if (!existsSync(join(root, 'attention.csv')) && existsSync(join(root, sub, 'attention.csv'))) {
      dir = join(root, sub);
      break;
    }
  }
  if (!existsSync(join(dir, 'attention.csv'))) {
    throw new InputError(FIELD, path, `no attention.csv here or in tp${tp}/ (expected a layer-wise profile: attention.csv, dense.csv, moe.csv, per_sequence.csv, meta.yaml)`);
  }
  const configPath = config ? resolve(config) : findConfig(dir, root);
  if (!configPath) {
    throw new InputError(FIELD, path, 'no model config found (model-config.json or config.json next to the tables or one level up); give one with --config');
  }
  let modelConfig: Record<string, unknown>;
  try {
    modelConfig = JSON.parse(readInputText(configPath, 'config', 'text', 'model config')) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError('config', configPath, code ? `cannot read the model config (${code})` : `the model config is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const meta = readMeta(dir, root);
  const dense = readSeries(join(dir, 'dense.csv'), 'tokens');
  const perSequence = readSeries(join(dir, 'per_sequence.csv'), 'sequences');
  const moe = existsSync(join(dir, 'moe.csv')) ? readMoe(join(dir, 'moe.csv')) : undefined;
  const attention = readAttention(join(dir, 'attention.csv'));
  return { dir, configPath, modelConfig, meta, dense, perSequence, moe, attention };
}

/**
 * The files `readProfile(path, config)` would read, as named inputs (the output of `calibrate`
 * must be none of them). Found as readProfile finds them; nothing is parsed.
 */
export function profileInputs(path: string, config?: string): { what: string; path: string }[] {
  const root = resolve(path);
  if (!isDir(root)) return [];
  let dir = root;
  for (const sub of ['profile-tp1', 'tp1', 'profile']) {
    if (!existsSync(join(root, 'attention.csv')) && existsSync(join(root, sub, 'attention.csv'))) {
      dir = join(root, sub);
      break;
    }
  }
  const out: { what: string; path: string }[] = [];
  const configPath = config ? resolve(config) : findConfig(dir, root);
  if (configPath) out.push({ what: 'the model config of the profile', path: configPath });
  for (const m of [join(dir, 'meta.yaml'), join(root, 'meta.yaml'), join(dirname(dir), 'meta.yaml')]) if (existsSync(m)) out.push({ what: `the profile's ${m}`, path: m });
  for (const t of ['attention.csv', 'dense.csv', 'moe.csv', 'per_sequence.csv']) out.push({ what: `the profile table ${join(dir, t)}`, path: join(dir, t) });
  return out;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function findConfig(dir: string, root: string): string | undefined {
  for (const d of [dir, root, dirname(dir)]) {
    for (const f of ['model-config.json', 'config.json']) {
      const p = join(d, f);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

function readMeta(dir: string, root: string): ProfileMeta {
  const path = [join(dir, 'meta.yaml'), join(root, 'meta.yaml'), join(dirname(dir), 'meta.yaml')].find((p) => existsSync(p));
  if (!path) return {};
  let doc: Record<string, unknown>;
  try {
    doc = (parseYaml(readInputText(path, FIELD, 'text', 'meta.yaml')) ?? {}) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(FIELD, path, `meta.yaml is not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  const eng = (doc.engine_effective ?? {}) as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const perTp = ((((doc.skew_fit ?? {}) as Record<string, unknown>).per_tp ?? {}) as Record<string, Record<string, unknown> | undefined>);
  return {
    vllmVersion: doc.vllm_version !== undefined ? String(doc.vllm_version) : undefined,
    gpu: doc.gpu !== undefined ? String(doc.gpu) : undefined,
    hardware: doc.hardware !== undefined ? String(doc.hardware) : undefined,
    model: doc.model !== undefined ? String(doc.model) : undefined,
    enforceEager: typeof eng.enforce_eager === 'boolean' ? eng.enforce_eager : undefined,
    maxNumSeqs: n(eng.max_num_seqs),
    maxNumBatchedTokens: n(eng.max_num_batched_tokens),
    blockSize: n(eng.block_size),
    gpuMemoryUtilization: n(eng.gpu_memory_utilization),
    tpDegrees: Array.isArray(doc.tp_degrees) ? (doc.tp_degrees as unknown[]).filter((v): v is number => typeof v === 'number') : undefined,
    skewAlpha: n(perTp['1']?.alpha_default),
    skewAlphaByTp: Object.fromEntries(
      Object.entries(perTp)
        .map(([k, v]) => [Number(k), n(v?.alpha_default)] as const)
        .filter((e): e is readonly [number, number] => Number.isInteger(e[0]) && e[1] !== undefined),
    ),
  };
}

/** Parse a numeric CSV with a header; returns the column index map and numeric rows. */
function readCsv(path: string, required: readonly string[], textColumns: readonly string[] = []): { cols: Map<string, number>; rows: { line: number; cells: (number | string)[] }[] } {
  let text: string;
  try {
    text = readInputText(path, FIELD, 'text', basename(path));
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new InputError(FIELD, path, `cannot read ${basename(path)} (${code})`);
  }
  const csv = parseCsv(text);
  if (!csv) throw new InputError(FIELD, path, `${basename(path)} is empty`);
  const header = csv.header;
  const cols = new Map(header.map((c, i) => [c, i]));
  for (const c of required) {
    if (!cols.has(c)) throw new InputError(FIELD, path, `${basename(path)} has no column "${c}" (header: ${header.join(', ')})`);
  }
  const rows: { line: number; cells: (number | string)[] }[] = [];
  for (const { line: i, cells: parts } of csv.rows) {
    if (parts.length < header.length) throw new InputError(FIELD, parts.join(','), `${path}:${i}: expected ${header.length} columns`);
    const cells = parts.map((p, j) => (textColumns.includes(header[j]) ? p.trim() : Number(p)));
    for (const c of required) {
      if (textColumns.includes(c)) continue;
      const v = cells[cols.get(c)!] as number;
      if (!Number.isFinite(v) || v < 0) throw new InputError(FIELD, parts[cols.get(c)!], `${path}:${i}: column "${c}" must be a non-negative number`);
    }
    rows.push({ line: i, cells });
  }
  if (rows.length === 0) throw new InputError(FIELD, path, `${basename(path)} has no rows`);
  return { cols, rows };
}

function readSeries(path: string, key: string): Map<string, Series> {
  const { cols, rows } = readCsv(path, ['layer', key, 'time_us'], ['layer']);
  const byLayer = new Map<string, Map<number, number>>();
  for (const r of rows) {
    const layer = String(r.cells[cols.get('layer')!]);
    const x = r.cells[cols.get(key)!] as number;
    if (!byLayer.has(layer)) byLayer.set(layer, new Map());
    byLayer.get(layer)!.set(x, r.cells[cols.get('time_us')!] as number); // duplicate keys: last wins
  }
  const out = new Map<string, Series>();
  for (const [layer, m] of byLayer) {
    const x = [...m.keys()].sort((a, b) => a - b);
    out.set(layer, { x, us: x.map((k) => m.get(k)!) });
  }
  return out;
}

function readMoe(path: string): MoeRows {
  const { cols, rows } = readCsv(path, ['tokens', 'activated_experts', 'time_us']);
  const ep = cols.get('ep');
  const out: MoeRows = { tokens: [], experts: [], us: [] };
  for (const r of rows) {
    if (ep !== undefined && r.cells[ep] !== 1) continue; // newer profiles: use the whole-model (ep = 1) rows
    out.tokens.push(r.cells[cols.get('tokens')!] as number);
    out.experts.push(r.cells[cols.get('activated_experts')!] as number);
    out.us.push(r.cells[cols.get('time_us')!] as number);
  }
  if (out.tokens.length === 0) throw new InputError(FIELD, path, 'moe.csv has no rows with ep = 1');
  return out;
}

function readAttention(path: string): AttentionRows {
  const names = ['prefill_chunk', 'kv_prefill', 'n_decode', 'kv_decode', 'time_us'];
  const { cols, rows } = readCsv(path, names, ['layer']);
  const layerCol = cols.get('layer');
  const kept = rows.filter((r) => layerCol === undefined || r.cells[layerCol] === 'attention');
  const qlen = cols.get('decode_q_len');
  const rs = qlen === undefined ? kept : kept.filter((r) => r.cells[qlen] === 1);
  const n = rs.length;
  const a: AttentionRows = {
    n,
    prefillChunk: new Float64Array(n),
    kvPrefill: new Float64Array(n),
    nDecode: new Float64Array(n),
    kvDecode: new Float64Array(n),
    us: new Float64Array(n),
  };
  rs.forEach((r, i) => {
    a.prefillChunk[i] = r.cells[cols.get('prefill_chunk')!] as number;
    a.kvPrefill[i] = r.cells[cols.get('kv_prefill')!] as number;
    a.nDecode[i] = r.cells[cols.get('n_decode')!] as number;
    a.kvDecode[i] = r.cells[cols.get('kv_decode')!] as number;
    a.us[i] = r.cells[cols.get('time_us')!] as number;
    if (a.prefillChunk[i] + a.nDecode[i] === 0) throw new InputError(FIELD, 0, `${path}:${r.line}: a row needs a prefill chunk or decodes`);
  });
  if (n === 0) throw new InputError(FIELD, path, 'attention.csv has no usable rows');
  return a;
}

// ---- interpolation ----

/** Linear interpolation in a sorted series; clamped below the first point, extrapolated beyond the last. */
export function interpolate(s: Series, x: number): number {
  const xs = s.x;
  const n = xs.length;
  if (n === 1 || x <= xs[0]) return s.us[0];
  let i = 1;
  while (i < n - 1 && xs[i] < x) i++;
  const x0 = xs[i - 1];
  const x1 = xs[i];
  return s.us[i - 1] + ((s.us[i] - s.us[i - 1]) * (x - x0)) / (x1 - x0);
}

/**
 * MoE block latency for `tokens` tokens routed to `experts` distinct experts: linear in the
 * expert count within a token row (clamped below its smallest count, extrapolated above), then
 * linear in tokens between rows (extrapolated beyond the largest). Returns the lookup function.
 */
export function moeLatency(m: MoeRows): (tokens: number, experts: number) => number {
  const byTokens = new Map<number, { e: number; us: number }[]>();
  for (let i = 0; i < m.tokens.length; i++) {
    const t = m.tokens[i];
    if (!byTokens.has(t)) byTokens.set(t, []);
    byTokens.get(t)!.push({ e: m.experts[i], us: m.us[i] });
  }
  const tokenGrid = [...byTokens.keys()].sort((a, b) => a - b);
  const rows: Series[] = tokenGrid.map((t) => {
    const pts = byTokens.get(t)!.sort((a, b) => a.e - b.e);
    return { x: pts.map((p) => p.e), us: pts.map((p) => p.us) };
  });
  return (tokens: number, experts: number): number =>
    interpolate({ x: tokenGrid, us: rows.map((r) => interpolate(r, experts)) }, tokens);
}
