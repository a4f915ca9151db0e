// `balanceroute sweep`: its arguments, flags and help; the command itself is in the module the action calls.
import { Option, type Command } from 'commander';
import { sweepCommand } from '../sweepCommand.ts';
import { PROGRESS_MODES } from '../progressBar.ts';

export function register(program: Command): void {
  program
    .command('sweep')
    .description('simulate every configuration of a sweep file; one Arrow row per configuration')
    .argument('<sweep>', 'sweep file (.yaml, .yml or .json)')
    .requiredOption('-o, --output <file.arrow>', 'result file')
    .addOption(new Option('--engine <engine>', 'simulation engine').choices(['cpu', 'gpu', 'auto']).default('auto'))
    .option('--shard <i/n>', 'simulate only configurations with index % n == i')
    .option('--threads <n>', 'worker threads for the CPU engine (default: all cores; capped at the cores available)')
    .option('--threads-force', 'run --threads even when it exceeds the cores available')
    .option('--timeseries <file.arrow>', 'write time series of configurations that set `timeseries: true`')
    .addOption(new Option('--progress <mode>', 'progress on stderr: bar, lines (one every ~10 s), none; auto = bar on a terminal, lines otherwise').choices(PROGRESS_MODES).default('auto'))
    .option('--slo <metric=bound,...>', 'add goodput columns: requests meeting these per-request latency bounds (e.g. ttft_p95_ms=2000,tpot_p95_ms=100)')
    .option('-q, --quiet', 'no progress or summary')
    .action(async (file, opts) => {
      await sweepCommand(file, opts);
    });
}
