// Checking a command's output paths before any work: each must be writable, and none may be one
// of the command's inputs or another of its outputs (`sweep mine.yaml -o mine.yaml` would
// replace the sweep file; `-o x.arrow --timeseries x.arrow` would replace the results).
import { requestsPathFor } from '../results/arrowWrite.ts';
import { checkDistinct, checkOutputPath, type NamedPath, type OutputTarget } from '../formats/outputFile.ts';

export type { NamedPath } from '../formats/outputFile.ts';

export interface PlannedOutputs {
  results?: OutputTarget;
  timeseries?: OutputTarget;
  /** The request log beside the time series (`ts.requests.arrow`); none when the time series goes to a device or FIFO. */
  requests?: OutputTarget;
}

/**
 * Check every output path of a command (creating missing directories), then refuse any output
 * that resolves to the same file as an input or as another output. Real paths are compared, so
 * a symbolic link or `./x` does not hide a clash. Several outputs may name one character
 * device (`-o /dev/null --timeseries /dev/null`).
 */
export function planOutputs(outputs: { output?: string; timeseries?: string }, inputs: readonly NamedPath[]): PlannedOutputs {
  const plan: PlannedOutputs = {};
  if (outputs.output !== undefined) plan.results = checkOutputPath(outputs.output, 'output', { createDir: true });
  if (outputs.timeseries !== undefined) {
    plan.timeseries = checkOutputPath(outputs.timeseries, 'timeseries', { createDir: true });
    // A device or FIFO has no "beside": no request log then (not /dev/null.requests.arrow).
    if (plan.timeseries.kind === 'file') plan.requests = checkOutputPath(requestsPathFor(outputs.timeseries), 'timeseries', { createDir: true });
  }
  checkDistinct(
    [
      plan.results && { what: 'the results (-o)', target: plan.results },
      plan.timeseries && { what: 'the time series (--timeseries)', target: plan.timeseries },
      plan.requests && { what: `its request log ${plan.requests.given}`, target: plan.requests },
    ].filter((x): x is { what: string; target: OutputTarget } => !!x),
    inputs,
  );
  return plan;
}

