/**
 * Command-line entry: `balanceroute run | sweep | merge | routers | presets`.
 * Bad input of any kind is one line on stderr and exit code 2; a bug is exit code 1.
 */
import { Command, CommanderError, Option } from 'commander';
import { InputError } from './errors.ts';
import { runCommand } from './cli/runCommand.ts';
import { scenarioOptions } from './cli/parseFlags.ts';
import { sweepCommand } from './cli/sweepCommand.ts';
import { mergeCommand } from './cli/mergeCommand.ts';
import { reportCommand } from './cli/reportCommand.ts';
import { presetsCommand, routersCommand } from './cli/listCommands.ts';
import { calibrateCommand } from './cli/calibrateCommand.ts';
import { VERSION } from './version.ts';
import { benchCommand } from './cli/benchCommand.ts';
import { PROGRESS_MODES } from './cli/progressBar.ts';
import { capacityCommand } from './cli/capacityCommand.ts';
import { emulateCommand, emulateScenarioOptions } from './cli/emulateCommand.ts';
import { addGatewayCommand } from './cli/gatewayCommand.ts';

export const EXIT_BAD_INPUT = 2;

/** `run` flags that shape the workload, which `predict` takes from the measured log instead. */
const PREDICT_WORKLOAD_FLAGS = new Set(['--rate', '--requests', '--workload', '--trace', '--trace-columns', '--trace-time-unit', '--trace-window', '--arrival', '--cv', '--max-output']);

function buildProgram(): Command {
  const program = new Command();
  program
    .name('balanceroute')
    .description('Batch simulator of request routing across the DP ranks of a DP+EP MoE LLM deployment')
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: () => {} }); // errors are printed once, by main()

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

  program
    .command('capacity')
    .description('largest request rate meeting a latency SLO, per configuration of a sweep (rate is searched)')
    .argument('<sweep>', 'sweep file without a rate axis (.yaml, .yml or .json)')
    .requiredOption('--slo <metric=bound,...>', 'upper bounds on result columns, e.g. ttft_p95_ms=2000,tpot_p95_ms=100[,failed_frac=0.01]')
    .requiredOption('-o, --output <file.arrow>', 'capacity file (one row per configuration)')
    .option('--min-rate <req/s>', 'lower end of the search (with --max-rate: a grid from min to max; default: walk from the sweep rate)')
    .option('--max-rate <req/s>', 'upper end of the search')
    .option('--tolerance <x%>', 'relative width of the final rate bracket', '1%')
    .option('--window <s|base|fixed>', 'seconds of arrivals per evaluation (requests = rate × window); base: the sweep\'s requests / rate; fixed: same requests at every rate', 'base')
    .addOption(new Option('--engine <engine>', 'simulation engine').choices(['cpu', 'gpu', 'auto']).default('auto'))
    .option('--threads <n>', 'worker threads for the CPU engine (default: all cores)')
    .option('-q, --quiet', 'no progress or summary')
    .action(async (file, opts) => {
      await capacityCommand(file, opts);
    });

  program
    .command('merge')
    .description('merge result files of a sharded sweep')
    .argument('<inputs...>', 'Arrow result files')
    .requiredOption('-o, --output <file.arrow>', 'merged result file')
    .option('--allow-partial', 'merge even when shards of the sweep are missing (they are listed)')
    .action(async (inputs, opts) => {
      await mergeCommand(inputs, opts);
    });

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

  program
    .command('report')
    .description('HTML report (charts, verdict) of a sweep result, capacity or time-series file')
    .argument('<file.arrow>', 'result file of `sweep`/`run -o`, capacity file of `capacity`, or time series of `--timeseries`')
    .argument('[predicted.arrow]', 'with a loadgen log as FILE: the predict log to compare it with (as `compare`)')
    .option('-o, --output <file.html>', 'report file (default: the input with .html)')
    .option('--results <file.arrow>', 'time series only: result file that labels its configurations')
    .option('--requests <file.arrow>', 'time series only: per-request log for the Gantt chart (default: FILE.requests.arrow beside it)')
    .option('--config <i,j,...>', 'time series only: config_index values to draw (default: the first 8)')
    .option('--max-configs <n>', 'time series only: draw at most n configurations', '8')
    .option('--bins <n>', 'time series only: time bins per chart', '300')
    .option('--slo <metric=bound,...>', 'sweeps over rates: SLO of the capacity verdict (default: the sweep\'s --slo, else ttft_p95_ms=2000,tpot_p95_ms=100)')
    .action(async (file, predicted, opts) => {
      if (predicted !== undefined) {
        const { compareCommand } = await import('./cli/compareCommand.ts');
        await compareCommand(file, predicted, { output: opts.output });
      } else await reportCommand(file, opts);
    });

  program
    .command('calibrate')
    .description('fit a step-time model file to a layer-wise vLLM profile (or derive one from a HF config.json with --gpu)')
    .argument('<profile>', 'profile folder (attention.csv, dense.csv, moe.csv, per_sequence.csv, meta.yaml), its parent, or a config.json')
    .requiredOption('-o, --output <file.json>', 'model file to write (use with --model)')
    .option('--config <config.json>', 'Hugging Face config of the profiled model (default: model-config.json next to the profile)')
    .option('--dp <n,...>', 'DP sizes (= EP degrees) to calibrate for (default 1,2,4,8 where they divide the experts)')
    .option('--gpu <name>', 'GPU (h100, h200, b200, a100, rtxpro6000); default from meta.yaml')
    .option('--max-num-seqs <n>', "deployment's max_num_seqs (decode bound, CUDA-graph capture sizes); default from meta.yaml")
    .option('--max-context <tokens>', 'fit only profile points with contexts up to this many tokens')
    .option('--no-cuda-graphs', 'model an enforce_eager deployment (no DP padding to capture sizes)')
    .option('--no-l2-correction', "keep the one-layer profile's L2-resident weight reads as measured")
    .option('--step-overhead-us <us>', 'extra per-step time of a busy rank (CPU scheduling), µs', '0')
    .option('--skew-alpha <a>', 'attention cost share of uneven decode contexts (default: meta.yaml skew_fit)')
    .option('--gpu-memory-utilization <f>', "deployment's gpu_memory_utilization (default from meta.yaml)")
    .option('--reserve-gib <GiB>', 'memory outside weights and KV cache (default: estimated, docs/step-model.md §6)')
    .option('--name <name>', 'model name written into the file')
    .option('--json', 'print the derivation as JSON')
    .action((profile, opts) => calibrateCommand(profile, opts));

  program
    .command('loadgen')
    .description('send a workload to an OpenAI-compatible server (vLLM, the emulator) and measure it as vllm bench serve does')
    .requiredOption('--url <url>', 'server base URL (http://127.0.0.1:8000) or full endpoint URL')
    .option('--endpoint <kind>', 'completions or chat', 'completions')
    .option('--rate <req/s>', 'mean request rate, or inf (for --trace: rescale to this rate; default keeps the trace timing)')
    .option('--burstiness <k>', 'gamma shape of inter-arrival gaps (1 = Poisson, < 1 burstier), or inf', '1')
    .option('--requests <n>', 'number of requests (default 1000; for --trace: first n, default all)')
    .option('--workload <profile>', 'built-in length profile for token-id prompts (sharegpt, azure_conv, azure_code; default sharegpt)')
    .option('--trace <file>', 'replay the timing and lengths of a trace file (CSV or JSONL)')
    .option('--dataset <sharegpt.json>', 'real prompts from a ShareGPT JSON file (needs --tokenizer)')
    .option('--tokenizer <tokenizer.json>', "the model's Hugging Face tokenizer.json, to count dataset tokens")
    .option('--seed <n>', 'seed of arrivals, lengths and prompts (as vllm bench --seed)', '0')
    .option('--max-output <n>', 'cap on sampled output lengths in tokens', '1024')
    .option('--max-concurrency <n>', 'at most n requests in flight')
    .option('--timeout-s <s>', 'per-request timeout from the send (0 = none)', '600')
    .option('--model <name>', 'model name sent in requests (default: the first of GET /v1/models)')
    .option('--header <name:value...>', 'extra request header, repeatable (e.g. X-data-parallel-rank:1)')
    .option('--request-id-prefix <p>', 'x-request-id of request i is PREFIXi', 'loadgen-')
    .option('--no-ignore-eos', 'do not send ignore_eos: true (outputs may end early)')
    .option('--no-initial-test', 'skip the one-token test request sent before the run')
    .option('--gateway-log <decisions.arrow>', "after the run, take each request's rank (and the router) from a `balanceroute gateway` decision log")
    .option('-o, --output <file.arrow>', 'per-request log; the summary row goes to FILE.summary.arrow', 'measured.arrow')
    .option('--save-json <file.json>', "also write vllm bench serve's result JSON")
    .option('--save-detailed', 'with --save-json: include the per-request arrays')
    .option('--metric-percentiles <p,...>', 'percentiles to report (as vllm bench)', '99')
    .option('-q, --quiet', 'no progress bar or summary')
    .action(async (opts) => {
      // Loaded on use: the HTTP client and tokenizer are not needed by the other commands.
      const { loadgenCommand } = await import('./cli/loadgenCommand.ts');
      await loadgenCommand(opts);
    });

  const predict = program
    .command('predict')
    .description('simulate the exact workload of a loadgen log (arrivals, prompt and output lengths); per-request predictions')
    .argument('<measured.arrow>', 'per-request log written by `balanceroute loadgen -o`')
    .requiredOption('-o, --output <file.arrow>', 'predicted per-request log; the simulator result row goes to FILE.summary.arrow');
  // The deployment's configuration flags are `run`'s (from src/config/schema.ts), less those that
  // shape the workload: the measured log is the workload. Router, knobs and DP size default to a
  // gateway's (--gateway-log), else to the schema defaults.
  for (const opt of scenarioOptions()) {
    if (PREDICT_WORKLOAD_FLAGS.has(opt.long ?? '')) continue;
    predict.addOption(opt);
    if (opt.long === '--router') predict.option('-k, --knob <name=value...>', "router knob, repeatable (default: the gateway's knobs when its router is used)");
  }
  predict
    .option('--gateway-log <decisions.arrow>', 'take the default router, knobs and rank count from a gateway decision log')
    .option('--speed <x>', "the emulator's --speed for a run measured against `emulate` (1 for a real deployment)", '1')
    .option('--rtt-ms <ms>', 'client-server round trip added to predicted first-token and end times (wall ms)', '0')
    .option('-q, --quiet', 'no summary')
    .action(async (file, opts) => {
      const { predictCommand } = await import('./cli/predictCommand.ts');
      await predictCommand(file, opts);
    });

  program
    .command('compare')
    .description('measured vs predicted per metric (mean, p50, p90, p99, error %), per-request scatter and in-flight series, as HTML')
    .argument('<measured.arrow>', 'loadgen log')
    .argument('<predicted.arrow>', 'predict log of the same run')
    .option('-o, --output <file.html>', 'report file (default: MEASURED.compare.html)')
    .option('--json', 'print the comparison as JSON instead of a table')
    .action(async (measured, predicted, opts) => {
      const { compareCommand } = await import('./cli/compareCommand.ts');
      await compareCommand(measured, predicted, opts);
    });

  program
    .command('routers')
    .description('list routing policies and their knobs')
    .option('--json', 'as JSON')
    .action((opts) => routersCommand(opts));

  program
    .command('presets')
    .description('list step-time presets and workload profiles')
    .option('--json', 'as JSON')
    .action((opts) => presetsCommand(opts));

  addGatewayCommand(program);

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
