// `balanceroute merge`: its arguments, flags and help; the command itself is in the module the action calls.
import type { Command } from 'commander';
import { mergeCommand } from '../mergeCommand.ts';

export function register(program: Command): void {
  program
    .command('merge')
    .description('merge result files of a sharded sweep')
    .argument('<inputs...>', 'Arrow result files')
    .requiredOption('-o, --output <file.arrow>', 'merged result file')
    .option('--allow-partial', 'merge even when shards of the sweep are missing (they are listed)')
    .action(async (inputs, opts) => {
      await mergeCommand(inputs, opts);
    });
}
