import { CpuEngine } from '../engine/cpu/cpuEngine.ts';
import type { Engine } from '../engine/types.ts';
import { loadSweepFile, parseShard, selectShard } from '../config/expand.ts';
import { InputError, InputProblem } from '../errors.ts';
import { probeAdapter, type AdapterProbe } from '../engine/gpu/adapter.ts';
import { GpuEngine } from '../engine/gpu/gpuEngine.ts';
import { writeResults, writeTimeSeries } from '../io/arrowWrite.ts';
import { VERSION } from '../version.ts';
import { createProgressBar, formatDuration } from './progressBar.ts';
import { numberFlag } from './parseFlags.ts';
import { formatTable } from './table.ts';
import { parseSlo, requestLimits } from '../capacity/slo.ts';
import { prepareOutputDir } from './outputPath.ts';

export interface SweepFlags {
  output: string;
  engine: 'cpu' | 'gpu' | 'auto';
  shard?: string;
  threads?: string;
  timeseries?: string;
  quiet?: boolean;
  /** `metric=bound,...`: add goodput columns (docs/output.md). */
  slo?: string;
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
  if (flags.engine === 'cpu') return new CpuEngine({ threads });
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
  return new CpuEngine({ threads });
}

export async function sweepCommand(file: string, flags: SweepFlags): Promise<void> {
  const log = (s: string) => {
    if (!flags.quiet) process.stderr.write(s + '\n');
  };
  const slo = flags.slo !== undefined ? parseSlo(flags.slo) : undefined;
  const sweep = loadSweepFile(file);
  prepareOutputDir(flags.output, 'output');
  prepareOutputDir(flags.timeseries, 'timeseries');
  let scenarios = sweep.scenarios;
  if (flags.shard !== undefined) {
    const { i, n } = parseShard(flags.shard);
    scenarios = selectShard(scenarios, i, n);
  }
  if (scenarios.length === 0) throw new InputError('shard', flags.shard, 'selects no configuration');
  if (slo) {
    const limits = requestLimits(slo);
    scenarios = scenarios.map((sc) => ({ ...sc, goodput: limits }));
  }
  const engine = await chooseEngine(flags, log);
  const bar = createProgressBar(`${sweep.name ?? file}`, { quiet: flags.quiet });
  const t0 = performance.now();
  let results;
  try {
    results = await engine.run(scenarios, (p) => bar.update(p.done, p.total));
  } finally {
    bar.finish();
    await engine.close();
  }
  const wallMs = performance.now() - t0;
  const meta = { engine: engine.info, sweepName: sweep.name ?? file, wallMs, version: VERSION, shard: flags.shard, extra: slo ? { slo: slo.text } : undefined };
  await writeResults(flags.output, results, meta);
  if (flags.timeseries) {
    const withSeries = results.filter((r) => r.timeseries);
    if (withSeries.length === 0) log('note: no configuration sets `timeseries: true`; no time series written');
    else await writeTimeSeries(flags.timeseries, withSeries, meta);
  }
  if (!flags.quiet) {
    const simulatedRequests = results.reduce((a, r) => a + r.metrics.requests, 0);
    const rankSteps = results.reduce((a, r) => a + r.metrics.steps * r.scenario.dp, 0);
    if (results.length <= 60) process.stdout.write(formatTable(results) + '\n');
    log(
      `${results.length} configurations in ${formatDuration(wallMs / 1000)} (${(wallMs / 1000).toFixed(2)} s wall, ` +
        `${engine.info.engine} engine, ${engine.info.threads} thread${engine.info.threads === 1 ? '' : 's'}): ` +
        `${Math.round(simulatedRequests / (wallMs / 1000)).toLocaleString('en-US')} simulated requests/s, ` +
        `${Math.round(rankSteps / (wallMs / 1000)).toLocaleString('en-US')} rank-steps/s -> ${flags.output}`,
    );
  }
}
