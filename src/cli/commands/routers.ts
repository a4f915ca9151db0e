// `balanceroute routers`: its arguments, flags and help; the command itself is in the module the action calls.
import type { Command } from 'commander';
import { routersCommand } from '../listCommands.ts';

export function register(program: Command): void {
  program
    .command('routers')
    .description('list routing policies and their knobs')
    .option('--json', 'as JSON')
    .action((opts) => routersCommand(opts));
}
