/**
 * Trace replay: read a request trace (CSV with a header row, JSON Lines, or Arrow IPC such as the
 * gateway's decision log) into arrival times,
 * prompt lengths and output lengths. Columns are found by well-known names (aliases below) or
 * given explicitly; the arrival column's unit comes from its name, from an explicit unit, or —
 * for date-time strings such as Azure's raw `TIMESTAMP` — from the strings themselves.
 *
 * Parsed files are cached by resolved path (invalidated when the file's size or mtime changes),
 * so a sweep that replays one trace at many rates parses it once per process.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { InputError, brief } from '../errors.ts';
import { splitCsvLine } from '../formats/csv.ts';
import { checkInputFile, forEachLine, readInputFile } from '../formats/inputFile.ts';
import { arrowTraceRows, isArrowBytes } from './arrowTrace.ts';

export type TimeUnit = 's' | 'ms' | 'us' | 'ns';
/**
 * Longest span of a trace, s from its first row (about 31 years): arrival times stay exact
 * integer microseconds far below 2^53.
 */
export const MAX_TRACE_SPAN_S = 1e9;
/** Largest token count of one request in a trace (int32 columns). */
export const MAX_TRACE_TOKENS = 2 ** 31 - 1;
export const TIME_UNITS: readonly TimeUnit[] = ['s', 'ms', 'us', 'ns'];
const US_PER: Record<TimeUnit, number> = { s: 1e6, ms: 1e3, us: 1, ns: 1e-3 };

/** Well-known arrival columns and their units ('datetime' = date-time strings). */
export const ARRIVAL_ALIASES: readonly { name: string; unit: TimeUnit | 'datetime'; origin: string }[] = [
  { name: 'arrived_at', unit: 's', origin: 'Vidur processed traces' },
  { name: 'arrival_time_ns', unit: 'ns', origin: 'LLMServingSim' },
  { name: 'timestamp', unit: 'ms', origin: 'Mooncake' },
  { name: 'TIMESTAMP', unit: 'datetime', origin: 'Azure LLM inference traces (raw)' },
  { name: 'Timestamp', unit: 's', origin: 'BurstGPT' },
];
/** Well-known prompt-length columns, in order of preference. */
export const PROMPT_ALIASES: readonly string[] = [
  'num_prefill_tokens', 'input_toks', 'ContextTokens', 'input_length', 'Request tokens',
  'prompt_tokens', 'input_tokens', 'prompt_len',
];
/** Well-known output-length columns, in order of preference. */
export const OUTPUT_ALIASES: readonly string[] = [
  'num_decode_tokens', 'output_toks', 'GeneratedTokens', 'output_length', 'Response tokens',
  'completion_tokens', 'output_tokens', 'output_len',
];

export interface TraceColumns {
  arrival?: string;
  prompt?: string;
  output?: string;
}

export interface TraceOptions {
  path: string;
  columns?: TraceColumns;
  timeUnit?: TimeUnit;
}

/** A trace as read from disk: all rows, times relative to the first row, nothing capped. */
export interface ParsedTrace {
  /** Resolved absolute path. */
  readonly path: string;
  readonly n: number;
  /** Arrival times in µs relative to the first row (not rounded: rescaling happens first). */
  readonly timeUs: Float64Array;
  readonly prompt: Int32Array;
  readonly output: Int32Array;
  /** The columns actually used and the arrival unit that was applied. */
  readonly columns: { arrival: string; prompt: string; output: string };
  readonly timeUnit: TimeUnit | 'datetime';
  /**
   * Rows left out as failed requests of the source trace: BurstGPT logs a failed request with
   * 0 response tokens (see BURSTGPT_OUTPUT). Not counted in `n`.
   */
  readonly skippedFailures: number;
}

/** A time window of a trace, in seconds of the trace's own clock from its first row. */
export interface TraceWindow {
  /** Keep rows arriving at or after this time (s). */
  startS: number;
  /** Keep rows arriving before this time (s); undefined = to the end. */
  endS?: number;
}

/**
 * BurstGPT's output column. BurstGPT (Wang et al., 2024) logs failed requests with 0 response
 * tokens; such rows are not requests a server completed, so they are skipped (and counted in
 * `skippedFailures`) rather than rejected. In every other format a 0-token row is an error.
 */
export const BURSTGPT_OUTPUT = 'Response tokens';

/** What a workload needs from a trace after `requests`, `rate` and `maxOutput` are applied. */
export interface TraceStream {
  readonly arrivalUs: Float64Array;
  readonly prompt: Int32Array;
  readonly output: Int32Array;
}

const CACHE_LIMIT = 8;
const cache = new Map<string, { size: number; mtimeMs: number; trace: ParsedTrace }>();

/** Parse a trace file (cached by path, columns and unit). Throws InputError on any bad input. */
export function parseTraceFile(opts: TraceOptions): ParsedTrace {
  const abs = resolve(opts.path);
  const key = JSON.stringify([abs, opts.columns?.arrival, opts.columns?.prompt, opts.columns?.output, opts.timeUnit]);
  // A regular file under the trace limit (src/formats/inputFile.ts): never a device read without bound.
  const st = checkInputFile(opts.path, 'trace', 'trace', 'trace file');
  const hit = cache.get(key);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) {
    cache.delete(key);
    cache.set(key, hit); // most recently used last
    return hit.trace;
  }
  // Arrow IPC (e.g. a gateway decision log, read whole) or text (CSV / JSON Lines, streamed line
  // by line: a trace may be larger than one JavaScript string).
  const src = isArrowBytes(head(abs, opts.path))
    ? arrowTraceRows(readInputFile(opts.path, 'trace', 'arrow', 'Arrow trace'), opts.path)
    : readRows(opts.path);
  const trace = parseTraceRows(src, opts.path, abs, opts);
  cache.set(key, { size: st.size, mtimeMs: st.mtimeMs, trace });
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return trace;
}

/** Forget cached traces (tests). */
export function clearTraceCache(): void {
  cache.clear();
}

/**
 * Apply a workload's `window` (rows arriving in [start, end) seconds of the trace's own clock,
 * re-timed to start at 0), `requests` (first n rows of the window; 0 = all), `rate` (rescale so
 * that (n-1)/(t_last - t_first) = rate; 0 = keep the trace's timing) and output cap to a parsed
 * trace. Arrival times come out rounded to integer µs, the first at 0.
 */
export function traceStream(
  trace: ParsedTrace,
  requests: number,
  rate: number,
  maxOutput: number,
  displayPath = trace.path,
  window?: TraceWindow,
): TraceStream {
  let lo = 0;
  let hi = trace.n;
  if (window) {
    const startUs = window.startS * 1e6;
    const endUs = window.endS === undefined ? Infinity : window.endS * 1e6;
    while (lo < trace.n && trace.timeUs[lo] < startUs) lo++;
    hi = lo;
    while (hi < trace.n && trace.timeUs[hi] < endUs) hi++;
    if (hi === lo) {
      const spanS = trace.n ? trace.timeUs[trace.n - 1] / 1e6 : 0;
      throw new InputError(
        'trace_window',
        { start_s: window.startS, end_s: window.endS },
        `selects no row of ${displayPath} (its arrivals span 0 to ${spanS.toFixed(3)} s from the first row)`,
      );
    }
  }
  const available = hi - lo;
  if (requests > available) {
    const what = window ? `trace ${displayPath} has only ${available} rows in the window` : `trace ${displayPath} has only ${available} rows`;
    throw new InputError('requests', requests, `${what}; ask for at most ${available} (or 0 for all)`);
  }
  const n = requests > 0 ? requests : available;
  const t0 = trace.timeUs[lo];
  const arrivalUs = new Float64Array(n);
  let scale = 1;
  if (rate > 0 && n >= 2) {
    const span = trace.timeUs[lo + n - 1] - t0;
    if (!(span > 0)) {
      throw new InputError('rate', rate, `cannot rescale trace ${displayPath}: its first ${n} arrivals share one timestamp`);
    }
    scale = ((n - 1) / rate) * 1e6 / span;
  }
  for (let i = 0; i < n; i++) arrivalUs[i] = Math.round((trace.timeUs[lo + i] - t0) * scale);
  const prompt = trace.prompt.slice(lo, lo + n);
  const output = trace.output.slice(lo, lo + n);
  for (let i = 0; i < n; i++) if (output[i] > maxOutput) output[i] = maxOutput;
  return { arrivalUs, prompt, output };
}

// ---------------------------------------------------------------------------------------------

function unreadable(path: string, e: unknown): InputError {
  const err = e as NodeJS.ErrnoException;
  const code = err?.code ?? 'EIO';
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(err?.message ?? e).split('\n')[0];
  return new InputError('trace', path, `cannot read trace file (${code}: ${why})`);
}

/** Date-time strings: 2023-11-16 18:15:46.6805900, optional 'T', optional Z or ±hh:mm. */
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$/;

/** Parse a date-time string to µs since the epoch (UTC unless an offset is given); NaN if not one. */
export function parseDateTimeUs(s: string): number {
  const m = DATETIME.exec(s.trim());
  if (!m) return NaN;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (!Number.isFinite(ms)) return NaN;
  let us = ms * 1000;
  if (m[7]) us += Math.round(Number('0.' + m[7]) * 1e6);
  if (m[8] && m[8] !== 'Z') {
    const sign = m[8][0] === '-' ? -1 : 1;
    const digits = m[8].slice(1).replace(':', '');
    us -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60e6;
  }
  return us;
}

/** Infer a unit from a column name's suffix (`_ns`, `_us`, `_ms`, `_s`, ` (s)`, ...). */
export function unitFromName(name: string): TimeUnit | undefined {
  const alias = ARRIVAL_ALIASES.find((a) => a.name === name);
  if (alias && alias.unit !== 'datetime') return alias.unit;
  const m = /(?:^|[_\s(\[])(ns|us|µs|ms|s|sec|secs|seconds)[)\]]?$/i.exec(name);
  if (!m) return undefined;
  const u = m[1].toLowerCase();
  return u === 'ns' ? 'ns' : u === 'us' || u === 'µs' ? 'us' : u === 'ms' ? 'ms' : 's';
}

type Cell = string | number | null | undefined;

interface RowSource {
  header: string[];
  /** Rows: 1-based line number in the file and the cells in header order. */
  rows: { line: number; cells: Cell[] }[];
  /** Rows the source already left out as failed requests. */
  skipped?: number;
}

/** The first bytes of a file (to tell Arrow from text). */
function head(abs: string, display: string): Buffer {
  const b = Buffer.alloc(64);
  let fd: number;
  try {
    fd = openSync(abs, 'r');
  } catch (e) {
    throw unreadable(display, e);
  }
  try {
    return b.subarray(0, readSync(fd, b, 0, b.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** Rows of a CSV (header row first) or JSON Lines trace, read line by line. */
function readRows(display: string): RowSource {
  const ext = extname(display).toLowerCase();
  let kind: 'csv' | 'jsonl' | undefined = ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : ext === '.csv' ? 'csv' : undefined;
  let header: string[] | undefined;
  const rows: RowSource['rows'] = [];
  forEachLine(display, 'trace', 'trace', 'trace file', (raw, lineNo) => {
    let line = lineNo === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const t = line.trim();
    if (t === '') return;
    if (kind === undefined) {
      // The first non-blank line decides (no extension to go by).
      if (t.startsWith('[')) throw new InputError('trace', display, 'a JSON array is not supported; write one JSON object per line (JSON Lines) or CSV with a header row');
      kind = t.startsWith('{') ? 'jsonl' : 'csv';
    }
    if (kind === 'csv') {
      if (!header) header = splitCsvLine(line).map((c) => c.trim());
      else rows.push({ line: lineNo, cells: splitCsvLine(line) });
      return;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch {
      throw new InputError('trace', brief(t, 120), `${display}:${lineNo}: not valid JSON (JSON Lines traces hold one object per line)`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new InputError('trace', obj, `${display}:${lineNo}: expected a JSON object per line`);
    }
    const o = obj as Record<string, unknown>;
    if (!header) header = Object.keys(o);
    rows.push({
      line: lineNo,
      cells: header.map((k) => {
        const v = o[k];
        return typeof v === 'number' || typeof v === 'string' ? v : v === undefined ? undefined : null;
      }),
    });
  });
  if (!header) throw new InputError('trace', display, 'trace file is empty');
  return { header, rows };
}

function findColumn(header: string[], role: 'arrival' | 'prompt' | 'output', explicit: string | undefined, aliases: readonly string[], display: string): number {
  if (explicit !== undefined) {
    const j = header.indexOf(explicit);
    if (j < 0) {
      throw new InputError(`trace_columns.${role}`, explicit, `no such column in ${display}; header has: ${brief(header.join(', '), 200)}`);
    }
    return j;
  }
  for (const a of aliases) {
    const j = header.indexOf(a);
    if (j >= 0) return j;
  }
  throw new InputError(
    'trace',
    display,
    `no ${role} column found (looked for ${aliases.join(', ')}; header has: ${brief(header.join(', '), 200)}); name it with trace_columns`,
  );
}

function parseTraceRows(src: RowSource, display: string, abs: string, opts: TraceOptions): ParsedTrace {
  if (opts.timeUnit !== undefined && !TIME_UNITS.includes(opts.timeUnit)) {
    throw new InputError('trace_time_unit', opts.timeUnit, `unknown time unit; use one of ${TIME_UNITS.join(', ')}`);
  }
  const { header, rows } = src;
  const ja = findColumn(header, 'arrival', opts.columns?.arrival, ARRIVAL_ALIASES.map((a) => a.name), display);
  const jp = findColumn(header, 'prompt', opts.columns?.prompt, PROMPT_ALIASES, display);
  const jo = findColumn(header, 'output', opts.columns?.output, OUTPUT_ALIASES, display);
  const arrivalName = header[ja];
  const n = rows.length;
  if (n === 0) throw new InputError('trace', display, 'trace file has no requests (only a header)');

  // Arrival unit: explicit > date-time strings > alias table > name suffix.
  const first = rows[0].cells[ja];
  const firstNum = toNumber(first);
  let unit: TimeUnit | 'datetime';
  if (!Number.isFinite(firstNum) && typeof first === 'string' && Number.isFinite(parseDateTimeUs(first))) {
    unit = 'datetime';
  } else if (opts.timeUnit !== undefined) {
    unit = opts.timeUnit;
  } else {
    const u = unitFromName(arrivalName);
    if (u === undefined) {
      const alias = ARRIVAL_ALIASES.find((a) => a.name === arrivalName);
      throw new InputError(
        'trace_time_unit',
        opts.timeUnit,
        alias
          ? `column "${arrivalName}" of ${display} should hold date-times but holds numbers; set trace_time_unit to s, ms, us or ns`
          : `cannot tell the unit of arrival column "${arrivalName}" of ${display} from its name; set trace_time_unit to s, ms, us or ns`,
      );
    }
    unit = u;
  }
  const factor = unit === 'datetime' ? 1 : US_PER[unit];

  const burst = header[jo] === BURSTGPT_OUTPUT;
  const raw = new Float64Array(n);
  const prompt = new Int32Array(n);
  const output = new Int32Array(n);
  let kept = 0;
  let skipped = src.skipped ?? 0;
  let prev = -Infinity;
  for (let i = 0; i < n; i++) {
    const { line, cells } = rows[i];
    if (burst && toNumber(cells[jo]) === 0) {
      skipped++; // a failed request in BurstGPT's log
      continue;
    }
    const a = cells[ja];
    let t: number;
    if (unit === 'datetime') {
      t = typeof a === 'string' ? parseDateTimeUs(a) : NaN;
      if (!Number.isFinite(t)) {
        throw new InputError('trace', cellValue(a), `${display}:${line}: arrival column "${arrivalName}" is not a date-time like 2023-11-16 18:15:46.6805900`);
      }
    } else {
      t = toNumber(a);
      if (!Number.isFinite(t)) {
        throw new InputError('trace', cellValue(a), `${display}:${line}: arrival column "${arrivalName}" ${a === undefined || a === '' ? 'is missing' : 'is not a number'}`);
      }
    }
    if (kept > 0 && (t - raw[0]) * factor > MAX_TRACE_SPAN_S * 1e6) {
      throw new InputError(
        'trace',
        cellValue(a),
        `${display}:${line}: arrival column "${arrivalName}" is ${(((t - raw[0]) * factor) / 1e6).toPrecision(3)} s after the first row; a trace may span at most ${MAX_TRACE_SPAN_S} s`,
      );
    }
    if (t < prev) {
      throw new InputError('trace', cellValue(a), `${display}:${line}: arrival time goes backwards (the previous row has ${formatTime(prev, unit)}); traces must be sorted by arrival`);
    }
    prev = t;
    raw[kept] = t;
    prompt[kept] = tokens(cells[jp], 'prompt', header[jp], display, line);
    output[kept] = tokens(cells[jo], 'output', header[jo], display, line);
    kept++;
  }
  if (kept === 0) throw new InputError('trace', display, `trace file has no successful requests (all ${skipped} rows have 0 ${BURSTGPT_OUTPUT})`);
  const timeUs = new Float64Array(kept);
  const t0 = raw[0];
  for (let i = 0; i < kept; i++) timeUs[i] = (raw[i] - t0) * factor;
  return {
    path: abs,
    n: kept,
    timeUs,
    prompt: kept === n ? prompt : prompt.slice(0, kept),
    output: kept === n ? output : output.slice(0, kept),
    columns: { arrival: arrivalName, prompt: header[jp], output: header[jo] },
    timeUnit: unit,
    skippedFailures: skipped,
  };
}

function formatTime(t: number, unit: TimeUnit | 'datetime'): string {
  return unit === 'datetime' ? new Date(t / 1000).toISOString() : String(t);
}

function toNumber(c: Cell): number {
  if (typeof c === 'number') return c;
  if (typeof c !== 'string') return NaN;
  const s = c.trim();
  if (s === '') return NaN;
  return Number(s);
}

function cellValue(c: Cell): unknown {
  return c === undefined ? '' : c;
}

function tokens(c: Cell, role: 'prompt' | 'output', col: string, display: string, line: number): number {
  const v = toNumber(c);
  if (!Number.isFinite(v)) {
    throw new InputError('trace', cellValue(c), `${display}:${line}: ${role} column "${col}" ${c === undefined || c === '' ? 'is missing' : 'is not a number'}`);
  }
  if (v < 1) {
    throw new InputError('trace', c, `${display}:${line}: ${role} column "${col}" must be at least 1 token (drop failed or empty requests from the trace)`);
  }
  if (!Number.isInteger(v)) {
    throw new InputError('trace', c, `${display}:${line}: ${role} column "${col}" must be a whole number of tokens`);
  }
  if (v > MAX_TRACE_TOKENS) {
    throw new InputError('trace', c, `${display}:${line}: ${role} column "${col}" is out of range: at most ${MAX_TRACE_TOKENS} tokens`);
  }
  return v;
}
