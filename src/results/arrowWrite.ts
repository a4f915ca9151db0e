// Writing result rows, time series and request logs as Arrow IPC files (Feather v2), one record
// batch at a time. The writers take results as they come (a sweep hands them over chunk by
// chunk), so memory holds one chunk, not the whole sweep.
import { tableToIPC, type Table } from 'apache-arrow';
import { writeFileSync } from 'node:fs';
import type { Scenario } from '../config/scenario.ts';
import type { EngineInfo, RunResult } from '../engine/types.ts';
import type { TimeSeries } from '../metrics/types.ts';
import { ArrowFileWriter } from '../formats/arrowFileWriter.ts';
import { BatchLayout, makeTable, type CellValue, type ColumnSpec } from '../formats/arrowTable.ts';
import { OutputFile, checkOutputPath, commitAll, writeFileAtomic } from '../formats/outputFile.ts';
import { RESULTS_FORMAT, cell, dictionaryValues, resultColumnsFor, type ResultColumn } from './resultSchema.ts';

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
  /** Fingerprint of the whole sweep's expanded definition (src/config/fingerprint.ts). */
  fingerprint?: string;
  /** Number of configurations of the whole sweep (all shards). */
  configurations?: number;
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
  if (meta.fingerprint !== undefined) m.sweep_fingerprint = meta.fingerprint;
  if (meta.configurations !== undefined) m.sweep_configurations = String(meta.configurations);
  return { ...m, ...meta.extra };
}

/** Metadata known only when a command ends (wall time, threads actually used). */
export function finalMetadata(meta: WriteMeta): Record<string, string> {
  return { threads: String(meta.engine.threads), wall_ms: String(meta.wallMs), created: new Date().toISOString(), ...meta.extra };
}

/** A streaming writer of one kind of file: results, time series or request log. */
export interface RowWriter {
  readonly out: OutputFile;
  /** Take the next results (in configuration order); rows of results that have none are skipped. */
  add(results: readonly RunResult[]): void;
  /** Write the footer (with `meta`'s final values) and close; the caller commits the file. */
  finish(meta: WriteMeta): void;
}

/** Result rows: one per configuration. Columns and dictionaries come from `scenarios` up front. */
export class ResultsWriter implements RowWriter {
  private readonly file: ArrowFileWriter;
  private readonly columns: ResultColumn[];
  private readonly engine: EngineInfo;

  constructor(
    readonly out: OutputFile,
    scenarios: readonly Scenario[],
    meta: WriteMeta,
  ) {
    this.engine = meta.engine;
    this.columns = resultColumnsFor(scenarios);
    const specs: ColumnSpec[] = this.columns.map((c) => ({ name: c.name, kind: c.kind, metadata: c.unit ? { unit: c.unit } : undefined }));
    const byName = new Map(this.columns.map((c) => [c.name, c]));
    const layout = new BatchLayout(specs, schemaMetadata(meta, RESULTS_FORMAT), (name) => dictionaryValues(byName.get(name)!, scenarios, this.engine));
    this.file = new ArrowFileWriter(out, layout);
  }

  add(results: readonly RunResult[]): void {
    if (results.length === 0) return;
    this.file.writeColumns(this.columns.map((c) => results.map((r) => cell(c, r, this.engine))));
  }

  finish(meta: WriteMeta): void {
    this.file.finish(finalMetadata(meta));
  }
}

/** Columns that say which configuration a time-series or request row belongs to. */
const LABEL_COLUMNS: ColumnSpec[] = [
  { name: 'config_index', kind: 'int32' },
  { name: 'router', kind: 'dictionary' },
  { name: 'dp', kind: 'int32' },
  { name: 'rate', kind: 'float64', metadata: { unit: 'req/s' } },
  { name: 'seed', kind: 'int32' },
];

function labelValues(r: RunResult, n: number): ArrayLike<CellValue>[] {
  const s = r.scenario;
  return [
    new Int32Array(n).fill(s.index),
    new Array<string>(n).fill(s.router),
    new Int32Array(n).fill(s.dp),
    new Float64Array(n).fill(s.workload.rate),
    new Int32Array(n).fill(s.workload.seed),
  ];
}

const withUnit = ([name, kind, unit]: readonly [string, 'int32' | 'float64', string]): ColumnSpec => ({ name, kind, metadata: unit ? { unit } : undefined });

/** Time-series columns after the labels: name, kind, unit. */
const SERIES_COLUMNS: readonly [keyof TimeSeries, 'int32' | 'float64', string][] = [
  ['step', 'int32', 'steps'],
  ['time_us', 'float64', 'us'],
  ['rank', 'int32', ''],
  ['kv_tokens', 'float64', 'tokens'],
  ['running', 'int32', 'requests'],
  ['waiting', 'int32', 'requests'],
  ['rank_step_us', 'float64', 'us'],
  ['step_us', 'float64', 'us'],
];

/** Request-log columns after the labels and `request`: name, kind, unit. */
const REQUEST_COLUMNS: readonly [string, 'int32' | 'float64', string][] = [
  ['arrival_us', 'float64', 'us'],
  ['prompt', 'int32', 'tokens'],
  ['output', 'int32', 'tokens'],
  ['status', 'int32', ''],
  ['rank', 'int32', ''],
  ['admit_us', 'float64', 'us'],
  ['queued_us', 'float64', 'us'],
  ['scheduled_us', 'float64', 'us'],
  ['first_token_us', 'float64', 'us'],
  ['end_us', 'float64', 'us'],
  // topology pd (docs/pd.md); -1 in colocated rows.
  ['prefill_instance', 'int32', ''],
  ['prefill_end_us', 'float64', 'us'],
  ['transfer_start_us', 'float64', 'us'],
  ['transfer_end_us', 'float64', 'us'],
  ['decode_admit_us', 'float64', 'us'],
];

/**
 * Per-configuration rows (a time series or a request log): one record batch per configuration,
 * labelled with the configuration's index, router, dp, rate and seed.
 */
class PerConfigWriter implements RowWriter {
  private readonly file: ArrowFileWriter;

  constructor(
    readonly out: OutputFile,
    scenarios: readonly Scenario[],
    meta: WriteMeta | undefined,
    format: string,
    columns: ColumnSpec[],
    private readonly rowsOf: (r: RunResult) => ArrayLike<CellValue>[] | undefined,
  ) {
    const routers = () => scenarios.map((s) => s.router);
    const layout = new BatchLayout([...LABEL_COLUMNS, ...columns], meta ? schemaMetadata(meta, format) : { format }, routers);
    this.file = new ArrowFileWriter(out, layout);
  }

  add(results: readonly RunResult[]): void {
    for (const r of results) {
      const cols = this.rowsOf(r);
      if (!cols) continue;
      const n = cols.length ? cols[0].length : 0;
      this.file.writeColumns([...labelValues(r, n), ...cols]);
    }
  }

  get rows(): number {
    return this.file.rows;
  }

  finish(meta: WriteMeta | undefined): void {
    this.file.finish(meta ? finalMetadata(meta) : {});
  }
}

/** Time series in long format: one row per step and rank of every result that has one. */
export class TimeSeriesWriter extends PerConfigWriter {
  constructor(out: OutputFile, scenarios: readonly Scenario[], meta?: WriteMeta) {
    super(out, scenarios, meta, TIMESERIES_FORMAT, SERIES_COLUMNS.map(withUnit), (r) => {
      const ts = r.timeseries;
      if (!ts) return undefined;
      return SERIES_COLUMNS.map(([name]) => {
        if (ts[name].length !== ts.step.length) {
          throw new Error(`time series of configuration ${r.scenario.index}: column ${name} has ${ts[name].length} values, step has ${ts.step.length}`);
        }
        return ts[name];
      });
    });
  }
}

/** Request log: one row per request of every result that logged requests. */
export class RequestsWriter extends PerConfigWriter {
  constructor(out: OutputFile, scenarios: readonly Scenario[], meta?: WriteMeta) {
    super(out, scenarios, meta, REQUESTS_FORMAT, [{ name: 'request', kind: 'int32' }, ...REQUEST_COLUMNS.map(withUnit)], (r) => {
      const log = r.requests;
      if (!log) return undefined;
      const n = log.arrival_us.length;
      const request = new Int32Array(n);
      for (let i = 0; i < n; i++) request[i] = i;
      let none: Float64Array | undefined;
      const col = (name: string) => (log as unknown as Record<string, ArrayLike<number> | undefined>)[name] ?? (none ??= new Float64Array(n).fill(-1));
      return [request, ...REQUEST_COLUMNS.map(([name]) => col(name))];
    });
  }
}

/** Write one row per result to `path` (Arrow IPC file format). Leaves no file on failure. */
export async function writeResults(path: string, results: readonly RunResult[], meta: WriteMeta): Promise<void> {
  const out = await OutputFile.open(checkOutputPath(path, 'output'));
  try {
    const w = new ResultsWriter(out, results.map((r) => r.scenario), meta);
    w.add(results);
    w.finish(meta);
    commitAll([out]);
  } finally {
    out.abort();
  }
}

/**
 * Write the per-step time series of every result that has one, in long format (one row per step
 * and rank, with `config_index`), and the request log beside it when results logged requests.
 * Both appear together or not at all.
 */
export async function writeTimeSeries(path: string, results: readonly RunResult[], meta?: WriteMeta): Promise<void> {
  const withSeries = results.filter((r) => r.timeseries);
  const withRequests = results.filter((r) => r.requests);
  const outs: OutputFile[] = [await OutputFile.open(checkOutputPath(path, 'timeseries'))];
  try {
    const ts = new TimeSeriesWriter(outs[0], withSeries.map((r) => r.scenario), meta);
    ts.add(withSeries);
    ts.finish(meta);
    if (withRequests.length > 0) {
      outs.push(await OutputFile.open(checkOutputPath(requestsPathFor(path), 'timeseries')));
      const rq = new RequestsWriter(outs[1], withRequests.map((r) => r.scenario), meta);
      rq.add(withRequests);
      rq.finish(meta);
    }
    commitAll(outs);
  } finally {
    for (const o of outs) o.abort();
  }
}

/** The result rows as an Arrow table (for tests and merge). */
export function resultsTable(results: readonly RunResult[], meta: WriteMeta): Table {
  const columns = resultColumnsFor(results.map((r) => r.scenario));
  return makeTable(
    columns.map((c) => ({ name: c.name, kind: c.kind, values: results.map((r) => cell(c, r, meta.engine)), metadata: c.unit ? { unit: c.unit } : undefined })),
    schemaMetadata(meta, RESULTS_FORMAT),
  );
}

/** Serialize a table and write it atomically (used by merge). */
export function writeTable(path: string, table: Table, field: string): void {
  // Serialize before touching the file system, so a failure here creates nothing.
  const bytes = tableToIPC(table, 'file');
  writeFileAtomic(path, (tmp) => writeFileSync(tmp, bytes), field);
}
