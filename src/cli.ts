/**
 * Command-line entry: every `balanceroute` command (run, sweep, merge, report, capacity, calibrate,
 * bench, emulate, gateway, loadgen, predict, compare, routers, presets; `--help` lists them).
 * Bad input of any kind is one line on stderr and exit code 2; a bug is exit code 1.
 */
import { Command, CommanderError } from 'commander';
import { InputError } from './errors.ts';
import { VERSION } from './version.ts';
import { register as registerRun } from './cli/commands/run.ts';
import { register as registerEmulate } from './cli/commands/emulate.ts';
import { register as registerSweep } from './cli/commands/sweep.ts';
import { register as registerCapacity } from './cli/commands/capacity.ts';
import { register as registerMerge } from './cli/commands/merge.ts';
import { register as registerBench } from './cli/commands/bench.ts';
import { register as registerReport } from './cli/commands/report.ts';
import { register as registerCalibrate } from './cli/commands/calibrate.ts';
import { register as registerLoadgen } from './cli/commands/loadgen.ts';
import { register as registerPredict } from './cli/commands/predict.ts';
import { register as registerCompare } from './cli/commands/compare.ts';
import { register as registerRouters } from './cli/commands/routers.ts';
import { register as registerPresets } from './cli/commands/presets.ts';
import { register as registerGateway } from './cli/commands/gateway.ts';

export const EXIT_BAD_INPUT = 2;

function buildProgram(): Command {
  const program = new Command();
  program
    .name('balanceroute')
    .description('Batch simulator of request routing across the DP ranks of a DP+EP MoE LLM deployment')
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: () => {} }); // errors are printed once, by main()

  // One module per command (src/cli/commands/), in the order `--help` lists them.
  registerRun(program);
  registerEmulate(program);
  registerSweep(program);
  registerCapacity(program);
  registerMerge(program);
  registerBench(program);
  registerReport(program);
  registerCalibrate(program);
  registerLoadgen(program);
  registerPredict(program);
  registerCompare(program);
  registerRouters(program);
  registerPresets(program);
  registerGateway(program);

  return program;
}

/** Run the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length <= 2) {
    // No command at all: show what there is, and fail (a script calling it bare is a mistake).
    process.stderr.write(program.helpInformation());
    return 1;
  }
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      process.stderr.write(`balanceroute: ${e.message.replace(/^error: /, '').split('\n')[0]}\n`);
      return EXIT_BAD_INPUT;
    }
    if (e instanceof InputError) {
      process.stderr.write(`balanceroute: ${e.message}\n`); // one line by construction (errors.ts)
      return EXIT_BAD_INPUT;
    }
    process.stderr.write(`balanceroute: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
