// Arrow IPC traces (file or stream format) as rows for the trace reader. A balanceroute gateway
// decision log (schema metadata format = DECISIONS_FORMAT) is a trace too: its rows are written
// when requests end, so they are put back in arrival order, and requests that did not complete
// are left out (counted as skipped failures, like BurstGPT's failed rows).
import { RecordBatchReader, Table, tableFromIPC, type Schema } from 'apache-arrow';
import { InputError } from '../errors.ts';

/** Schema metadata `format` of the gateway's decision log. */
export const DECISIONS_FORMAT = 'balanceroute-decisions/1';

export type ArrowCell = string | number | null | undefined;

export interface ArrowRows {
  header: string[];
  rows: { line: number; cells: ArrowCell[] }[];
  /** Rows left out as requests that did not complete. */
  skipped: number;
}

/** True when the bytes start like an Arrow IPC file ("ARROW1") or stream (continuation marker). */
export function isArrowBytes(b: Uint8Array): boolean {
  if (b.length >= 6 && String.fromCharCode(...b.subarray(0, 6)) === 'ARROW1') return true;
  return b.length >= 8 && b[0] === 0xff && b[1] === 0xff && b[2] === 0xff && b[3] === 0xff;
}

/** Read an Arrow table, keeping the complete batches of a stream cut short by a crash. */
export function arrowTableFromBytes(bytes: Uint8Array, display: string): Table {
  try {
    return tableFromIPC(bytes);
  } catch {
    // a torn last message: read batch by batch below
  }
  const batches = [];
  let schema: Schema | undefined;
  try {
    const reader = RecordBatchReader.from(bytes);
    reader.open();
    schema = reader.schema;
    for (let r = reader.next(); !r.done; r = reader.next()) batches.push(r.value);
  } catch {
    // keep what was read
  }
  if (!schema) throw new InputError('trace', display, 'not a readable Arrow IPC file or stream');
  return new Table(schema, batches);
}

export function arrowTraceRows(bytes: Uint8Array, display: string): ArrowRows {
  const table = arrowTableFromBytes(bytes, display);
  const header = table.schema.fields.map((f) => f.name);
  const cols = header.map((h) => table.getChild(h)!.toArray() as ArrayLike<unknown>);
  let order = Array.from({ length: table.numRows }, (_, i) => i);
  let skipped = 0;
  if (table.schema.metadata.get('format') === DECISIONS_FORMAT) {
    const outcome = cols[header.indexOf('outcome')];
    const out = cols[header.indexOf('completion_tokens')];
    const at = cols[header.indexOf('arrived_at')] as ArrayLike<number>;
    if (!outcome || !out || !at) throw new InputError('trace', display, 'decision log lacks outcome, completion_tokens or arrived_at');
    const kept = order.filter((i) => outcome[i] === 'ok' && Number(out[i]) >= 1);
    skipped = order.length - kept.length;
    order = kept.sort((a, b) => at[a] - at[b] || a - b);
  }
  const rows = order.map((i) => ({
    line: i + 1,
    cells: cols.map((c): ArrowCell => {
      const v = c[i];
      return typeof v === 'number' || typeof v === 'string' ? v : typeof v === 'bigint' ? Number(v) : v == null ? null : undefined;
    }),
  }));
  return { header, rows, skipped };
}
