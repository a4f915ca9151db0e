import { chooseEngine } from '../engine/choose.ts';
import type { Engine } from '../engine/types.ts';
import { loadSweepFile, parseShard, selectShard } from '../config/expand.ts';
import { InputError, InputProblem } from '../errors.ts';
import { writeResults, writeTimeSeries } from '../io/arrowWrite.ts';
import { VERSION } from '../version.ts';
import { createProgressBar, formatDuration } from './progressBar.ts';
import { numberFlag } from './parseFlags.ts';
import { formatTable } from './table.ts';
import { prepareOutputDir } from './outputPath.ts';

export interface SweepFlags {
  output: string;
  engine: 'cpu' | 'gpu' | 'auto';
  shard?: string;
  threads?: string;
  timeseries?: string;
  quiet?: boolean;
}

/** The engine the flags ask for (src/engine/choose.ts); --threads must be a whole number >= 1. */
function engineFor(flags: SweepFlags, log: (s: string) => void): Promise<Engine> {
  const threads = numberFlag('threads', flags.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new InputError('threads', flags.threads, 'must be an integer >= 1');
  }
  // Per-chunk timings of the GPU engine on stderr (docs/gpu.md).
  const trace = process.env.BALANCEROUTE_GPU_TRACE === '1';
  return chooseEngine({ engine: flags.engine, threads, trace }, log);
}

export async function sweepCommand(file: string, flags: SweepFlags): Promise<void> {
  const log = (s: string) => {
    if (!flags.quiet) process.stderr.write(s + '\n');
  };
  const sweep = loadSweepFile(file);
  prepareOutputDir(flags.output, 'output');
  prepareOutputDir(flags.timeseries, 'timeseries');
  let scenarios = sweep.scenarios;
  if (flags.shard !== undefined) {
    const { i, n } = parseShard(flags.shard);
    scenarios = selectShard(scenarios, i, n);
  }
  if (scenarios.length === 0) throw new InputError('shard', flags.shard, 'selects no configuration');
  const engine = await engineFor(flags, log);
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
  const meta = { engine: engine.info, sweepName: sweep.name ?? file, wallMs, version: VERSION, shard: flags.shard };
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
