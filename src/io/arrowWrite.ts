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
/** Identifies per-request log files (written beside a time series). */
export const REQUESTS_FORMAT = 'balanceroute-requests/1';

/** The per-request log written beside a time-series file: `ts.arrow` -> `ts.requests.arrow`. */
export function requestsPathFor(timeseriesPath: string): string {
  return /\.arrow$/i.test(timeseriesPath) ? timeseriesPath.replace(/\.arrow$/i, '.requests.arrow') : `${timeseriesPath}.requests.arrow`;
}

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
  const withRequests = results.filter((r) => r.requests);
  const requests = withRequests.length > 0 ? requestsTable(withRequests, meta) : undefined;
  writeTable(path, table, 'timeseries');
  if (requests) writeTable(requestsPathFor(path), requests, 'timeseries');
}

/** Columns that say which configuration a time-series or request row belongs to. */
function labelColumns(results: readonly RunResult[], counts: number[]): ColumnData[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const index = new Int32Array(total);
  const dp = new Int32Array(total);
  const seed = new Int32Array(total);
  const rate = new Float64Array(total);
  const router: string[] = new Array(total);
  let at = 0;
  results.forEach((r, i) => {
    const n = counts[i];
    index.fill(r.scenario.index, at, at + n);
    dp.fill(r.scenario.dp, at, at + n);
    seed.fill(r.scenario.workload.seed, at, at + n);
    rate.fill(r.scenario.workload.rate, at, at + n);
    router.fill(r.scenario.router, at, at + n);
    at += n;
  });
  return [
    { name: 'config_index', kind: 'int32', values: index },
    { name: 'router', kind: 'dictionary', values: router },
    { name: 'dp', kind: 'int32', values: dp },
    { name: 'rate', kind: 'float64', values: rate, metadata: { unit: 'req/s' } },
    { name: 'seed', kind: 'int32', values: seed },
  ];
}

/** Request-log columns: name, kind, unit. */
const REQUEST_COLUMNS: readonly [string, ColumnKind, string][] = [
  ['arrival_us', 'float64', 'us'],
  ['prompt', 'int32', 'tokens'],
  ['output', 'int32', 'tokens'],
  ['status', 'int32', ''],
  ['rank', 'int32', ''],
  ['admit_us', 'float64', 'us'],
  ['first_token_us', 'float64', 'us'],
  ['end_us', 'float64', 'us'],
];

/** One row per request of every run that logged requests (with `request` = its index in the stream). */
export function requestsTable(results: readonly RunResult[], meta?: WriteMeta): Table {
  const counts = results.map((r) => r.requests!.arrival_us.length);
  const total = counts.reduce((a, b) => a + b, 0);
  const columns = labelColumns(results, counts);
  const req = new Int32Array(total);
  let at = 0;
  for (const n of counts) {
    for (let i = 0; i < n; i++) req[at + i] = i;
    at += n;
  }
  columns.push({ name: 'request', kind: 'int32', values: req });
  for (const [name, kind, unit] of REQUEST_COLUMNS) {
    const parts = results.map((r) => (r.requests as unknown as Record<string, ArrayLike<number>>)[name]);
    columns.push({ name, kind, values: concatColumn(parts, kind, total), metadata: unit ? { unit } : undefined });
  }
  return makeTable(columns, meta ? schemaMetadata(meta, REQUESTS_FORMAT) : { format: REQUESTS_FORMAT });
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
  const columns: ColumnData[] = labelColumns(withSeries, withSeries.map((r) => r.timeseries!.step.length));
  for (const [name, kind, unit] of SERIES_COLUMNS) {
    const parts = withSeries.map((r) => {
      const src = r.timeseries![name];
      if (src.length !== r.timeseries!.step.length) {
        throw new Error(`time series of configuration ${r.scenario.index}: column ${name} has ${src.length} values, step has ${r.timeseries!.step.length}`);
      }
      return src;
    });
    columns.push({ name, kind, values: concatColumn(parts, kind, total), metadata: unit ? { unit } : undefined });
  }
  return makeTable(columns, meta ? schemaMetadata(meta, TIMESERIES_FORMAT) : { format: TIMESERIES_FORMAT });
}

/** One typed column from the per-run pieces, in order. */
function concatColumn(parts: readonly ArrayLike<number>[], kind: ColumnKind, total: number): Int32Array | Float64Array {
  const values = kind === 'int32' ? new Int32Array(total) : new Float64Array(total);
  let at = 0;
  for (const src of parts) {
    values.set(src, at);
    at += src.length;
  }
  return values;
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
