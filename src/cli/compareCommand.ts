// `balanceroute compare measured.arrow predicted.arrow -o cmp.html`: measured against predicted,
// metric by metric (docs/loadgen.md).
import { writeFileSync } from 'node:fs';
import { checkDistinct, checkOutputPath, messageStream, writeFileAtomic } from '../formats/outputFile.ts';
import { formatComparison } from '../report/compare.ts';

export interface CompareFlags {
  output?: string;
  json?: boolean;
}

export async function compareCommand(measured: string, predicted: string, f: CompareFlags): Promise<void> {
  const output = f.output ?? measured.replace(/\.arrow$/i, '') + '.compare.html';
  checkDistinct([{ what: 'the report', target: checkOutputPath(output, 'output', { createDir: true, stdout: true }) }], [
    { what: 'the measured log', path: measured },
    { what: 'the predicted log', path: predicted },
  ]);
  // Loaded here: the chart libraries are only needed by report commands.
  const { compareReport } = await import('../report/compareReport.ts');
  const r = await compareReport(measured, predicted);
  writeFileAtomic(output, (tmp) => writeFileSync(tmp, r.html), 'output', { stdout: true });
  for (const w of r.warnings) process.stderr.write(`warning: chart ${w}\n`);
  if (f.json) {
    const { pairs: _p, inFlight: _i, ...rest } = r.comparison;
    messageStream().write(JSON.stringify(rest, null, 2) + '\n');
  } else messageStream().write(formatComparison(r.comparison) + '\n');
  process.stderr.write(`comparison report -> ${output}\n`);
}
