/**
 * Speed of an SLO capacity search (simulations per second), CPU engine vs the WebGPU engine on
 * whatever adapter this machine has (SwiftShader on a CPU-only machine: correctness, not speed).
 * Each engine searches the same sweep REPS times after a warm-up; prints median and spread and
 * writes benches/results/<date>-capacity-<adapter>.md.
 *
 *   npx tsx benches/capacity.ts [--configs N] [--reps R] [--no-gpu]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { scenarioFromFlat } from '../src/config/expand.ts';
import { CpuEngine } from '../src/engine/cpu/cpuEngine.ts';
import type { Engine } from '../src/engine/types.ts';
import { parseSlo } from '../src/capacity/slo.ts';
import { searchCapacity } from '../src/capacity/search.ts';

const args = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const REPS = flag('--reps', 3);
const CONFIGS = flag('--configs', 64);
const noGpu = args.includes('--no-gpu');

// CONFIGS configurations: routers × DP × seeds, 200 requests each, a fixed request count so the
// work per simulation is the same on both engines.
const routers = ['vllm_default', 'jsq_load', 'power_of_two', 'round_robin'];
const dps = [4, 8];
const configs = Array.from({ length: CONFIGS }, (_, i) =>
  scenarioFromFlat({ router: routers[i % routers.length], dp: dps[Math.floor(i / routers.length) % dps.length], seed: 1 + Math.floor(i / (routers.length * dps.length)), requests: 200, max_output: 512, rate: 8 }, i),
);
const slo = parseSlo('ttft_p95_ms=1000,tpot_p95_ms=60');

async function measure(label: string, engine: Engine): Promise<string> {
  const run = async () => {
    const t0 = performance.now();
    const out = await searchCapacity(configs, (scs) => engine.run(scs), { slo, tolerance: 0.01, minRate: 1, maxRate: 4096, window: 'fixed' });
    return { ms: performance.now() - t0, sims: out.simulations, rounds: out.rounds };
  };
  await run(); // warm-up (pool start, pipeline compilation)
  const xs = [];
  for (let i = 0; i < REPS; i++) xs.push(await run());
  xs.sort((a, b) => a.ms - b.ms);
  const med = xs[Math.floor(xs.length / 2)];
  const spread = (100 * (xs[xs.length - 1].ms - xs[0].ms)) / med.ms;
  const line = `| ${label} | ${configs.length} | ${med.sims} | ${med.rounds} | ${med.ms.toFixed(0)} | ${spread.toFixed(0)}% | ${((med.sims / med.ms) * 1000).toFixed(0)} |`;
  console.log(line);
  return line;
}

const lines = [
  `# Capacity search speed (${new Date().toISOString().slice(0, 10)})`,
  '',
  `Machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, Node ${process.version}. ${CONFIGS} configurations × 200 requests, grid 1–4096 req/s, tolerance 1%, median of ${REPS} runs after a warm-up.`,
  '',
  '| engine (adapter) | configurations | simulations | rounds | wall ms (median) | spread | simulations/s |',
  '|---|---:|---:|---:|---:|---:|---:|',
];
const cpu = new CpuEngine({});
try {
  lines.push(await measure(`cpu (${cpu.info.threads} threads)`, cpu));
} finally {
  await cpu.close();
}
let adapterTag = 'cpu';
if (!noGpu) {
  const { probeAdapter } = await import('../src/engine/gpu/adapter.ts');
  const { GpuEngine } = await import('../src/engine/gpu/gpuEngine.ts');
  const probe = await probeAdapter();
  if (probe.adapter) {
    const gpu = await GpuEngine.create({ probe });
    adapterTag = probe.name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase();
    try {
      lines.push(await measure(`gpu (${probe.name}${probe.isFallback ? ', software' : ''})`, gpu));
    } finally {
      await gpu.close();
    }
  } else lines.push(`| gpu | no adapter: ${probe.reason} | | | | | |`);
}
mkdirSync('benches/results', { recursive: true });
const out = `benches/results/${new Date().toISOString().slice(0, 10)}-capacity-${adapterTag}.md`;
writeFileSync(out, lines.join('\n') + '\n');
console.log(`-> ${out}`);
