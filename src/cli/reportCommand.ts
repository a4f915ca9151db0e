import { writeFileSync } from 'node:fs';
import { checkDistinct, checkOutputPath, writeFileAtomic } from '../formats/outputFile.ts';
import { requestsPathFor } from '../results/arrowWrite.ts';
import { checkInputFile } from '../formats/inputFile.ts';
import { InputError } from '../errors.ts';

export interface ReportFlags {
  output?: string;
  results?: string;
  /** Request log of a time series (default: FILE.requests.arrow beside it, when it exists). */
  requests?: string;
  config?: string;
  maxConfigs?: string;
  bins?: string;
  slo?: string;
}

/** `report.arrow` -> `report.html` next to it (any other name: `.html` appended). */
export function defaultReportPath(input: string): string {
  return /\.(arrow|feather|ipc)$/i.test(input) ? input.replace(/\.(arrow|feather|ipc)$/i, '.html') : `${input}.html`;
}

function intList(field: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new InputError(field, text, 'expected comma-separated config_index values, e.g. 0,3,7');
  }
  return out;
}

function positiveInt(field: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(field, text, `expected an integer from ${min} to ${max}`);
  return n;
}

export async function reportCommand(input: string, flags: ReportFlags): Promise<void> {
  const output = flags.output ?? defaultReportPath(input);
  // `report r.arrow -o r.arrow` must not replace its own input; check before the charts are built.
  // The default request log (FILE.requests.arrow, read for a time series) is an input too.
  checkInputFile(input, 'file', 'arrow', 'file to report on');
  checkDistinct([{ what: 'the report', target: checkOutputPath(output, 'output', { stdout: true }) }], [
    { what: 'the file to report on', path: input },
    ...(flags.results !== undefined ? [{ what: 'the --results file', path: flags.results }] : []),
    { what: flags.requests !== undefined ? 'the --requests file' : 'the request log read beside it', path: flags.requests ?? requestsPathFor(input) },
  ]);
  // Loaded here, not at start-up: the chart libraries are only needed by this command.
  const { buildReport } = await import('../report/buildReport.ts');
  const report = await buildReport(input, {
    resultsPath: flags.results,
    requestsPath: flags.requests,
    configs: flags.config !== undefined ? intList('config', flags.config) : undefined,
    maxConfigs: positiveInt('max_configs', flags.maxConfigs, 1, 1000),
    bins: positiveInt('bins', flags.bins, 10, 5000),
    slo: flags.slo,
  });
  writeFileAtomic(output, (tmp) => writeFileSync(tmp, report.html), 'output', { stdout: true });
  for (const w of report.warnings) process.stderr.write(`warning: chart ${w}\n`);
  process.stderr.write(`${report.kind === 'results' ? 'sweep' : report.kind === 'capacity' ? 'capacity' : 'time-series'} report, ${report.charts.length} chart${report.charts.length === 1 ? '' : 's'} -> ${output}\n`);
}
