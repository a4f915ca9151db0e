// Reading Arrow IPC files (file or stream format) back into plain columns and rows.

import { readInputFile } from './inputFile.ts';
import { tableFromIPC, type DataType, type Table } from 'apache-arrow';
import { InputError } from '../errors.ts';

/** One column's description. */
export interface ColumnInfo {
  name: string;
  type: DataType;
  /** Arrow's name for the type, e.g. 'Int32', 'Float64', 'Dictionary<Int32, Utf8>'. */
  typeName: string;
  /** Field-level metadata (e.g. `unit`). */
  metadata: Record<string, string>;
}

export interface ArrowFileData {
  path: string;
  table: Table;
  numRows: number;
  columns: ColumnInfo[];
  /** Schema-level metadata. */
  metadata: Record<string, string>;
  /** A column's values as plain JS: numbers, strings, null (Int64 becomes number). */
  column(name: string): unknown[];
  /** All rows as objects keyed by column name. */
  rows(): Record<string, unknown>[];
}

const FILE_MAGIC = 'ARROW1';

/** Read an Arrow IPC file. Unreadable or non-Arrow files are InputErrors naming `file`. */
export function readArrowFile(path: string): ArrowFileData {
  let bytes: Uint8Array;
  try {
    bytes = readInputFile(path, 'file', 'arrow', 'file');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('file', path, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const table = parseIpc(bytes, path);
  const columns: ColumnInfo[] = table.schema.fields.map((f) => ({
    name: f.name,
    type: f.type,
    typeName: String(f.type),
    metadata: Object.fromEntries(f.metadata ?? new Map()),
  }));
  const column = (name: string): unknown[] => {
    const v = table.getChild(name);
    if (!v) throw new InputError('column', name, `not in ${path}; columns: ${columns.map((c) => c.name).join(', ')}`);
    return Array.from(v, plain);
  };
  return {
    path,
    table,
    numRows: table.numRows,
    columns,
    metadata: Object.fromEntries(table.schema.metadata ?? new Map()),
    column,
    rows() {
      const cols = columns.map((c) => [c.name, column(c.name)] as const);
      return Array.from({ length: table.numRows }, (_, i) => Object.fromEntries(cols.map(([n, vs]) => [n, vs[i]])));
    },
  };
}

function parseIpc(bytes: Uint8Array, path: string): Table {
  const head = Buffer.from(bytes.subarray(0, 6)).toString('latin1');
  // File format starts with ARROW1; stream format with a 0xFFFFFFFF continuation marker.
  const isStream = bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff;
  if (head !== FILE_MAGIC && !isStream) throw new InputError('file', path, 'not an Arrow IPC file');
  try {
    return tableFromIPC(bytes);
  } catch (e) {
    throw new InputError('file', path, `not an Arrow IPC file (or truncated: ${(e as Error).message})`);
  }
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  return v ?? null;
}
