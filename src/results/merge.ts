// Joining the result files of the shards of one sweep into one file.
import { InputError } from '../errors.ts';
import { readArrowFile, type ArrowFileData } from '../formats/arrowRead.ts';
import { ArrowFileWriter } from '../formats/arrowFileWriter.ts';
import { BatchLayout, kindOf, type CellValue, type ColumnData, type ColumnKind } from '../formats/arrowTable.ts';
import { assertSameSweep } from './sameSweep.ts';
import { OutputFile, checkDistinct, checkOutputPath, commitAll } from '../formats/outputFile.ts';
import { KNOB_PREFIX, RESULTS_FORMAT, knobColumnsFor } from './resultSchema.ts';

export interface MergeOptions {
  /** Merge even when shards (or configurations) of the sweep are missing. */
  allowPartial?: boolean;
}

export interface MergeSummary {
  rows: number;
  /** Shards `i/n` not among the inputs (with allowPartial), else empty. */
  missingShards: string[];
  /** Configurations of the sweep not among the rows, when the files say how many there are. */
  missingConfigurations: number;
}

/**
 * Merge result files: same columns with the same types (knob columns excepted: a shard that
 * happens to hold no router with knob `b` has no `knob_b`, so knob columns are united and filled
 * with nulls), rows sorted by config_index, each config_index at most once. All inputs must come
 * from one sweep (same `sweep_fingerprint`) and, unless `allowPartial`, cover all its shards.
 * Metadata comes from the first file without its `shard`, plus `merged_from` (JSON list of the
 * inputs), `shards` and, for a partial merge, `missing_shards`; `wall_ms` is the sum.
 */
export async function mergeResultFiles(inputs: readonly string[], out: string, opts: MergeOptions = {}): Promise<MergeSummary> {
  if (inputs.length === 0) throw new InputError('inputs', inputs, 'give at least one result file to merge');
  const target = checkOutputPath(out, 'output', { createDir: true });
  checkDistinct([{ what: 'the merged file', target }], inputs.map((p) => ({ what: `an input (${p})`, path: p })));
  const files = inputs.map(readArrowFile);
  for (const f of files) {
    // Another version of the result format has other columns or meanings: never mixed in.
    const fmt = f.metadata.format;
    if (fmt !== undefined && fmt !== RESULTS_FORMAT) {
      throw new InputError('file', f.path, `has format ${fmt}, this balanceroute writes and merges ${RESULTS_FORMAT}; re-run the shard with this version`);
    }
    if (!f.columns.some((c) => c.name === 'config_index')) {
      throw new InputError('file', f.path, 'has no config_index column; not a balanceroute result file');
    }
  }
  assertSameSweep(files, 'file', 'merge only shards of one sweep');
  const missingShards = missingShardsOf(files);
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
  const total = Number(files[0].metadata.sweep_configurations);
  const missingConfigurations = Number.isInteger(total) && total > order.length ? total - order.length : 0;
  if (!opts.allowPartial) {
    if (missingShards.length > 0) {
      throw new InputError('inputs', inputs, `shard${missingShards.length === 1 ? '' : 's'} ${missingShards.join(', ')} of the sweep ${missingShards.length === 1 ? 'is' : 'are'} missing; add ${missingShards.length === 1 ? 'it' : 'them'} or pass --allow-partial`);
    }
    if (missingConfigurations > 0) {
      throw new InputError('inputs', inputs, `the sweep has ${total} configurations, the inputs hold ${order.length}; add the missing ones or pass --allow-partial`);
    }
  }

  const data: ColumnData[] = columns.map(({ name, kind, metadata }) => {
    const perFile = files.map((f) => (f.columns.some((c) => c.name === name) ? f.column(name) : undefined));
    const values = order.map(({ file, row }) => (perFile[file]?.[row] ?? null) as CellValue);
    return { name, kind, values, metadata };
  });
  const metadata: Record<string, string> = { ...files[0].metadata, merged_from: JSON.stringify(inputs) };
  delete metadata.shard;
  const shards = files.map((f) => f.metadata.shard).filter((x): x is string => x !== undefined);
  if (shards.length > 0) metadata.shards = shards.join(',');
  if (missingShards.length > 0) metadata.missing_shards = missingShards.join(',');
  const walls = files.map((f) => Number(f.metadata.wall_ms));
  if (walls.every(Number.isFinite)) metadata.wall_ms = String(walls.reduce((a, b) => a + b, 0));
  const file = await OutputFile.open(target);
  try {
    const w = new ArrowFileWriter(file, BatchLayout.of(data, metadata));
    w.writeColumns(data.map((c) => c.values));
    w.finish();
    commitAll([file]);
  } finally {
    file.abort();
  }
  return { rows: order.length, missingShards, missingConfigurations };
}

/** Shards `i/n` absent from the inputs, from their `shard` metadata (none when the files carry none). */
function missingShardsOf(files: readonly ArrowFileData[]): string[] {
  const shards = files.map((f) => ({ f, s: f.metadata.shard === undefined ? undefined : /^(\d+)\/(\d+)$/.exec(f.metadata.shard) }));
  const sharded = shards.filter((x) => x.s);
  if (sharded.length === 0) return [];
  const n = Number(sharded[0].s![2]);
  const unsharded = shards.find((x) => !x.s);
  if (unsharded) throw new InputError('file', unsharded.f.path, `is a whole sweep, ${sharded[0].f.path} is shard ${sharded[0].f.metadata.shard}; merge shards of one split`);
  for (const { f, s } of sharded) {
    if (Number(s![2]) !== n) throw new InputError('file', f.path, `is shard ${f.metadata.shard}, ${sharded[0].f.path} is shard ${sharded[0].f.metadata.shard}; merge shards of one split`);
  }
  const present = new Set(sharded.map(({ s }) => Number(s![1])));
  const missing: string[] = [];
  for (let i = 0; i < n; i++) if (!present.has(i)) missing.push(`${i}/${n}`);
  return missing;
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
