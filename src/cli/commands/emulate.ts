// `balanceroute emulate`: its arguments, flags and help; the command itself is in the module the action calls.
import { Option, type Command } from 'commander';
import { emulateCommand, emulateScenarioOptions } from '../emulateCommand.ts';

export function register(program: Command): void {
  const emulate = program
    .command('emulate')
    .description("serve vLLM's OpenAI API from the simulated DP deployment, in real time (docs/emulate.md)");
  // The configuration flags of `run` that apply to a live deployment (arrivals come from HTTP).
  for (const opt of emulateScenarioOptions()) {
    emulate.addOption(opt);
    if (opt.long === '--router') emulate.option('-k, --knob <name=value...>', 'router knob, repeatable');
  }
  emulate
    .option('--port <n>', 'HTTP port (external LB: port + rank; 0 = ephemeral)', '8000')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .addOption(new Option('--lb <mode>', 'internal: one port, X-data-parallel-rank; external: one port per rank').choices(['internal', 'external']).default('internal'))
    .option('--speed <x>', 'run steps x times faster than modelled (1 = real time)', '1')
    .option('--served-model-name <name>', 'model name of the API (default: the model preset name)')
    .option('--tokenizer <tokenizer.json>', 'count text prompt tokens exactly with this Hugging Face tokenizer file')
    .option('--max-body-bytes <n>', 'largest accepted request body', String(8 * 1024 * 1024))
    .option('--record <file.csv>', 'on exit (also on SIGHUP), write the arrivals as a trace `run --trace` replays')
    .option('--shutdown-grace-s <s>', 'on SIGTERM/SIGINT/SIGHUP: how long requests in flight may finish before they are ended', '5')
    .addOption(
      new Option('--engine-thread <where>', 'worker: step the engine core on its own thread (as vLLM runs EngineCore beside its API server); main: on the HTTP thread')
        .choices(['worker', 'main'])
        .default('worker'),
    )
    .action(async (opts) => {
      await emulateCommand(opts);
    });
}
