// Building Arrow tables from plain column arrays, for the handful of column kinds balanceroute
// writes. One place that knows how a kind maps to an Arrow type.
import { Dictionary, Field, Float64, Int32, Schema, Table, Utf8, makeVector, vectorFromArray, type DataType, type Vector } from 'apache-arrow';

/** Column kinds: Int32, Float64, dictionary-encoded UTF-8 (categories), plain UTF-8. */
export type ColumnKind = 'int32' | 'float64' | 'dictionary' | 'utf8';

export type CellValue = number | string | null;

/** One column ready to be written. */
export interface ColumnData {
  name: string;
  kind: ColumnKind;
  values: ArrayLike<CellValue> | Int32Array | Float64Array;
  /** Field-level metadata (we store `unit`). */
  metadata?: Record<string, string>;
}

/** A fresh Arrow type for a kind (dictionary types need their own id per column). */
export function arrowType(kind: ColumnKind): DataType {
  switch (kind) {
    case 'int32':
      return new Int32();
    case 'float64':
      return new Float64();
    case 'dictionary':
      return new Dictionary(new Utf8(), new Int32());
    case 'utf8':
      return new Utf8();
  }
}

/** The kind of an Arrow type, or undefined for types balanceroute never writes. */
export function kindOf(type: DataType): ColumnKind | undefined {
  const s = String(type);
  if (s === 'Int32') return 'int32';
  if (s === 'Float64') return 'float64';
  if (s === 'Utf8') return 'utf8';
  if (s === 'Dictionary<Int32, Utf8>') return 'dictionary';
  return undefined;
}

/** A table with schema-level metadata. All columns must have the same length. */
export function makeTable(columns: readonly ColumnData[], metadata: Record<string, string>): Table {
  const length = columns.length ? columns[0].values.length : 0;
  const fields: Field[] = [];
  const vectors: Record<string, Vector> = {};
  for (const c of columns) {
    if (c.values.length !== length) throw new Error(`column ${c.name} has ${c.values.length} values, expected ${length}`);
    if (Object.hasOwn(vectors, c.name)) throw new Error(`duplicate column ${c.name}`);
    const v = toVector(c);
    vectors[c.name] = v;
    fields.push(new Field(c.name, v.type, true, c.metadata ? new Map(Object.entries(c.metadata)) : null));
  }
  return new Table(new Schema(fields, new Map(Object.entries(metadata))), vectors);
}

function toVector(c: ColumnData): Vector {
  // Numeric columns without nulls go through typed arrays: no builder, no copy.
  if (c.kind === 'int32' || c.kind === 'float64') {
    let typed: Int32Array | Float64Array | undefined;
    if (c.kind === 'int32' && c.values instanceof Int32Array) typed = c.values;
    else if (c.kind === 'float64' && c.values instanceof Float64Array) typed = c.values;
    else if (!ArrayBuffer.isView(c.values)) {
      if (c.kind === 'int32') checkInt32(c);
      if (!Array.prototype.some.call(c.values, (x) => x === null)) {
        typed = c.kind === 'int32' ? Int32Array.from(c.values as ArrayLike<number>) : Float64Array.from(c.values as ArrayLike<number>);
      }
    }
    if (typed) return makeVector(typed) as Vector;
  }
  return vectorFromArray(Array.from(c.values as ArrayLike<CellValue>) as unknown[], arrowType(c.kind)) as Vector;
}

/** Int32 columns take integers in [-2^31, 2^31) or null; anything else is a bug upstream. */
function checkInt32(c: ColumnData): void {
  for (let i = 0; i < c.values.length; i++) {
    const v = c.values[i];
    if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)) {
      throw new Error(`column ${c.name}, row ${i}: ${String(v)} does not fit an Int32 column`);
    }
  }
}
