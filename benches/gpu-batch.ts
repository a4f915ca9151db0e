/**
 * Speed of the WebGPU engine per configuration batch size (`npm run bench:gpu`), with the CPU
 * engine on the same configurations for reference.
 *
 * A batch of N configurations is the first N of one fixed sequence (benches/gpuBenchShared.ts):
 * the four routers of the case harness (vllm_default, jsq_load, br0, fast_phi) × DP 2, 4, 8, 16 ×
 * two loads (0.375 and 0.75 req/s per rank; --per-rank-rates), then the next seed, so every batch
 * of 32 or more has the same mix; each configuration is a small workload (--requests, default 50
 * ShareGPT-like requests, the default model).
 *
 * Per batch size and engine: the wall time of `engine.run(batch)` over --reps runs after a warm-up
 * (the CPU engine: a discarded run of the same batch; the GPU engine: one run of the smallest
 * batch), median and spread; simulated requests/s and rank-steps/s (rank-steps = Σ steps × DP over
 * the configurations) by the median. For the GPU engine also the time its chunks spent simulating
 * (pipelines ready to rows read back, summed over chunks, from the engine's trace: two chunks in
 * flight at once can sum to more than the wall time), the round trips and chunks, and the
 * pipeline compilation, measured once on a fresh device and kept out of the per-batch figures.
 * The GPU engine runs alone (no CPU fallback: a configuration it cannot simulate is an error); its
 * rows are compared with the CPU engine's by the equivalence suite's exact rule
 * (test/gpu/tolerance.ts: every metric but wall_ms equal, the load-balance ratios within 1e-6;
 * float-scored routers may differ at a near-tie, docs/gpu.md).
 *
 * On a software adapter (SwiftShader, isFallbackAdapter) the GPU figures only show that the
 * engine runs and what the host loop costs: they say nothing about GPU speed.
 *
 *   npm run bench:gpu -- [--sizes 64,256,1024,4096] [--requests 50] [--per-rank-rates 0.375,0.75]
 *     [--reps 3] [--threads N] [--no-cpu] [--quick] [--no-save] [--out-dir benches/results]
 *
 * (`--per-rank-rates 7.5 --requests 2000`: saturated configurations, DP 8 at 60 req/s and the
 * like, where the kernel's walk over long running lists dominates; docs/gpu.md, Performance.)
 *
 * Prints markdown; unless --no-save, saves `<date>-gpu-batch-<adapter>[-<requests>req-<rates>rps][-quick].{md,json}`.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { deviceSlug, fmtMs, fmtRate, machineInfo } from '../src/bench/harness.ts';
import { checkOutDir } from '../src/cli/benchCommand.ts';
import type { Scenario } from '../src/config/scenario.ts';
import { DPS, PER_RANK_RATES, ROUTERS, batchOf, parseTrace, type ChunkTrace } from './gpuBenchShared.ts';
import { CpuEngine } from '../src/engine/cpu/cpuEngine.ts';
import { probeAdapter } from '../src/engine/gpu/adapter.ts';
import { GpuEngine } from '../src/engine/gpu/gpuEngine.ts';
import type { Engine, RunResult } from '../src/engine/types.ts';
import { VERSION } from '../src/version.ts';
import { exactDifferences } from '../test/gpu/tolerance.ts';

interface Args {
  sizes: number[];
  requests: number;
  rates: number[];
  reps: number;
  threads: number;
  cpu: boolean;
  quick: boolean;
  save: boolean;
  outDir: string;
}

function fail(msg: string): never {
  process.stderr.write(`bench:gpu: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { sizes: [64, 256, 1024, 4096], requests: 50, rates: PER_RANK_RATES, reps: 3, threads: availableParallelism(), cpu: true, quick: false, save: true, outDir: 'benches/results' };
  const ints = (flag: string, v: string | undefined): number[] => {
    const xs = (v ?? '').split(',').map(Number);
    if (!v || xs.some((x) => !Number.isInteger(x) || x < 1)) fail(`${flag} must be a comma-separated list of positive integers, got ${v}`);
    return xs;
  };
  let sizesSet = false;
  let repsSet = false;
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const v = argv[i + 1];
    switch (f) {
      case '--sizes': a.sizes = ints(f, v); sizesSet = true; i++; break;
      case '--requests': a.requests = ints(f, v)[0]; i++; break;
      case '--per-rank-rates': {
        const xs = (v ?? '').split(',').map(Number);
        if (!v || xs.some((x) => !(x > 0))) fail(`--per-rank-rates must be a comma-separated list of positive numbers, got ${v}`);
        a.rates = xs;
        i++;
        break;
      }
      case '--reps': a.reps = ints(f, v)[0]; repsSet = true; i++; break;
      case '--threads': a.threads = ints(f, v)[0]; i++; break;
      case '--no-cpu': a.cpu = false; break;
      case '--quick': a.quick = true; break;
      case '--no-save': a.save = false; break;
      case '--out-dir': if (!v) fail('--out-dir needs a directory'); a.outDir = v; i++; break;
      case '--': break;
      default: fail(`unknown option ${f}`);
    }
  }
  if (a.quick) {
    if (!sizesSet) a.sizes = [64, 256];
    if (!repsSet) a.reps = 2;
  }
  return a;
}

interface Row {
  engine: string;
  configs: number;
  requests: number;
  rankSteps: number;
  reps: number;
  wallMs: number[];
  wallMsMedian: number;
  /** Range of the runs' wall times, relative to the median, % (as the case harness; printed as ± half). */
  spreadPct: number;
  requestsPerS: number;
  rankStepsPerS: number;
  /** GPU: time the chunks spent from pipelines ready to rows read back (median run, summed over chunks). */
  gpuSimulateMs?: number;
  roundTrips?: number;
  loopIterations?: number;
  chunks?: number;
  /** GPU rows whose metrics (all but wall_ms) equal the CPU engine's. */
  identicalRows?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The equivalence suite's rule: every metric equal, the load-balance ratios within 1e-6 relative, wall_ms aside. */
function sameMetrics(gpu: RunResult, cpu: RunResult): boolean {
  return exactDifferences(cpu.metrics, gpu.metrics).length === 0;
}

async function timeRuns(engine: Engine, batch: Scenario[], reps: number, traces: ChunkTrace[][]): Promise<{ walls: number[]; results: RunResult[]; trace: ChunkTrace[] }> {
  const walls: number[] = [];
  const perRun: ChunkTrace[][] = [];
  let results: RunResult[] = [];
  for (let i = 0; i < reps; i++) {
    traces.length = 0;
    traces.push([]);
    const t0 = performance.now();
    results = await engine.run(batch);
    walls.push(performance.now() - t0);
    perRun.push(traces[0]);
  }
  // The trace of the run with the median wall time.
  const order = walls.map((w, i) => [w, i]).sort((x, y) => x[0] - y[0]);
  return { walls, results, trace: perRun[order[Math.floor(order.length / 2)][1]] };
}

function row(engine: string, batch: Scenario[], walls: number[], results: RunResult[]): Row {
  const med = median(walls);
  const rankSteps = results.reduce((a, r) => a + r.metrics.steps * r.scenario.dp, 0);
  const requests = results.reduce((a, r) => a + r.metrics.requests, 0);
  return {
    engine,
    configs: batch.length,
    requests,
    rankSteps,
    reps: walls.length,
    wallMs: walls,
    wallMsMedian: med,
    spreadPct: (100 * (Math.max(...walls) - Math.min(...walls))) / med,
    requestsPerS: requests / (med / 1000),
    rankStepsPerS: rankSteps / (med / 1000),
  };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.save) checkOutDir(a.outDir);
  const log = (s: string) => process.stderr.write(s + '\n');
  const started = performance.now();
  const load0 = loadavg()[0];

  const probe = await probeAdapter();
  if (!probe.adapter) fail(`${probe.reason}; this bench needs a WebGPU adapter`);
  const info = probe.adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const adapter = {
    name: probe.name,
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: probe.isFallback,
  };
  if (probe.isFallback) log(`note: ${probe.name} is a software adapter (isFallbackAdapter): its figures show correctness and host cost, not GPU speed`);

  // GPU engine: a fresh device; the first run (one configuration per router) compiles the pipelines.
  const traces: ChunkTrace[][] = [[]];
  const gpu = await GpuEngine.create({
    probe,
    trace: true,
    log: (line) => {
      const t = parseTrace(line);
      if (t) traces[0].push(t);
    },
  });
  const rows: Row[] = [];
  const cpuRows: Row[] = [];
  let compile: { wallMs: number; pipelinesMs: number; configs: number } | undefined;
  const cpuResults = new Map<number, RunResult[]>();
  try {
    const first = batchOf(ROUTERS.length, a.requests, a.rates);
    const t0 = performance.now();
    await gpu.run(first);
    compile = { wallMs: performance.now() - t0, pipelinesMs: traces[0].reduce((s, t) => s + t.readyMs, 0), configs: first.length };
    log(`gpu: pipelines compiled in ${fmtMs(compile.pipelinesMs)} (first run of ${first.length} configurations: ${fmtMs(compile.wallMs)})`);

    // CPU engine first (its rows are the reference), then the GPU engine, per batch size.
    let cpu: CpuEngine | undefined;
    if (a.cpu) cpu = new CpuEngine({ threads: a.threads });
    await gpu.run(batchOf(Math.min(...a.sizes), a.requests, a.rates)); // warm-up of the host code
    try {
      for (const n of a.sizes) {
        const batch = batchOf(n, a.requests, a.rates);
        if (cpu) {
          // One discarded run per size: from 40,000 simulated requests the engine starts its
          // worker pool, whose start-up and first runs are not what a long sweep pays per run.
          await cpu.run(batch);
          const c = await timeRuns(cpu, batch, a.reps, [[]]);
          const r = row(`cpu x${cpu.info.threads || a.threads}`, batch, c.walls, c.results);
          cpuRows.push(r);
          cpuResults.set(n, c.results);
          log(`cpu  ${String(n).padStart(6)} configs: ${fmtMs(r.wallMsMedian)} ±${(r.spreadPct / 2).toFixed(0)}%  ${fmtRate(r.requestsPerS)} req/s  ${fmtRate(r.rankStepsPerS)} rank-steps/s`);
        }
        const g = await timeRuns(gpu, batch, a.reps, traces);
        const r = row('gpu', batch, g.walls, g.results);
        r.gpuSimulateMs = g.trace.reduce((s, t) => s + t.simulateMs, 0);
        r.roundTrips = g.trace.reduce((s, t) => s + t.roundTrips, 0);
        r.loopIterations = g.trace.reduce((s, t) => s + t.iterations, 0);
        r.chunks = g.trace.length;
        const ref = cpuResults.get(n);
        if (ref) r.identicalRows = g.results.filter((x, i) => sameMetrics(x, ref[i])).length;
        rows.push(r);
        log(
          `gpu  ${String(n).padStart(6)} configs: ${fmtMs(r.wallMsMedian)} ±${(r.spreadPct / 2).toFixed(0)}%  ${fmtRate(r.requestsPerS)} req/s  ${fmtRate(r.rankStepsPerS)} rank-steps/s` +
            (ref ? `  (${r.identicalRows}/${n} rows identical to the cpu engine's)` : ''),
        );
      }
    } finally {
      await cpu?.close();
    }
  } finally {
    await gpu.close(); // destroys the device (Dawn keeps a core busy otherwise)
  }

  const report = {
    bench: 'gpu-batch',
    version: VERSION,
    date: new Date().toISOString(),
    machine: machineInfo(),
    loadAverage: { start: load0, end: loadavg()[0] },
    adapter,
    settings: { sizes: a.sizes, requestsPerConfig: a.requests, reps: a.reps, cpuThreads: a.threads, routers: ROUTERS, dp: DPS, perRankRates: a.rates, quick: a.quick },
    compile,
    gpu: rows,
    cpu: cpuRows,
    totalS: (performance.now() - started) / 1000,
  };
  const md = markdown(report);
  process.stdout.write(md + '\n');
  if (a.save) {
    const custom = a.rates.join() !== PER_RANK_RATES.join() || a.requests !== 50 ? `-${a.requests}req-${a.rates.join('+')}rps` : '';
    const stem = `${report.date.slice(0, 10)}-gpu-batch-${deviceSlug({ engine: 'gpu', adapter: probe.name }).replace(/^gpu-/, '')}${custom}${a.quick ? '-quick' : ''}`;
    writeFileSync(join(a.outDir, `${stem}.json`), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(a.outDir, `${stem}.md`), md + '\n');
    log(`saved ${join(a.outDir, stem)}.{md,json}`);
  }
}

function markdown(r: {
  version: string;
  date: string;
  machine: ReturnType<typeof machineInfo>;
  loadAverage: { start: number; end: number };
  adapter: { name: string; vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
  settings: { requestsPerConfig: number; perRankRates: number[]; reps: number; cpuThreads: number };
  compile?: { wallMs: number; pipelinesMs: number; configs: number };
  gpu: Row[];
  cpu: Row[];
  totalS: number;
}): string {
  const ad = r.adapter;
  const lines = [
    `GPU engine per configuration batch size, balanceroute ${r.version}, ${r.date.slice(0, 10)}`,
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.os}, Node ${r.machine.node}; load average ${r.loadAverage.start.toFixed(1)} at the start, ${r.loadAverage.end.toFixed(1)} at the end.`,
    `Adapter: vendor \`${ad.vendor}\`, architecture \`${ad.architecture}\`, device \`${ad.device}\`, description \`${ad.description}\`, isFallbackAdapter ${ad.isFallbackAdapter}.`,
    ...(ad.isFallbackAdapter
      ? ['', '**Software adapter: the GPU figures below show that the engine runs and what its host loop costs on these CPU cores; they are for correctness only and say nothing about GPU speed.**']
      : []),
    '',
    `Each configuration: ${r.settings.requestsPerConfig} requests; routers vllm_default, jsq_load, br0, fast_phi × DP 2, 4, 8, 16 × ${r.settings.perRankRates.join(', ')} req/s per rank, seeds in turn. ` +
      `${r.settings.reps} timed runs per row after a warm-up (CPU: a discarded run of the same batch; GPU: one run of the smallest); rates by the median wall time; spread = half the range over the median. CPU engine: ${r.settings.cpuThreads} worker threads (one thread below 40,000 simulated requests).`,
    r.compile ? `Pipeline compilation (fresh device, once, not in the rows): ${fmtMs(r.compile.pipelinesMs)}; that first run (${r.compile.configs} configurations) took ${fmtMs(r.compile.wallMs)}.` : '',
    '',
    '| configs | engine | requests | rank-steps | wall (median) | spread | requests/s | rank-steps/s | GPU simulating (Σ chunks) | round trips | chunks | rows = cpu |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const sizes = [...new Set([...r.cpu, ...r.gpu].map((x) => x.configs))];
  for (const n of sizes) {
    for (const x of [...r.cpu, ...r.gpu].filter((y) => y.configs === n)) {
      lines.push(
        `| ${n} | ${x.engine} | ${x.requests.toLocaleString('en-US')} | ${x.rankSteps.toLocaleString('en-US')} | ${fmtMs(x.wallMsMedian)} | ±${(x.spreadPct / 2).toFixed(0)}% | ${fmtRate(x.requestsPerS)} | ${fmtRate(x.rankStepsPerS)} | ` +
          `${x.gpuSimulateMs !== undefined ? fmtMs(x.gpuSimulateMs) : ''} | ${x.roundTrips ?? ''} | ${x.chunks ?? ''} | ${x.identicalRows !== undefined ? `${x.identicalRows}/${n}` : ''} |`,
      );
    }
  }
  lines.push('', `Total ${r.totalS.toFixed(0)} s.`);
  return lines.join('\n');
}

await main();
