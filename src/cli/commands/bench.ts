// `balanceroute bench`: its arguments, flags and help; the command itself is in the module the action calls.
import type { Command } from 'commander';
import { benchCommand } from '../benchCommand.ts';

export function register(program: Command): void {
  program
    .command('bench')
    .description('measure engine speed (median and spread of several runs); writes markdown and JSON')
    .option('--quick', 'smaller curves, fewer repetitions')
    .option('--gpu', 'also measure the WebGPU engine (on a GPU machine: npm run bench -- --gpu)')
    .option('--reps <n>', 'repetitions per case (default 5)')
    .option('--threads <n>', 'worker threads for multi-configuration cases (default: all cores)')
    .option('--out-dir <dir>', 'where to save the results', 'benches/results')
    .option('--no-save', 'print only')
    .action(async (opts) => {
      await benchCommand(opts);
    });
}
