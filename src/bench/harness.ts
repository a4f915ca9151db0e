/**
 * Performance measurements of the engines (never assertions): each case runs after a warm-up,
 * several times, and reports the median and spread of simulated rank-steps/s, simulated
 * requests/s, configurations/s and simulated seconds per wall second, with peak memory and the
 * machine, Node version, engine and adapter. Used by `npm run bench` and `balanceroute bench`.
 */
import { availableParallelism, cpus, hostname, platform, release, totalmem } from 'node:os';
import type { Scenario } from '../config/scenario.ts';
import { scenarioFromFlat } from '../config/expand.ts';
import { CpuEngine } from '../engine/cpu/cpuEngine.ts';
import type { Engine, RunResult } from '../engine/types.ts';
import { VERSION } from '../version.ts';

export interface BenchCase {
  /** Group of the case: 'single', 'dp', 'requests', 'configs', 'cores'. */
  group: string;
  name: string;
  engine: string;
  threads: number;
  configs: number;
  requestsPerConfig: number;
  dp: number;
  reps: number;
  wallMsMedian: number;
  wallMsMin: number;
  wallMsMax: number;
  rankStepsPerS: number;
  requestsPerS: number;
  configsPerS: number;
  simSecondsPerWallS: number;
  /** Spread of the rate metrics: (max - min) / median of wall time, in %. */
  spreadPct: number;
}

export interface BenchReport {
  version: string;
  date: string;
  machine: { host: string; cpu: string; cores: number; memoryGiB: number; os: string; node: string };
  engines: { engine: string; adapter: string; fallbackAdapter: boolean; threads: number }[];
  peakRssMiB: number;
  cases: BenchCase[];
  notes: string[];
}

export interface BenchOptions {
  /** Smaller curves and fewer repetitions (a smoke run). */
  quick?: boolean;
  /** Repetitions per case (default 5, quick 2). */
  reps?: number;
  /** Worker threads for multi-config cases (default: all cores). */
  threads?: number;
  /** Extra engines to measure besides the CPU engine (e.g. the GPU engine). */
  extraEngines?: { label: string; make: () => Promise<Engine> }[];
  log?: (line: string) => void;
}

/** A configuration of the bench cases: the default model and ShareGPT-like workload, `over` on top. */
export function benchScenario(over: Record<string, unknown>, index = 0): Scenario {
  return scenarioFromFlat({ router: 'vllm_default', model: 'qwen3-30b-a3b-h100', workload: 'sharegpt', max_output: 1024, ...over }, index);
}

function sweepOf(n: number, over: Record<string, unknown>): Scenario[] {
  const routers = ['vllm_default', 'jsq_load', 'br0', 'fast_phi'];
  return Array.from({ length: n }, (_, i) => benchScenario({ ...over, router: routers[i % routers.length], seed: 1 + Math.floor(i / routers.length) }, i));
}

let peakRss = 0;
function sampleRss(): void {
  const rss = process.memoryUsage().rss;
  if (rss > peakRss) peakRss = rss;
}

async function measure(
  group: string,
  name: string,
  make: () => Promise<Engine> | Engine,
  scenarios: Scenario[],
  reps: number,
  threadsHint: number,
): Promise<BenchCase> {
  const engine = await make();
  try {
    // Warm-up: JIT, workload caches and worker start-up are not what a long sweep pays per run.
    // At least 3 runs and, for short cases, about half a second of them (V8 optimises hot loops
    // only after many iterations).
    const w0 = performance.now();
    for (let i = 0; i < 3 || (performance.now() - w0 < 500 && i < 200); i++) {
      await engine.run(scenarios.slice(0, Math.min(scenarios.length, 64)));
      if (performance.now() - w0 > 3000) break;
    }
    const walls: number[] = [];
    let results: RunResult[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      results = await engine.run(scenarios);
      walls.push(performance.now() - t0);
      sampleRss();
    }
    walls.sort((a, b) => a - b);
    const med = walls[Math.floor(walls.length / 2)];
    const rankSteps = results.reduce((a, r) => a + r.metrics.steps * r.scenario.dp, 0);
    const requests = results.reduce((a, r) => a + r.metrics.requests, 0);
    const simSeconds = results.reduce((a, r) => a + r.metrics.makespan_s, 0);
    const s = med / 1000;
    return {
      group,
      name,
      engine: engine.info.engine,
      threads: engine.info.threads || threadsHint,
      configs: scenarios.length,
      requestsPerConfig: scenarios[0].workload.requests,
      dp: scenarios[0].dp,
      reps,
      wallMsMedian: med,
      wallMsMin: walls[0],
      wallMsMax: walls[walls.length - 1],
      rankStepsPerS: rankSteps / s,
      requestsPerS: requests / s,
      configsPerS: scenarios.length / s,
      simSecondsPerWallS: simSeconds / s,
      spreadPct: (100 * (walls[walls.length - 1] - walls[0])) / med,
    };
  } finally {
    await engine.close();
  }
}

/** The machine a measurement ran on. */
export function machineInfo(): BenchReport['machine'] {
  return {
    host: hostname(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}

/** An engine and adapter as a file-name part, e.g. `gpu-nvidia-h100-80gb-hbm3`. */
export function deviceSlug(e: { engine: string; adapter: string }): string {
  return e.adapter ? `${e.engine}-${e.adapter.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 40).replace(/^-+|-+$/g, '')}` : e.engine;
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const log = opts.log ?? (() => {});
  const quick = !!opts.quick;
  const reps = opts.reps ?? (quick ? 2 : 5);
  const threads = opts.threads ?? availableParallelism();
  const cases: BenchCase[] = [];
  const one = () => new CpuEngine({ threads: 1 });
  const all = () => new CpuEngine({ threads });
  const add = (c: BenchCase) => {
    cases.push(c);
    log(`${c.group.padEnd(8)} ${c.name.padEnd(34)} ${c.engine}x${c.threads}  ${fmtMs(c.wallMsMedian)}  ${fmtRate(c.requestsPerS)} req/s  ${fmtRate(c.rankStepsPerS)} rank-steps/s`);
  };
  peakRss = 0;

  // The seed experiment: one configuration, one core.
  for (const router of ['vllm_default', 'jsq_load', 'br0', 'fast_phi']) {
    add(await measure('single', `seed dp8 500 req ${router}`, one, [benchScenario({ router, dp: 8, rate: 3, requests: 500, seed: 1 })], quick ? 3 : 21, 1));
  }
  // Versus DP size (rate grows with G so every rank sees similar load).
  for (const dp of quick ? [2, 8, 64] : [2, 4, 8, 16, 32, 64, 128, 256]) {
    const requests = Math.max(500, 4 * dp);
    add(await measure('dp', `dp ${dp}, ${requests} req, rate ${0.75 * dp}`, one, [benchScenario({ dp, rate: 0.75 * dp, requests, seed: 1 })], reps, 1));
  }
  // Versus requests per configuration (DP=8, moderate load).
  for (const requests of quick ? [500, 5000] : [500, 5000, 50000]) {
    add(await measure('requests', `dp 8, rate 12, ${requests} req`, one, [benchScenario({ dp: 8, rate: 12, requests, seed: 1 })], requests >= 50000 ? Math.min(reps, 3) : reps, 1));
  }
  // Versus number of configurations (small runs, all cores).
  for (const n of quick ? [1, 64, 1024] : [1, 16, 256, 4096, 16384]) {
    add(await measure('configs', `${n} configs x 50 req, dp 8`, all, sweepOf(n, { dp: 8, rate: 3, requests: 50 }), n >= 4096 ? Math.min(reps, 3) : reps, threads));
  }
  // 1 core versus all cores on the same sweep.
  const sweep = sweepOf(quick ? 32 : 128, { dp: 8, rate: 6, requests: 500 });
  add(await measure('cores', `${sweep.length} configs x 500 req, 1 thread`, one, sweep, Math.min(reps, 3), 1));
  add(await measure('cores', `${sweep.length} configs x 500 req, ${threads} threads`, all, sweep, Math.min(reps, 3), threads));

  const engines = [{ engine: 'cpu', adapter: '', fallbackAdapter: false, threads }];
  for (const extra of opts.extraEngines ?? []) {
    const probe = await extra.make();
    engines.push({ ...probe.info });
    await probe.close();
    for (const n of quick ? [64] : [256, 4096, 16384]) {
      add(await measure('configs', `${n} configs x 50 req, dp 8`, extra.make, sweepOf(n, { dp: 8, rate: 3, requests: 50 }), Math.min(reps, 3), 1));
    }
  }

  const notes: string[] = [];
  const c1 = cases.find((c) => c.group === 'cores' && c.threads === 1);
  const cN = cases.find((c) => c.group === 'cores' && c.threads !== 1);
  if (c1 && cN) notes.push(`speed-up on ${cN.threads} threads vs 1: ${(c1.wallMsMedian / cN.wallMsMedian).toFixed(2)}x`);
  const seed = cases.filter((c) => c.group === 'single');
  if (seed.length) {
    const med = seed.map((c) => c.wallMsMedian).sort((a, b) => a - b)[Math.floor(seed.length / 2)];
    notes.push(`seed experiment (500 requests, DP=8), one core: ${med.toFixed(2)} ms median over routers`);
    const perReq = med / 500 / 1000;
    notes.push(`vs LLMServingSim (~1-2 requests per wall-second): ${Math.round(1 / perReq / 2).toLocaleString('en-US')}-${Math.round(1 / perReq).toLocaleString('en-US')}x; vs BLIS (~0.8 s per experiment): ${Math.round(800 / med).toLocaleString('en-US')}x`);
  }
  return {
    version: VERSION,
    date: new Date().toISOString(),
    machine: machineInfo(),
    engines,
    peakRssMiB: Math.round(Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 2 ** 20),
    cases,
    notes,
  };
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(2)} ms`;
}

export function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(1);
}

/** The report as a markdown table. */
export function benchMarkdown(r: BenchReport): string {
  const lines = [
    `Benchmark of balanceroute ${r.version}, ${r.date.slice(0, 10)}`,
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.os}, Node ${r.machine.node}.`,
    `Engines: ${r.engines.map((e) => `${e.engine}${e.adapter ? ` (${e.adapter}${e.fallbackAdapter ? ', software fallback' : ''})` : ''}`).join(', ')}. Peak RSS ${r.peakRssMiB} MiB.`,
    '',
    '| case | engine | threads | wall (median) | spread | rank-steps/s | requests/s | configs/s | sim-s per wall-s |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...r.cases.map(
      (c) =>
        `| ${c.name} | ${c.engine} | ${c.threads} | ${fmtMs(c.wallMsMedian)} | ±${(c.spreadPct / 2).toFixed(0)}% | ${fmtRate(c.rankStepsPerS)} | ${fmtRate(c.requestsPerS)} | ${fmtRate(c.configsPerS)} | ${fmtRate(c.simSecondsPerWallS)} |`,
    ),
    '',
    ...r.notes.map((n) => `- ${n}`),
  ];
  return lines.join('\n');
}
