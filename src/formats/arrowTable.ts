// Building Arrow record batches from plain column arrays, for the handful of column kinds
// balanceroute writes. The one place that knows how a kind maps to an Arrow type and buffers.
import {
  Dictionary,
  Field,
  Float64,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
  type DataType,
  type Vector,
} from 'apache-arrow';

/** Column kinds: Int32, Float64, dictionary-encoded UTF-8 (categories), plain UTF-8. */
export type ColumnKind = 'int32' | 'float64' | 'dictionary' | 'utf8';

export type CellValue = number | string | null;

/** A column's name, kind and field-level metadata (we store `unit`). */
export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  metadata?: Record<string, string>;
}

/** One column ready to be written. */
export interface ColumnData extends ColumnSpec {
  values: ArrayLike<CellValue> | Int32Array | Float64Array;
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

interface DictionaryColumn {
  type: Dictionary<Utf8, Int32>;
  /** value -> index into the dictionary */
  index: Map<string, number>;
  vector: Vector<Utf8>;
}

/**
 * The schema of one file and a fixed dictionary per dictionary column. The Arrow file format
 * cannot replace a dictionary between record batches, so every value a dictionary column will
 * hold is given up front (writers know them from the configurations before simulating); every
 * batch then shares that one dictionary and it is written once.
 */
export class BatchLayout {
  readonly schema: Schema;
  readonly columns: readonly ColumnSpec[];
  private readonly dicts: (DictionaryColumn | undefined)[];

  constructor(columns: readonly ColumnSpec[], metadata: Record<string, string>, dictionaryValues: (column: string) => Iterable<string | null>) {
    const seen = new Set<string>();
    this.columns = columns;
    this.dicts = columns.map((c) => {
      if (seen.has(c.name)) throw new Error(`duplicate column ${c.name}`);
      seen.add(c.name);
      if (c.kind !== 'dictionary') return undefined;
      const index = new Map<string, number>();
      for (const v of dictionaryValues(c.name)) if (v !== null && !index.has(v)) index.set(v, index.size);
      return { type: new Dictionary(new Utf8(), new Int32()), index, vector: vectorFromArray([...index.keys()], new Utf8()) };
    });
    const fields = columns.map(
      (c, i) => new Field(c.name, this.dicts[i]?.type ?? simpleType(c.kind), true, c.metadata ? new Map(Object.entries(c.metadata)) : null),
    );
    this.schema = new Schema(fields, new Map(Object.entries(metadata)));
  }

  /** A layout whose dictionaries are the distinct values of the given columns (a one-shot write). */
  static of(columns: readonly ColumnData[], metadata: Record<string, string>): BatchLayout {
    const byName = new Map(columns.map((c) => [c.name, c]));
    return new BatchLayout(columns, metadata, (name) => Array.from(byName.get(name)!.values as ArrayLike<CellValue>, (v) => (v === null ? null : String(v))));
  }

  /** One record batch; `values[i]` holds column i's values. All columns must have the same length. */
  batch(values: readonly (ArrayLike<CellValue> | Int32Array | Float64Array)[]): RecordBatch {
    if (values.length !== this.columns.length) throw new Error(`batch has ${values.length} columns, layout has ${this.columns.length}`);
    const length = values.length ? values[0].length : 0;
    const children = this.columns.map((c, i) => {
      if (values[i].length !== length) throw new Error(`column ${c.name} has ${values[i].length} values, expected ${length}`);
      return columnData(c, values[i], this.dicts[i]);
    });
    const data = makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children });
    return new RecordBatch(this.schema, data);
  }
}

/** A table with schema-level metadata, in one record batch. All columns must have the same length. */
export function makeTable(columns: readonly ColumnData[], metadata: Record<string, string>): Table {
  const layout = BatchLayout.of(columns, metadata);
  return new Table([layout.batch(columns.map((c) => c.values))]);
}

function simpleType(kind: ColumnKind): DataType {
  switch (kind) {
    case 'int32':
      return new Int32();
    case 'float64':
      return new Float64();
    case 'utf8':
    case 'dictionary':
      return new Utf8();
  }
}

function columnData(c: ColumnSpec, values: ArrayLike<CellValue>, dict: DictionaryColumn | undefined): Data {
  const length = values.length;
  if (c.kind === 'int32' || c.kind === 'float64') {
    // Typed arrays of the right type go in as they are: no copy.
    if (c.kind === 'int32' && values instanceof Int32Array) return makeData({ type: new Int32(), length, data: values });
    if (c.kind === 'float64' && values instanceof Float64Array) return makeData({ type: new Float64(), length, data: values });
    const data = c.kind === 'int32' ? new Int32Array(length) : new Float64Array(length);
    const { nullBitmap, nullCount } = validity(values);
    for (let i = 0; i < length; i++) {
      const v = values[i];
      if (v === null) continue;
      if (typeof v !== 'number' || (c.kind === 'int32' && (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31))) {
        // Anything else is a bug upstream.
        throw new Error(`column ${c.name}, row ${i}: ${String(v)} does not fit ${c.kind === 'int32' ? 'an Int32' : 'a Float64'} column`);
      }
      data[i] = v;
    }
    const type = c.kind === 'int32' ? new Int32() : new Float64();
    return makeData({ type, length, data, nullCount, nullBitmap } as Parameters<typeof makeData>[0]);
  }
  if (dict) {
    const indices = new Int32Array(length);
    const { nullBitmap, nullCount } = validity(values);
    for (let i = 0; i < length; i++) {
      const v = values[i];
      if (v === null) continue;
      const k = dict.index.get(String(v));
      if (k === undefined) throw new Error(`column ${c.name}, row ${i}: ${JSON.stringify(v)} is not in the column's dictionary`);
      indices[i] = k;
    }
    return makeData({ type: dict.type, length, data: indices, nullCount, nullBitmap, dictionary: dict.vector });
  }
  return vectorFromArray(Array.from(values, (v) => (v === null ? null : String(v))), new Utf8()).data[0];
}

/** Arrow validity bitmap (bit set = value present); none when there is no null. */
function validity(values: ArrayLike<CellValue>): { nullBitmap: Uint8Array | undefined; nullCount: number } {
  let nullCount = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === null) nullCount++;
  if (nullCount === 0) return { nullBitmap: undefined, nullCount };
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 64) * 8);
  for (let i = 0; i < values.length; i++) if (values[i] !== null) nullBitmap[i >> 3] |= 1 << (i & 7);
  return { nullBitmap, nullCount };
}
