// `balanceroute compare`: its arguments, flags and help; the command itself is in the module the action calls.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('compare')
    .description('measured vs predicted per metric (mean, p50, p90, p99, error %), per-request scatter and in-flight series, as HTML')
    .argument('<measured.arrow>', 'loadgen log')
    .argument('<predicted.arrow>', 'predict log of the same run')
    .option('-o, --output <file.html>', 'report file (default: MEASURED.compare.html)')
    .option('--json', 'print the comparison as JSON instead of a table')
    .action(async (measured, predicted, opts) => {
      const { compareCommand } = await import('../compareCommand.ts');
      await compareCommand(measured, predicted, opts);
    });
}
