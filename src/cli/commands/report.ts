// `balanceroute report`: its arguments, flags and help; the command itself is in the module the action calls.
import type { Command } from 'commander';
import { reportCommand } from '../reportCommand.ts';

export function register(program: Command): void {
  program
    .command('report')
    .description('HTML report (charts, verdict) of a sweep result, capacity or time-series file')
    .argument('<file.arrow>', 'result file of `sweep`/`run -o`, capacity file of `capacity`, or time series of `--timeseries`')
    .argument('[predicted.arrow]', 'with a loadgen log as FILE: the predict log to compare it with (as `compare`)')
    .option('-o, --output <file.html>', 'report file (default: the input with .html)')
    .option('--results <file.arrow>', 'time series only: result file that labels its configurations')
    .option('--requests <file.arrow>', 'time series only: per-request log for the Gantt chart (default: FILE.requests.arrow beside it)')
    .option('--config <i,j,...>', 'time series only: config_index values to draw (default: the first 8)')
    .option('--max-configs <n>', 'time series only: draw at most n configurations', '8')
    .option('--bins <n>', 'time series only: time bins per chart', '300')
    .option('--slo <metric=bound,...>', 'sweeps over rates: SLO of the capacity verdict (default: the sweep\'s --slo, else ttft_p95_ms=2000,tpot_p95_ms=100)')
    .action(async (file, predicted, opts) => {
      if (predicted !== undefined) {
        const { compareCommand } = await import('../compareCommand.ts');
        await compareCommand(file, predicted, { output: opts.output });
      } else await reportCommand(file, opts);
    });
}
