import { CpuEngine } from '../engine/cpu/cpuEngine.ts';
import type { Engine } from '../engine/types.ts';
import { loadSweepFile, parseShard, selectShard } from '../config/expand.ts';
import { InputError, InputProblem } from '../errors.ts';
import { probeAdapter, type AdapterProbe } from '../engine/gpu/adapter.ts';
import { GpuEngine } from '../engine/gpu/gpuEngine.ts';
import { VERSION } from '../version.ts';
import { createProgressBar, type ProgressMode } from './progressBar.ts';
import { numberFlag } from './parseFlags.ts';
import { formatTable } from './table.ts';
import { runSweepToFiles } from './sweepOutput.ts';

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
}

/**
 * Pick the engine; say which and why (on stderr, unless quiet). `gpu` fails with a one-line
 * InputError when there is no WebGPU adapter; `auto` takes the GPU only on a hardware adapter
 * (a software one such as SwiftShader is slower than the CPU engine) and says why otherwise.
 */
export async function chooseEngine(flags: SweepFlags, log: (s: string) => void, probe: () => Promise<AdapterProbe> = probeAdapter): Promise<Engine> {
  const threads = numberFlag('threads', flags.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new InputError('threads', flags.threads, 'must be an integer >= 1');
  }
  const capAtCores = !flags.threadsForce;
  if (flags.engine === 'cpu') return new CpuEngine({ threads, capAtCores });
  const found = await probe();
  // Per-chunk timings of the GPU engine on stderr (docs/gpu.md).
  const trace = process.env.BALANCEROUTE_GPU_TRACE === '1';
  if (flags.engine === 'gpu') {
    if (!found.adapter) throw new InputProblem('engine', `${found.reason}; use --engine cpu or auto`);
    log(`engine: gpu (${found.name}${found.isFallback ? ', a software adapter: correct but slower than the cpu engine' : ''})`);
    return GpuEngine.create({ probe: found, threads, log, trace });
  }
  if (found.adapter && !found.isFallback) {
    log(`engine: gpu (auto: hardware adapter ${found.name})`);
    return GpuEngine.create({ probe: found, threads, log, trace });
  }
  if (found.adapter) log(`engine: cpu (auto: only a software adapter (${found.name}) was found)`);
  else log(`engine: cpu (auto: ${found.reason || 'no WebGPU adapter'})`);
  return new CpuEngine({ threads, capAtCores });
}

export async function sweepCommand(file: string, flags: SweepFlags): Promise<void> {
  const log = (s: string) => {
    if (!flags.quiet) process.stderr.write(s + '\n');
  };
  const sweep = loadSweepFile(file);
  let scenarios = sweep.scenarios;
  if (flags.shard !== undefined) {
    const { i, n } = parseShard(flags.shard);
    scenarios = selectShard(scenarios, i, n);
  }
  if (scenarios.length === 0) throw new InputError('shard', flags.shard, 'selects no configuration');
  await runSweepToFiles({
    file,
    sweep,
    scenarios,
    flags,
    log,
    version: VERSION,
    chooseEngine: () => chooseEngine(flags, log),
    progress: createProgressBar(`${sweep.name ?? file}`, { quiet: flags.quiet, mode: flags.progress }),
    printTable: (results) => process.stdout.write(formatTable(results) + '\n'),
  });
}
