// Writing result rows and time series as Arrow IPC files (Feather v2), atomically.
import { tableToIPC, type Table } from 'apache-arrow';
import { writeFileSync } from 'node:fs';
import type { EngineInfo, RunResult } from '../engine/types.ts';
import type { TimeSeries } from '../metrics/types.ts';
import { makeTable, type ColumnData, type ColumnKind } from './arrowTable.ts';
import { writeFileAtomic } from './atomicFile.ts';
import { RESULTS_FORMAT, cell, resultColumns } from './resultSchema.ts';

/** What a file records about the run that produced it (schema-level metadata). */
export interface WriteMeta {
  engine: EngineInfo;
  sweepName: string;
  /** Wall time of the whole sweep (or shard), ms. */
  wallMs: number;
  /** balanceroute version. */
  version: string;
  /** `i/n` when this file holds one shard of a sweep. */
  shard?: string;
  /** Further string metadata (kept as given). */
  extra?: Record<string, string>;
}

/** Identifies balanceroute time-series files in the schema metadata (`format` key). */
export const TIMESERIES_FORMAT = 'balanceroute-timeseries/1';

/** Write one row per result to `path` (Arrow IPC file format). Leaves no file on failure. */
export async function writeResults(path: string, results: readonly RunResult[], meta: WriteMeta): Promise<void> {
  const table = resultsTable(results, meta);
  writeTable(path, table, 'output');
}

/**
 * Write the per-step time series of every result that has one, in long format (one row per step
 * and rank, with `config_index`). Leaves no file on failure.
 */
export async function writeTimeSeries(path: string, results: readonly RunResult[], meta?: WriteMeta): Promise<void> {
  const table = timeSeriesTable(results, meta);
  writeTable(path, table, 'timeseries');
}

/** The result rows as an Arrow table (exposed for tests and merge). */
export function resultsTable(results: readonly RunResult[], meta: WriteMeta): Table {
  const columns: ColumnData[] = resultColumns(results).map((c) => {
    const values = results.map((r) => cell(c, r, meta.engine));
    return { name: c.name, kind: c.kind, values, metadata: c.unit ? { unit: c.unit } : undefined };
  });
  return makeTable(columns, schemaMetadata(meta, RESULTS_FORMAT));
}

/** Time-series columns: name, kind, unit. `config_index` comes first. */
const SERIES_COLUMNS: readonly [keyof TimeSeries, ColumnKind, string][] = [
  ['step', 'int32', 'steps'],
  ['time_us', 'float64', 'us'],
  ['rank', 'int32', ''],
  ['kv_tokens', 'float64', 'tokens'],
  ['running', 'int32', 'requests'],
  ['waiting', 'int32', 'requests'],
  ['rank_step_us', 'float64', 'us'],
  ['step_us', 'float64', 'us'],
];

export function timeSeriesTable(results: readonly RunResult[], meta?: WriteMeta): Table {
  const withSeries = results.filter((r) => r.timeseries);
  const total = withSeries.reduce((n, r) => n + r.timeseries!.step.length, 0);
  const index = new Int32Array(total);
  const columns: ColumnData[] = [{ name: 'config_index', kind: 'int32', values: index }];
  for (const [name, kind, unit] of SERIES_COLUMNS) {
    const values = kind === 'int32' ? new Int32Array(total) : new Float64Array(total);
    let at = 0;
    for (const r of withSeries) {
      const src = r.timeseries![name];
      if (src.length !== r.timeseries!.step.length) {
        throw new Error(`time series of configuration ${r.scenario.index}: column ${name} has ${src.length} values, step has ${r.timeseries!.step.length}`);
      }
      values.set(src, at);
      at += src.length;
    }
    columns.push({ name, kind, values, metadata: unit ? { unit } : undefined });
  }
  let at = 0;
  for (const r of withSeries) {
    const n = r.timeseries!.step.length;
    index.fill(r.scenario.index, at, at + n);
    at += n;
  }
  return makeTable(columns, meta ? schemaMetadata(meta, TIMESERIES_FORMAT) : { format: TIMESERIES_FORMAT });
}

/** Schema-level metadata (all values are strings; docs/output.md lists the keys). */
export function schemaMetadata(meta: WriteMeta, format: string): Record<string, string> {
  const m: Record<string, string> = {
    format,
    engine: meta.engine.engine,
    adapter: meta.engine.adapter,
    fallback_adapter: String(meta.engine.fallbackAdapter),
    threads: String(meta.engine.threads),
    balanceroute_version: meta.version,
    node_version: process.version,
    sweep_name: meta.sweepName,
    created: new Date().toISOString(),
    wall_ms: String(meta.wallMs),
  };
  if (meta.shard !== undefined) m.shard = meta.shard;
  return { ...m, ...meta.extra };
}

/** Serialize and write atomically; also used by merge. */
export function writeTable(path: string, table: Table, field: string): void {
  // Serialize before touching the file system, so a failure here creates nothing.
  const bytes = tableToIPC(table, 'file');
  writeFileAtomic(path, (tmp) => writeFileSync(tmp, bytes), field);
}
