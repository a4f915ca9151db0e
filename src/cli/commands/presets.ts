// `balanceroute presets`: its arguments, flags and help; the command itself is in the module the action calls.
import type { Command } from 'commander';
import { presetsCommand } from '../listCommands.ts';

export function register(program: Command): void {
  program
    .command('presets')
    .description('list step-time presets and workload profiles')
    .option('--json', 'as JSON')
    .action((opts) => presetsCommand(opts));
}
