// `balanceroute report FILE`: tell a sweep result file from a time-series file and build the
// matching HTML report.
import { existsSync } from 'node:fs';
import { readArrowFile, type ArrowFileData } from '../formats/arrowRead.ts';
import { REQUESTS_FORMAT, TIMESERIES_FORMAT, requestsPathFor } from '../results/arrowWrite.ts';
import { RESULTS_FORMAT } from '../results/resultSchema.ts';
import { InputError } from '../errors.ts';
import { assertSameSweep } from '../results/sameSweep.ts';
import { sweepReport, type BuiltReport } from './sweepReport.ts';
import { capacityReport } from './capacityReport.ts';
import { isCapacityFile } from './capacityData.ts';
import { timeSeriesReport, type TimeSeriesReportOptions } from './timeseriesReport.ts';
import { REQUIRED_RESULT_COLUMNS } from './sweepData.ts';
import { REQUIRED_TIMESERIES_COLUMNS } from './timeseriesData.ts';

export type ReportKind = 'results' | 'timeseries' | 'capacity';

/**
 * Which report a file gets: from the `format` metadata written by balanceroute, else (a file
 * re-written by pandas or polars, say) from its columns.
 */
export function reportKind(file: ArrowFileData): ReportKind {
  const format = file.metadata.format;
  if (isCapacityFile(file)) return 'capacity';
  if (format === RESULTS_FORMAT) return 'results';
  if (format === TIMESERIES_FORMAT) return 'timeseries';
  const have = new Set(file.columns.map((c) => c.name));
  if (format === REQUESTS_FORMAT || (have.has('first_token_us') && have.has('admit_us') && !have.has('step'))) {
    throw new InputError(
      'file',
      file.path,
      'is a per-request log; report its time series instead (the log beside it is picked up), or pass the log with --requests',
    );
  }
  if (have.has('rank') && have.has('step') && have.has('kv_tokens')) return 'timeseries';
  if (have.has('router') || have.has('throughput_tok_s')) return 'results';
  const missing = REQUIRED_RESULT_COLUMNS.filter((c) => !have.has(c));
  throw new InputError(
    'file',
    file.path,
    `neither a sweep result nor a time series: no ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', ...' : ''} ` +
      `(result files have ${REQUIRED_RESULT_COLUMNS.length} such columns, time series have ${REQUIRED_TIMESERIES_COLUMNS.join(', ')})`,
  );
}

export interface ReportOptions extends Omit<TimeSeriesReportOptions, 'results' | 'requests' | 'requestsLookedFor'> {
  /** Result file to label a time series' configurations. */
  resultsPath?: string;
  /** Request log of a time series; default `requestsPathFor(path)` when that file exists. */
  requestsPath?: string;
  /** SLO of the capacity verdict of a sweep over rates. */
  slo?: string;
}

/** Read a request log, with errors that name `--requests`. */
function readRequests(path: string): ArrowFileData {
  try {
    return readArrowFile(path);
  } catch (e) {
    if (e instanceof InputError && e.field === 'file') throw new InputError('requests', path, e.reason);
    throw e;
  }
}

/** Read `path` and build its report. Bad input is an InputError. */
export async function buildReport(path: string, opts: ReportOptions = {}): Promise<BuiltReport & { kind: ReportKind }> {
  const file = readArrowFile(path);
  const kind = reportKind(file);
  if (kind === 'capacity') {
    if (opts.resultsPath !== undefined) throw new InputError('results', opts.resultsPath, 'only applies to a time-series file');
    if (opts.slo !== undefined) throw new InputError('slo', opts.slo, 'a capacity file carries the SLO it was searched for');
    return { kind, ...(await capacityReport(file)) };
  }
  if (kind === 'results') {
    if (opts.resultsPath !== undefined) throw new InputError('results', opts.resultsPath, 'only applies to a time-series file');
    if (opts.configs !== undefined) throw new InputError('config', opts.configs.join(','), 'only applies to a time-series file');
    if (opts.requestsPath !== undefined) throw new InputError('requests', opts.requestsPath, 'only applies to a time-series file');
    return { kind, ...(await sweepReport(file, { slo: opts.slo })) };
  }
  const results = opts.resultsPath !== undefined ? readArrowFile(opts.resultsPath) : undefined;
  const beside = requestsPathFor(path);
  const requestsPath = opts.requestsPath ?? (existsSync(beside) ? beside : undefined);
  const requests = requestsPath !== undefined ? readRequests(requestsPath) : undefined;
  // Labels from another sweep would name the wrong configurations. (A request log that does not
  // match is detected row by row and left undrawn, with the reason on the page.)
  if (results) assertSameSweep([file, results], 'results', 'pass the result file written by the same sweep');
  return { kind, ...(await timeSeriesReport(file, { ...opts, results, requests, requestsLookedFor: beside })) };
}
