// The gateway's decision log: one row per client request, written as an Arrow IPC *stream*
// (schema message, then one record batch per flush). Each flush is appended with one write, so
// a file cut short by a crash or `kill -9` ends at a complete batch and stays readable: a stream
// without its end-of-stream marker is still a valid prefix, and readDecisionLog also drops a
// torn last message. The columns double as a replay trace (`arrived_at`, `prompt_tokens`,
// `completion_tokens` are names src/workload/traceReader.ts knows).
import { closeSync, openSync, writeSync } from 'node:fs';
import { readInputFile } from '../../formats/inputFile.ts';
import { Bool, Field, Float64, Int32, List, Schema, Table, Utf8, makeVector, tableToIPC, vectorFromArray, type DataType, type Vector } from 'apache-arrow';
import { InputError } from '../../errors.ts';
import { arrowTableFromBytes, DECISIONS_FORMAT } from '../../workload/arrowTrace.ts';

export { DECISIONS_FORMAT };

/** How a request ended. */
export type Outcome =
  | 'ok' // upstream answered 2xx and the body was delivered
  | 'upstream_4xx' // upstream rejected the request (passed through to the client)
  | 'upstream_error' // upstream failed (refused, reset, 5xx, error event) on every attempt
  | 'failed_midstream' // upstream failed after the first byte reached the client
  | 'client_abort' // the client went away; the upstream request was aborted
  | 'server_shutdown' // the gateway stopped (SIGTERM) before it ended; the client got an error event and [DONE]
  | 'no_backend'; // no healthy rank: 503

export interface DecisionRow {
  requestId: string;
  /** Unix time the gateway received the request, s. */
  arrivedAt: number;
  promptTokens: number;
  promptExact: boolean;
  completionTokens: number;
  endpoint: string;
  stream: boolean;
  /** Final rank (-1: none). */
  rank: number;
  /** Rank of the first attempt (differs from `rank` after a retry). */
  firstRank: number;
  backend: number;
  attempts: number;
  /** Per rank at the first decision: load (KV + queued tokens), in-flight, waiting, running. NaN: not eligible. */
  rankLoad: Float64Array | null;
  rankInflight: Float64Array | null;
  rankWaiting: Float64Array | null;
  rankRunning: Float64Array | null;
  viewAgeMs: number;
  decisionUs: number;
  /** Time to first output byte from arrival, ms (NaN: none). */
  ttftMs: number;
  /** Unix time the request ended, s. */
  endAt: number;
  outcome: Outcome;
  httpStatus: number;
  /** Wave admission: the wave the request was released in (-1: not held, --admission immediate or a pinned rank). */
  wave: number;
  /** Wave admission: time held before release, ms (0 when not held). */
  heldMs: number;
}

type Col = [name: string, type: () => DataType, get: (r: DecisionRow) => unknown, unit?: string];

const f64 = () => new Float64();
const i32 = () => new Int32();
const list = () => new List(new Field('item', new Float64(), true));
const COLUMNS: readonly Col[] = [
  ['request_id', () => new Utf8(), (r) => r.requestId],
  ['arrived_at', f64, (r) => r.arrivedAt, 's'],
  ['prompt_tokens', i32, (r) => r.promptTokens, 'tokens'],
  ['prompt_exact', () => new Bool(), (r) => r.promptExact],
  ['completion_tokens', i32, (r) => r.completionTokens, 'tokens'],
  ['endpoint', () => new Utf8(), (r) => r.endpoint],
  ['stream', () => new Bool(), (r) => r.stream],
  ['rank', i32, (r) => r.rank],
  ['first_rank', i32, (r) => r.firstRank],
  ['backend', i32, (r) => r.backend],
  ['attempts', i32, (r) => r.attempts],
  ['rank_load', list, (r) => (r.rankLoad ? Array.from(r.rankLoad) : null), 'tokens'],
  ['rank_inflight', list, (r) => (r.rankInflight ? Array.from(r.rankInflight) : null)],
  ['rank_waiting', list, (r) => (r.rankWaiting ? Array.from(r.rankWaiting) : null)],
  ['rank_running', list, (r) => (r.rankRunning ? Array.from(r.rankRunning) : null)],
  ['view_age_ms', f64, (r) => r.viewAgeMs, 'ms'],
  ['decision_us', f64, (r) => r.decisionUs, 'us'],
  ['ttft_ms', f64, (r) => r.ttftMs, 'ms'],
  ['end_at', f64, (r) => r.endAt, 's'],
  ['outcome', () => new Utf8(), (r) => r.outcome],
  ['http_status', i32, (r) => r.httpStatus],
  ['wave', i32, (r) => r.wave],
  ['held_ms', f64, (r) => r.heldMs, 'ms'],
];

export const DECISION_COLUMNS = COLUMNS.map((c) => c[0]);

function schemaOf(meta: Record<string, string>): Schema {
  return new Schema(
    COLUMNS.map(([name, type, , unit]) => new Field(name, type(), true, unit ? new Map([['unit', unit]]) : null)),
    new Map(Object.entries({ format: DECISIONS_FORMAT, ...meta })),
  );
}

const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

function toTable(schema: Schema, rows: readonly DecisionRow[]): Table {
  const vectors: Record<string, Vector> = {};
  for (const [name, type, get] of COLUMNS) {
    const t = type();
    const values = rows.map(get);
    if (t instanceof Float64) vectors[name] = makeVector(Float64Array.from(values as number[])) as Vector;
    else if (t instanceof Int32) vectors[name] = makeVector(Int32Array.from(values as number[])) as Vector;
    else vectors[name] = vectorFromArray(values, t) as Vector;
  }
  return new Table(schema, vectors);
}

export interface DecisionLogOptions {
  /** Write a batch after this many rows... */
  batchRows: number;
  /** ...or after this long with rows pending, ms. */
  flushMs: number;
  /** Schema metadata (router, knobs, topology). Never secrets. */
  metadata: Record<string, string>;
}

/** Appends decision rows to an Arrow IPC stream file. */
export class DecisionLog {
  private fd: number;
  private readonly schema: Schema;
  private readonly schemaBytes: number;
  private pending: DecisionRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  rowsWritten = 0;

  constructor(
    readonly path: string,
    private readonly opts: DecisionLogOptions,
  ) {
    this.schema = schemaOf(opts.metadata);
    const head = tableToIPC(new Table(this.schema), 'stream');
    this.schemaBytes = head.length - EOS.length;
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new InputError('log', path, `cannot write the decision log (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    writeSync(this.fd, head.subarray(0, this.schemaBytes));
  }

  add(row: DecisionRow): void {
    if (this.closed) return;
    this.pending.push(row);
    if (this.pending.length >= this.opts.batchRows) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.opts.flushMs);
      this.timer.unref();
    }
  }

  /** Write pending rows as one record batch, in one write. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0 || this.closed) return;
    const rows = this.pending;
    this.pending = [];
    const bytes = tableToIPC(toTable(this.schema, rows), 'stream');
    writeSync(this.fd, bytes.subarray(this.schemaBytes, bytes.length - EOS.length));
    this.rowsWritten += rows.length;
  }

  /** Flush and write the end-of-stream marker. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    writeSync(this.fd, EOS);
    closeSync(this.fd);
  }
}

/**
 * Read a decision log, including one cut short by a crash: complete batches are kept, a torn last
 * message is dropped.
 */
export function readDecisionLog(path: string): Table {
  let bytes: Uint8Array;
  try {
    bytes = readInputFile(path, 'file', 'arrow', 'decision log');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('file', path, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return arrowTableFromBytes(bytes, path);
}
