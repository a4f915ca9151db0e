// Simulate configurations and stream their rows into the command's output files. The engine
// gets the configurations in chunks and each chunk's rows are written as Arrow record batches
// before the next chunk starts, so memory holds one chunk of results whatever the sweep size.
// The outputs (results, time series, request log) are temporary files until every one is
// complete; then they are renamed into place together (docs/output.md, "What is on disk").
import type { Scenario } from '../config/scenario.ts';
import type { Engine, RunResult } from '../engine/types.ts';
import { RequestsWriter, ResultsWriter, TimeSeriesWriter, type RowWriter, type WriteMeta } from '../results/arrowWrite.ts';
import { OutputFile, commitAll } from '../formats/outputFile.ts';
import type { PlannedOutputs } from './outputPath.ts';
import type { ProgressBar } from './progressBar.ts';

/** Configurations per engine call: CPU engine (rows are small) and GPU engine (wants wide batches). */
export const CHUNK_CONFIGS = { cpu: 4096, gpu: 32768 } as const;

/** Warn when the time series and request log are estimated to exceed this many bytes. */
export const TIMESERIES_WARN_BYTES = 1 << 30;

/** Bytes per row in the files: label columns (24) + series columns (48); label + request columns (76). */
const SERIES_ROW_BYTES = 72;
const REQUEST_ROW_BYTES = 76;

export interface SimulateToFiles {
  scenarios: readonly Scenario[];
  engine: Engine;
  outputs: PlannedOutputs;
  /** File metadata; `engine` and `wallMs` are filled in from the run. */
  meta: Omit<WriteMeta, 'engine' | 'wallMs'>;
  progress?: ProgressBar;
  log: (line: string) => void;
  /** Keep and return the results when there are at most this many (for printing). */
  keepUpTo?: number;
  /** Size above which a time-series warning is printed (default TIMESERIES_WARN_BYTES). */
  warnBytes?: number;
  /** Configurations per engine call (default CHUNK_CONFIGS for the engine). */
  chunkSize?: number;
}

export interface SimulationSummary {
  /** All results when there were at most `keepUpTo`; otherwise empty. */
  kept: RunResult[];
  count: number;
  wallMs: number;
  simulatedRequests: number;
  rankSteps: number;
  /** Rows written per output. */
  rows: { results: number; timeseries: number; requests: number };
  meta: WriteMeta;
}

/** Split into engine calls: at most `size` configurations, and few time-series ones (they are large). */
export function* chunks(scenarios: readonly Scenario[], size: number, maxSeries: number): Generator<readonly Scenario[]> {
  let start = 0;
  while (start < scenarios.length) {
    let end = start;
    let series = 0;
    while (end < scenarios.length && end - start < size && (series < maxSeries || !scenarios[end].timeseries)) {
      if (scenarios[end].timeseries) series++;
      end++;
    }
    yield scenarios.slice(start, end);
    start = end;
  }
}

export async function simulateToFiles(req: SimulateToFiles): Promise<SimulationSummary> {
  const { scenarios, engine, outputs, log } = req;
  const withSeries = scenarios.filter((s) => s.timeseries);
  const meta = (): WriteMeta => ({ ...req.meta, engine: engine.info, wallMs });
  let wallMs = 0;
  const files: OutputFile[] = [];
  const writers: RowWriter[] = [];
  let results: ResultsWriter | undefined;
  let series: TimeSeriesWriter | undefined;
  let requests: RequestsWriter | undefined;
  const rows = { results: 0, timeseries: 0, requests: 0 };
  try {
    // Open every output before simulating: a FIFO waits here for its reader, not after the work.
    if (outputs.results) {
      files.push(await OutputFile.open(outputs.results));
      results = new ResultsWriter(files.at(-1)!, scenarios, meta());
      writers.push(results);
    }
    if (outputs.timeseries && withSeries.length > 0) {
      files.push(await OutputFile.open(outputs.timeseries));
      series = new TimeSeriesWriter(files.at(-1)!, withSeries, meta());
      writers.push(series);
      if (outputs.requests) {
        files.push(await OutputFile.open(outputs.requests));
        requests = new RequestsWriter(files.at(-1)!, withSeries, meta());
        writers.push(requests);
      } else log(`note: ${outputs.timeseries.given} is not a regular file; no request log is written beside it`);
    }

    const kept: RunResult[] = [];
    const keep = scenarios.length <= (req.keepUpTo ?? 0);
    let done = 0;
    let simulatedRequests = 0;
    let rankSteps = 0;
    let warned = false;
    const seriesWeightTotal = withSeries.reduce((a, sc) => a + seriesWeight(sc), 0);
    let seriesWeightDone = 0;
    const t0 = performance.now();
    const size = req.chunkSize ?? (engine.info.engine === 'gpu' ? CHUNK_CONFIGS.gpu : CHUNK_CONFIGS.cpu);
    const maxSeries = Math.max(4, 2 * engine.info.threads);
    for (const chunk of chunks(scenarios, size, maxSeries)) {
      const out = await engine.run(chunk, (p) => req.progress?.update(done + p.done, scenarios.length));
      done += out.length;
      for (const r of out) {
        simulatedRequests += r.metrics.requests;
        rankSteps += r.metrics.steps * r.scenario.dp;
      }
      results?.add(out);
      series?.add(out);
      requests?.add(out);
      if (!warned && series) {
        for (const r of out) if (r.timeseries) seriesWeightDone += seriesWeight(r.scenario);
        if (seriesWeightDone > 0) {
          // Re-estimated after every chunk, from the bytes written so far, scaled by the DP size
          // and request count of the configurations still to come.
          const written = series.rows * SERIES_ROW_BYTES + (requests?.rows ?? 0) * REQUEST_ROW_BYTES;
          const estimate = (written / seriesWeightDone) * seriesWeightTotal;
          if (estimate > (req.warnBytes ?? TIMESERIES_WARN_BYTES)) {
            warned = true;
            log(
              `warning: the time series will take about ${formatBytes(estimate)} ` +
                `(${withSeries.length} configuration${withSeries.length === 1 ? '' : 's'} with timeseries: true, estimated from the ${formatBytes(written)} written so far); ` +
                'set timeseries on fewer configurations or fewer requests to shrink it',
            );
          }
        }
      }
      if (keep) kept.push(...out);
      // Let pending signal handlers run between chunks (awaiting a settled promise does not).
      await new Promise((r) => setImmediate(r));
    }
    wallMs = performance.now() - t0;
    const final = meta();
    for (const w of writers) w.finish(final);
    if (results) rows.results = scenarios.length;
    if (series) rows.timeseries = series.rows;
    if (requests) rows.requests = requests.rows;
    commitAll(files);
    return { kept, count: done, wallMs, simulatedRequests, rankSteps, rows, meta: final };
  } finally {
    for (const f of files) f.abort(); // no-op for committed files
  }
}

/** Time-series rows grow with the DP size (one row per rank and step) and with the requests (steps). */
function seriesWeight(sc: Scenario): number {
  return sc.dp * Math.max(1, sc.workload.requests || 1000);
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}
