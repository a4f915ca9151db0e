// `balanceroute predict`: its arguments, flags and help; the command itself is in the module the action calls.
import type { Command } from 'commander';
import { scenarioOptions } from '../parseFlags.ts';

/** `run` flags that shape the workload, which `predict` takes from the measured log instead. */
const PREDICT_WORKLOAD_FLAGS = new Set(['--rate', '--requests', '--workload', '--trace', '--trace-columns', '--trace-time-unit', '--trace-window', '--arrival', '--cv', '--max-output']);

export function register(program: Command): void {
  const predict = program
    .command('predict')
    .description('simulate the exact workload of a loadgen log (arrivals, prompt and output lengths); per-request predictions')
    .argument('<measured.arrow>', 'per-request log written by `balanceroute loadgen -o`')
    .requiredOption('-o, --output <file.arrow>', 'predicted per-request log; the simulator result row goes to FILE.summary.arrow');
  // The deployment's configuration flags are `run`'s (from src/config/schema.ts), less those that
  // shape the workload: the measured log is the workload. Router, knobs and DP size default to a
  // gateway's (--gateway-log); DP size and step model to what the log recorded about the server;
  // predict refuses to guess them.
  for (const opt of scenarioOptions()) {
    if (PREDICT_WORKLOAD_FLAGS.has(opt.long ?? '')) continue;
    predict.addOption(opt);
    if (opt.long === '--router') predict.option('-k, --knob <name=value...>', "router knob, repeatable (default: the gateway's knobs when its router is used)");
  }
  predict
    .option('--gateway-log <decisions.arrow>', 'take the default router, knobs and rank count from a gateway decision log')
    .option('--speed <x>', "the emulator's --speed for a run measured against `emulate` (default: the speed the emulator reported in the log, else 1)")
    .option('--rtt-ms <ms>', 'client-server round trip added to predicted first-token and end times (wall ms)', '0')
    .option('-q, --quiet', 'no summary')
    .action(async (file, opts) => {
      const { predictCommand } = await import('../predictCommand.ts');
      await predictCommand(file, opts);
    });
}
