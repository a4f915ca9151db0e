#!/usr/bin/env node
// Measures the CPU engine's worker pool on the compiled package (run `npm run build` first):
// (1) start-up: from `new Worker` to its 'ready' message, compiled dist/ worker vs the TypeScript
// worker under tsx; (2) break-even: sweeps of 2 to 16 configurations on the calling thread vs a
// cold pool of 2 threads (start-up and shut-down included), to place MIN_POOL_REQUESTS
// (src/engine/cpu/cpuEngine.ts). Prints markdown (median and range of REPS runs) with the machine.
//   node scripts/measure-pool.mjs [REPS] [SIZES] > benches/results/DATE-pool.md
// SIZES: comma-separated configuration counts for the break-even table (default 2,4,8,16,32,64).
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';

const REPS = Number(process.argv[2] ?? 7);
const SIZES = (process.argv[3] ?? '2,4,8,16,32,64').split(',').map(Number);
const dist = new URL('../dist/', import.meta.url);
const { CpuEngine } = await import(new URL('engine/cpu/cpuEngine.js', dist).href);
const { scenarioFromFlat } = await import(new URL('config/expand.js', dist).href);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;

async function startUp(url, n) {
  const t0 = performance.now();
  const ws = Array.from({ length: n }, () => new Worker(url));
  await Promise.all(ws.map((w) => new Promise((ok, bad) => {
    w.on('message', (m) => m.type === 'ready' && ok());
    w.once('error', bad);
  })));
  const ms = performance.now() - t0;
  await Promise.all(ws.map((w) => w.terminate()));
  return ms;
}

const out = [];
const say = (s = '') => out.push(s);
say(`# CPU engine worker pool (${new Date().toISOString().slice(0, 10)})`);
say();
say(`Machine: ${cpus()[0]?.model ?? 'unknown'}, ${availableParallelism()} cores, Node ${process.version}, load average ${loadavg()[0].toFixed(1)} at start. Milliseconds, median (min–max) of ${REPS} runs.`);
say();
say('## Start-up: `new Worker` to ready');
say();
say('| workers | compiled (dist/engine/cpu/worker.js) | TypeScript under tsx (workerEntry.mjs) |');
say('|---:|---:|---:|');
const compiled = new URL('engine/cpu/worker.js', dist);
const viaTsx = new URL('../src/engine/cpu/workerEntry.mjs', import.meta.url);
for (const n of [1, 2]) {
  const a = [];
  const b = [];
  for (let i = 0; i < REPS; i++) {
    a.push(await startUp(compiled, n));
    b.push(await startUp(viaTsx, n));
  }
  say(`| ${n} | ${fmt(a)} | ${fmt(b)} |`);
}

say();
say('## Break-even: calling thread vs a cold pool of 2 threads');
say();
say('Each configuration: 1,000 requests, DP 8, ShareGPT, rate 20/s, routers vllm_default/jsq_load/br0/fast_phi in turn. The pool column includes starting and stopping the workers.');
say();
say('| configurations | requests | 1 thread | pool of 2 | pool / 1 thread |');
say('|---:|---:|---:|---:|---:|');
const routers = ['vllm_default', 'jsq_load', 'br0', 'fast_phi'];
const sweep = (n) => Array.from({ length: n }, (_, i) =>
  scenarioFromFlat({ router: routers[i % 4], dp: 8, rate: 20, requests: 1000, workload: 'sharegpt', seed: 1 + i }, i));
// Warm the calling thread's JIT first (a long sweep pays it once).
await new CpuEngine({ threads: 1 }).run(sweep(8));
for (const n of SIZES) {
  const scs = sweep(n);
  const one = [];
  const pool = [];
  for (let i = 0; i < REPS; i++) {
    let t0 = performance.now();
    await new CpuEngine({ threads: 1 }).run(scs);
    one.push(performance.now() - t0);
    const e = new CpuEngine({ threads: 2, minPoolRequests: 0 });
    t0 = performance.now();
    await e.run(scs);
    await e.close();
    pool.push(performance.now() - t0);
  }
  say(`| ${n} | ${(n * 1000).toLocaleString('en')} | ${fmt(one)} | ${fmt(pool)} | ${(median(pool) / median(one)).toFixed(2)} |`);
}
process.stdout.write(out.join('\n') + '\n');
