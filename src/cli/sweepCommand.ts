import { chooseEngine, refuseGpuOnly } from '../engine/choose.ts';
import type { Engine } from '../engine/types.ts';
import { loadSweepFile, parseShard, selectShard } from '../config/expand.ts';
import { InputError, InputProblem } from '../errors.ts';
import { VERSION } from '../version.ts';
import { createProgressBar, type ProgressMode } from './progressBar.ts';
import { numberFlag } from './parseFlags.ts';
import { formatTable } from './table.ts';
import { runSweepToFiles } from './sweepOutput.ts';
import { parseSlo, requestLimits } from '../capacity/slo.ts';

export interface SweepFlags {
  output: string;
  engine: 'cpu' | 'gpu' | 'auto';
  shard?: string;
  threads?: string;
  timeseries?: string;
  quiet?: boolean;
  /** Run more threads than cores (otherwise --threads is capped at the cores available). */
  threadsForce?: boolean;
  /** Progress display: bar (terminal), lines (every ~10 s), none; auto picks by terminal. */
  progress?: ProgressMode;
  /** `metric=bound,...`: add goodput columns (docs/capacity.md). */
  slo?: string;
}

/** The engine the flags ask for (src/engine/choose.ts); --threads must be a whole number >= 1. */
function engineFor(flags: SweepFlags, log: (s: string) => void): Promise<Engine> {
  const threads = numberFlag('threads', flags.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new InputError('threads', flags.threads, 'must be an integer >= 1');
  }
  // Per-chunk timings of the GPU engine on stderr (docs/gpu.md).
  const trace = process.env.BALANCEROUTE_GPU_TRACE === '1';
  return chooseEngine({ engine: flags.engine, threads, trace, capAtCores: !flags.threadsForce }, log);
}

export async function sweepCommand(file: string, flags: SweepFlags): Promise<void> {
  const log = (s: string) => {
    if (!flags.quiet) process.stderr.write(s + '\n');
  };
  const slo = flags.slo !== undefined ? parseSlo(flags.slo) : undefined;
  const sweep = loadSweepFile(file);
  // With --slo every configuration records goodput; the limits are part of the sweep's fingerprint.
  const limits = slo ? requestLimits(slo) : undefined;
  const allScenarios = limits ? sweep.scenarios.map((sc) => ({ ...sc, goodput: limits })) : sweep.scenarios;
  let scenarios = allScenarios;
  if (flags.shard !== undefined) {
    const { i, n } = parseShard(flags.shard);
    scenarios = selectShard(scenarios, i, n);
  }
  if (scenarios.length === 0) throw new InputError('shard', flags.shard, 'selects no configuration');
  refuseGpuOnly(flags.engine, scenarios);
  await runSweepToFiles({
    file,
    sweep: { ...sweep, scenarios: allScenarios },
    scenarios,
    flags,
    log,
    version: VERSION,
    extra: slo ? { slo: slo.text } : undefined,
    chooseEngine: () => engineFor(flags, log),
    progress: createProgressBar(`${sweep.name ?? file}`, { quiet: flags.quiet, mode: flags.progress }),
    printTable: (results) => process.stdout.write(formatTable(results) + '\n'),
  });
}
