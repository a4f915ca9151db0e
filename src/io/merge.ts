// Joining the result files of the shards of one sweep into one file.
import { InputError } from '../errors.ts';
import { readArrowFile, type ArrowFileData } from './arrowRead.ts';
import { kindOf, makeTable, type CellValue, type ColumnData, type ColumnKind } from './arrowTable.ts';
import { writeTable } from './arrowWrite.ts';
import { KNOB_PREFIX, knobColumnsFor } from './resultSchema.ts';

/**
 * Merge result files: same columns with the same types (knob columns excepted: a shard that
 * happens to hold no router with knob `b` has no `knob_b`, so knob columns are united and filled
 * with nulls), rows sorted by config_index, each config_index at most once. Metadata comes from
 * the first file, plus `merged_from` (JSON list of the inputs). Returns the number of rows.
 */
export async function mergeResultFiles(inputs: readonly string[], out: string): Promise<number> {
  if (inputs.length === 0) throw new InputError('inputs', inputs, 'give at least one result file to merge');
  const files = inputs.map(readArrowFile);
  for (const f of files) {
    if (!f.columns.some((c) => c.name === 'config_index')) {
      throw new InputError('file', f.path, 'has no config_index column; not a balanceroute result file');
    }
  }
  const columns = mergedColumns(files);

  // Sort rows by config_index across files; remember where each came from for the duplicate check.
  const order: { file: number; row: number; index: number }[] = [];
  files.forEach((f, fi) => f.column('config_index').forEach((idx, row) => order.push({ file: fi, row, index: idx as number })));
  order.sort((a, b) => a.index - b.index);
  for (let k = 1; k < order.length; k++) {
    if (order[k].index === order[k - 1].index) {
      const [a, b] = [files[order[k - 1].file].path, files[order[k].file].path];
      throw new InputError('config_index', order[k].index, a === b ? `appears twice in ${a}` : `appears in both ${a} and ${b} (overlapping shards?)`);
    }
  }

  const data: ColumnData[] = columns.map(({ name, kind, metadata }) => {
    const perFile = files.map((f) => (f.columns.some((c) => c.name === name) ? f.column(name) : undefined));
    const values = order.map(({ file, row }) => (perFile[file]?.[row] ?? null) as CellValue);
    return { name, kind, values, metadata };
  });
  const metadata = { ...files[0].metadata, merged_from: JSON.stringify(inputs) };
  writeTable(out, makeTable(data, metadata), 'output');
  return order.length;
}

interface MergedColumn {
  name: string;
  kind: ColumnKind;
  metadata?: Record<string, string>;
}

/** The output columns: the first file's, with the union of knob columns in canonical order. */
function mergedColumns(files: readonly ArrowFileData[]): MergedColumn[] {
  const first = files[0];
  const isKnob = (name: string) => name.startsWith(KNOB_PREFIX);
  const fixed = first.columns.filter((c) => !isKnob(c.name));
  const knobTypes = new Map<string, { typeName: string; metadata: Record<string, string> }>();
  for (const f of files) {
    const names = f.columns.filter((c) => !isKnob(c.name)).map((c) => c.name);
    for (let i = 0; i < Math.max(names.length, fixed.length); i++) {
      if (names[i] !== fixed[i]?.name) {
        const which = names[i] === undefined ? `lacks column ${fixed[i].name}` : `has column ${names[i]} where ${first.path} has ${fixed[i]?.name ?? 'none'}`;
        throw new InputError('file', f.path, `${which}; merge only shards of one sweep`);
      }
    }
    for (const c of f.columns) {
      if (isKnob(c.name)) {
        const had = knobTypes.get(c.name);
        if (had && had.typeName !== c.typeName) {
          throw new InputError('file', f.path, `column ${c.name} is ${c.typeName} here but ${had.typeName} in an earlier file`);
        }
        knobTypes.set(c.name, { typeName: c.typeName, metadata: c.metadata });
        continue;
      }
      const want = fixed.find((x) => x.name === c.name)!;
      if (want.typeName !== c.typeName) {
        throw new InputError('file', f.path, `column ${c.name} is ${c.typeName} here but ${want.typeName} in ${first.path}`);
      }
    }
  }
  const kind = (name: string, typeName: string, type: Parameters<typeof kindOf>[0]): ColumnKind => {
    const k = kindOf(type);
    if (!k) throw new InputError('file', first.path, `column ${name} has type ${typeName}, which balanceroute does not write`);
    return k;
  };
  const typeOfKnob = new Map(files.flatMap((f) => f.columns.filter((c) => isKnob(c.name)).map((c) => [c.name, c] as const)));
  const knobs = orderKnobs([...knobTypes.keys()], files).map((name) => {
    const c = typeOfKnob.get(name)!;
    return { name, kind: kind(name, c.typeName, c.type), metadata: nonEmpty(c.metadata) };
  });
  const out = fixed.map((c) => ({ name: c.name, kind: kind(c.name, c.typeName, c.type), metadata: nonEmpty(c.metadata) }));
  // Knob columns sit where the writer puts them: after router_params.
  const at = out.findIndex((c) => c.name === 'router_params') + 1 || out.length;
  return [...out.slice(0, at), ...knobs, ...out.slice(at)];
}

/** Canonical knob order (as the writer would produce for the merged routers); unknown ones last. */
function orderKnobs(names: string[], files: readonly ArrowFileData[]): string[] {
  const routers = new Set<string>();
  for (const f of files) if (f.columns.some((c) => c.name === 'router')) for (const r of f.column('router')) if (typeof r === 'string') routers.add(r);
  const canonical = knobColumnsFor(routers).map((k) => KNOB_PREFIX + k.knob);
  const rank = (n: string) => {
    const i = canonical.indexOf(n);
    return i < 0 ? canonical.length : i;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function nonEmpty(m: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(m).length ? m : undefined;
}
