/**
 * Throughput and timing accuracy of `balanceroute emulate` (a measurement, never an assertion).
 *
 * For each offered rate, start the emulator in a child process (DP=8, default preset, --speed 1),
 * send streaming /v1/completions requests as a Poisson process from this process for a fixed
 * time, read every SSE stream to the end, then stop the emulator with SIGTERM and read its step
 * timing error (actual − modelled step end, wall ms) and CPU time from its exit line. Repeats
 * each rate and reports median and spread.
 *
 * Workloads: `fixed` (default): 256 prompt token ids, 128 output tokens (ignore_eos), a load the
 * modelled DP=8 deployment sustains at 200 req/s (`run` says TTFT p99 26 ms there), so the
 * figures measure the emulator, not a queue in the model. `sharegpt`: ShareGPT prompt lengths
 * and output lengths drawn by the emulator from the ShareGPT profile (median 638 tokens) — more
 * tokens per request than the modelled deployment can serve at these rates; it shows where the
 * emulator's token streaming saturates.
 *
 *   node --import tsx benches/emulate.ts [--workload fixed|sharegpt] [--rates 100,200,300] [--reps 3] [--seconds 15] [--dp 8] [--out benches/results]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, setPriority, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { Rng } from '../src/rng.ts';
import { getProfile } from '../src/workload/profiles.ts';
import { inverseCdf } from '../src/workload/lengths.ts';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '100,200,300' },
    reps: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '15' },
    dp: { type: 'string', default: '8' },
    out: { type: 'string', default: 'benches/results' },
    workload: { type: 'string', default: 'fixed' },
    // Scheduling priority of both processes (negative = higher; needs privileges). On a shared
    // machine the timing error mostly measures how long the OS keeps the emulator off the CPU.
    nice: { type: 'string', default: '0' },
  },
});

interface RunResult {
  rate: number;
  rep: number;
  sent: number;
  completed: number;
  failed: number;
  achievedReqPerS: number;
  chunks: number;
  chunksPerS: number;
  steps: number;
  errP50Ms: number;
  errP99Ms: number;
  errMaxMs: number;
  /** CPU time (user + system) per SSE token chunk, µs: the emulator process, then the load generator. */
  serverCpuUsPerChunk: number;
  clientCpuUsPerChunk: number;
  clientTtftP50Ms: number;
  clientTtftP99Ms: number;
  peakInFlight: number;
  /** Failed requests by cause. */
  errors: Record<string, number>;
}

function startEmulator(dp: number): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    // The CLI from its sources (no build needed), as the tests run it.
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/cli/main.ts', 'emulate', '--dp', String(dp), '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /emulate: listening (\{.*\})/.exec(out);
      if (m) resolve({ child, port: (JSON.parse(m[1]) as { ports: number[] }).ports[0], stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`emulator exited (${code}): ${err}`)));
    if (nice !== 0) setPriority(child.pid!, nice);
  });
}

function quantile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

async function runOnce(rate: number, rep: number, seconds: number, dp: number, workload: string): Promise<RunResult> {
  const { child, port, stderr } = await startEmulator(dp);
  const agent = new Agent({ connections: 4096, keepAliveTimeout: 10_000 });
  const url = `http://127.0.0.1:${port}/v1/completions`;
  const rng = new Rng(1000 + rep, 7);
  const prompts = getProfile('sharegpt').promptQuantiles;
  let sent = 0;
  let completed = 0;
  let failed = 0;
  let chunks = 0;
  let inFlight = 0;
  let peak = 0;
  const ttfts: number[] = [];
  const errors: Record<string, number> = {};
  const fail = (why: string) => {
    failed++;
    errors[why] = (errors[why] ?? 0) + 1;
  };
  const pending: Promise<void>[] = [];
  const one = async () => {
    const fixed = workload === 'fixed';
    const plen = fixed ? 256 : Math.min(1024, inverseCdf(prompts, rng.next()));
    const body = JSON.stringify({
      model: 'qwen3-30b-a3b-h100',
      prompt: Array.from({ length: plen }, (_, i) => (i * 7919) % 32000),
      max_tokens: fixed ? 128 : 1024,
      ignore_eos: fixed,
      stream: true,
      stream_options: { include_usage: true },
    });
    const t0 = performance.now();
    inFlight++;
    if (inFlight > peak) peak = inFlight;
    try {
      const res = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
      if (res.statusCode !== 200) {
        fail(`HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 120)}`);
        return;
      }
      let first = true;
      let tail = '';
      let done = false;
      for await (const buf of res.body) {
        const s = tail + (buf as Buffer).toString('utf8');
        let i = 0;
        for (;;) {
          const j = s.indexOf('\n\n', i);
          if (j < 0) break;
          const ev = s.slice(i, j);
          i = j + 2;
          if (ev === 'data: [DONE]') done = true;
          else if (ev.includes('"choices":[{')) {
            chunks++;
            if (first) {
              ttfts.push(performance.now() - t0);
              first = false;
            }
          }
        }
        tail = s.slice(i);
      }
      if (done) completed++;
      else fail('stream ended without [DONE]');
    } catch (e) {
      fail(`${(e as Error).name}: ${(e as { code?: string }).code ?? (e as Error).message}`);
    } finally {
      inFlight--;
    }
  };
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let next = 0;
  while (next < seconds * 1000) {
    const wait = start + next - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(one());
    sent++;
    next += (-Math.log(rng.nextOpen()) / rate) * 1000;
  }
  const sendEnd = performance.now();
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 60_000))]);
  const wall = (performance.now() - start) / 1000;
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
  await agent.close();
  const m = /steps; step end timing error ms p50 ([\d.-]+) p99 ([\d.-]+) max ([\d.-]+); cpu ([\d.]+) s while listening/.exec(stderr());
  const clientCpu = process.cpuUsage(cpu0);
  const stepsM = /stopped after (\d+) steps/.exec(stderr());
  return {
    rate,
    rep,
    sent,
    completed,
    failed,
    achievedReqPerS: completed / ((sendEnd - start) / 1000),
    chunks,
    chunksPerS: chunks / wall,
    steps: stepsM ? Number(stepsM[1]) : NaN,
    errP50Ms: m ? Number(m[1]) : NaN,
    errP99Ms: m ? Number(m[2]) : NaN,
    errMaxMs: m ? Number(m[3]) : NaN,
    serverCpuUsPerChunk: m ? (Number(m[4]) * 1e6) / chunks : NaN,
    clientCpuUsPerChunk: (clientCpu.user + clientCpu.system) / chunks,
    clientTtftP50Ms: quantile(ttfts, 0.5),
    clientTtftP99Ms: quantile(ttfts, 0.99),
    peakInFlight: peak,
    errors,
  };
}

const rates = args.rates!.split(',').map(Number);
const reps = Number(args.reps);
const seconds = Number(args.seconds);
const dp = Number(args.dp);
const workload = args.workload!;
if (workload !== 'fixed' && workload !== 'sharegpt') throw new Error(`--workload: fixed or sharegpt (got ${workload})`);
const nice = Number(args.nice);
if (nice !== 0) setPriority(nice);
const load0 = loadavg();
const results: RunResult[] = [];
for (const rate of rates) {
  for (let rep = 0; rep < reps; rep++) {
    const r = await runOnce(rate, rep, seconds, dp, workload);
    results.push(r);
    process.stderr.write(`${JSON.stringify(r)}\n`);
  }
}

const med = (xs: number[]) => quantile(xs, 0.5);
const lines = [
  `# balanceroute emulate: throughput and step timing (${new Date().toISOString().slice(0, 10)})`,
  '',
  `Machine: ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`,
  `Emulator: --dp ${dp}, default preset, --speed 1, internal LB, one child process; load: Poisson arrivals for ${seconds} s from a second process,`,
  workload === 'fixed'
    ? 'streaming /v1/completions, 256 prompt token ids, 128 output tokens (ignore_eos).'
    : 'streaming /v1/completions, ShareGPT prompt lengths (token ids), output lengths drawn from the ShareGPT profile (max_tokens 1024).',
  `Timing error = actual − modelled step end (wall ms), over every step of the run. ${reps} runs per rate: median [min, max].`,
  `Priority (nice) of both processes: ${nice}. Load average of the machine before the runs: ${load0.map((x) => x.toFixed(1)).join(' ')} (1, 5, 15 min).`,
  '',
  '| offered req/s | completed req/s | failed | SSE chunks/s | steps | err p50 ms | err p99 ms | err max ms | client TTFT p50 ms | peak in flight | emulator CPU µs/chunk | client CPU µs/chunk |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const rate of rates) {
  const rs = results.filter((r) => r.rate === rate);
  const f = (k: keyof RunResult, d = 1) => {
    const xs = rs.map((r) => r[k] as number);
    return `${med(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}, ${Math.max(...xs).toFixed(d)}]`;
  };
  lines.push(
    `| ${rate} | ${f('achievedReqPerS')} | ${f('failed', 0)} | ${f('chunksPerS', 0)} | ${f('steps', 0)} | ${f('errP50Ms', 3)} | ${f('errP99Ms', 3)} | ${f('errMaxMs', 1)} | ${f('clientTtftP50Ms', 1)} | ${f('peakInFlight', 0)} | ${f('serverCpuUsPerChunk', 1)} | ${f('clientCpuUsPerChunk', 1)} |`,
  );
}
const md = lines.join('\n') + '\n';
process.stdout.write(md);
mkdirSync(args.out!, { recursive: true });
const stem = join(args.out!, `${new Date().toISOString().slice(0, 10)}-emulate-${workload}${nice !== 0 ? `-nice${nice}` : ''}`);
writeFileSync(`${stem}.md`, md);
writeFileSync(`${stem}.json`, JSON.stringify({ dp, seconds, reps, workload, nice, loadavg: load0, results }, null, 2) + '\n');
