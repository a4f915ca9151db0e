// `balanceroute run`: its arguments, flags and help; the command itself is in the module the action calls.
import type { Command } from 'commander';
import { runCommand } from '../runCommand.ts';
import { scenarioOptions } from '../parseFlags.ts';

export function register(program: Command): void {
  const run = program.command('run').description('simulate one configuration and print a summary');
  // Every configuration key's flag (names, choices, help, defaults) comes from src/config/schema.ts.
  for (const opt of scenarioOptions()) {
    run.addOption(opt);
    if (opt.long === '--router') run.option('-k, --knob <name=value...>', 'router knob, repeatable (e.g. -k b=16 -k envelope=mean)');
  }
  run
    .option('--json', 'print the result row as JSON')
    .option('-o, --output <file.arrow>', 'write the result row as an Arrow file')
    .option('--timeseries <file.arrow>', 'write the per-step, per-rank time series as an Arrow file (sets timeseries: true)')
    .action(async (opts) => {
      await runCommand(opts);
    });
}
