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
 * Token emission lag = time from a step's modelled end until the HTTP thread has handed the last
 * of that step's token chunks to the sockets (wall ms). `--engine-threads worker,main` runs both
 * placements of the engine core (`emulate --engine-thread`), alternating, for a ratio in one run.
 *
 *   node --import tsx benches/emulate.ts [--workload fixed|sharegpt] [--rates 100,200,300] [--reps 3] [--seconds 15] [--dp 8]
 *     [--engine-threads worker|main|worker,main] [--client raw|undici] [--client-sched idle|normal] [--out benches/results]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, setPriority, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from 'node:net';
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
    'engine-threads': { type: 'string', default: 'worker' },
    // raw: a minimal HTTP/1.1 client on net sockets (one connection per request, counting SSE
    // token events in the bytes); undici: the maintained client with a parsed body stream. The
    // load generator shares the two cores with the emulator: the cheaper it is, the less it
    // perturbs what is measured.
    client: { type: 'string', default: 'raw' },
    // idle: the load generator runs in its own process under SCHED_IDLE (chrt -i 0), so it only
    // takes CPU the emulator leaves; normal: in this process, competing with the emulator.
    'client-sched': { type: 'string', default: 'idle' },
    // Internal: the load generator's own process (--client-sched idle).
    role: { type: 'string', default: 'bench' },
    port: { type: 'string', default: '0' },
    rep: { type: 'string', default: '0' },
    // Scheduling priority of both processes (negative = higher; needs privileges). On a shared
    // machine the timing error mostly measures how long the OS keeps the emulator off the CPU.
    nice: { type: 'string', default: '0' },
  },
});

interface RunResult {
  engineThread: string;
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
  lagP50Ms: number;
  lagP99Ms: number;
  /** CPU time (user + system) per SSE token chunk, µs: the emulator process, then the load generator. */
  serverCpuUsPerChunk: number;
  clientCpuUsPerChunk: number;
  clientTtftP50Ms: number;
  clientTtftP99Ms: number;
  peakInFlight: number;
  /** Failed requests by cause. */
  errors: Record<string, number>;
}

function startEmulator(dp: number, engineThread: string): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    // The CLI from its sources (no build needed), as the tests run it.
    const argv = ['--import', 'tsx', 'test/cli/main.ts', 'emulate', '--dp', String(dp), '--port', '0', '--engine-thread', engineThread];
    const child = spawn(process.execPath, argv, {
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

const CHOICE = Buffer.from('"choices":[{');
const DONE = Buffer.from('data: [DONE]');

/**
 * POST `body` to /v1/completions over a fresh loopback connection and count the SSE token
 * events as bytes arrive (patterns may straddle reads: a short tail is kept). Resolves when the
 * server closes the connection (Connection: close).
 */
function rawStream(port: number, body: string, onFirst: () => void): Promise<{ status: number; chunks: number; done: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    const payload = Buffer.from(body);
    sock.write(`POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\nconnection: close\r\n\r\n`);
    sock.write(payload);
    let status = 0;
    let head = Buffer.alloc(0);
    let tail = Buffer.alloc(0);
    let chunks = 0;
    let done = false;
    const scan = (b: Buffer) => {
      const s = tail.length ? Buffer.concat([tail, b]) : b;
      for (let i = s.indexOf(CHOICE); i >= 0; i = s.indexOf(CHOICE, i + CHOICE.length)) {
        if (chunks++ === 0) onFirst();
      }
      if (!done && s.indexOf(DONE) >= 0) done = true;
      tail = s.subarray(Math.max(0, s.length - CHOICE.length + 1));
    };
    sock.on('data', (b: Buffer) => {
      if (status === 0) {
        head = Buffer.concat([head, b]);
        const e = head.indexOf('\r\n\r\n');
        if (e < 0) return;
        status = Number(head.subarray(9, 12).toString('latin1'));
        scan(head.subarray(e + 4));
        return;
      }
      scan(b);
    });
    sock.on('error', reject);
    sock.on('close', () => resolve({ status, chunks, done }));
  });
}

function quantile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

/** What the load generator measured. */
interface LoadResult {
  sent: number;
  completed: number;
  failed: number;
  achievedReqPerS: number;
  chunks: number;
  wallS: number;
  clientCpuS: number;
  ttfts: number[];
  peakInFlight: number;
  errors: Record<string, number>;
}

async function generateLoad(port: number, rate: number, rep: number, seconds: number, workload: string, client: string): Promise<LoadResult> {
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
    if (client === 'raw') {
      try {
        const r = await rawStream(port, body, () => ttfts.push(performance.now() - t0));
        chunks += r.chunks;
        if (r.status !== 200) fail(`HTTP ${r.status}`);
        else if (r.done) completed++;
        else fail('stream ended without [DONE]');
      } catch (e) {
        fail(`${(e as Error).name}: ${(e as { code?: string }).code ?? (e as Error).message}`);
      } finally {
        inFlight--;
      }
      return;
    }
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
  const wallS = (performance.now() - start) / 1000;
  await agent.close();
  const cpu = process.cpuUsage(cpu0);
  return {
    sent,
    completed,
    failed,
    achievedReqPerS: completed / ((sendEnd - start) / 1000),
    chunks,
    wallS,
    clientCpuS: (cpu.user + cpu.system) / 1e6,
    ttfts,
    peakInFlight: peak,
    errors,
  };
}

/**
 * The load generator in its own process under SCHED_IDLE (`chrt -i 0`): it then runs only when
 * a core is otherwise idle, as if the clients were on other machines. It prints one JSON line.
 */
function loadInIdleProcess(port: number, rate: number, rep: number, seconds: number, workload: string, client: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const argv = ['-i', '0', process.execPath, '--import', 'tsx', 'benches/emulate.ts', '--role', 'client', '--port', String(port)];
    argv.push('--rates', String(rate), '--rep', String(rep), '--seconds', String(seconds), '--workload', workload, '--client', client);
    const child = spawn('chrt', argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('error', (e) => reject(new Error(`--client-sched idle needs chrt (util-linux): ${e.message}`)));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited ${code}`))));
  });
}

async function runOnce(engineThread: string, rate: number, rep: number, seconds: number, dp: number, workload: string, client: string, clientSched: string): Promise<RunResult> {
  const { child, port, stderr } = await startEmulator(dp, engineThread);
  const load =
    clientSched === 'idle'
      ? await loadInIdleProcess(port, rate, rep, seconds, workload, client)
      : await generateLoad(port, rate, rep, seconds, workload, client);
  const { sent, completed, failed, chunks, ttfts, errors } = load;
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
  const m = /steps; step end timing error ms p50 ([\d.-]+) p99 ([\d.-]+) max ([\d.-]+); token emission lag ms p50 ([\d.-]+) p99 ([\d.-]+) max [\d.-]+; cpu ([\d.]+) s while listening/.exec(stderr());
  const stepsM = /stopped after (\d+) steps/.exec(stderr());
  return {
    engineThread,
    rate,
    rep,
    sent,
    completed,
    failed,
    achievedReqPerS: load.achievedReqPerS,
    chunks,
    chunksPerS: chunks / load.wallS,
    steps: stepsM ? Number(stepsM[1]) : NaN,
    errP50Ms: m ? Number(m[1]) : NaN,
    errP99Ms: m ? Number(m[2]) : NaN,
    errMaxMs: m ? Number(m[3]) : NaN,
    lagP50Ms: m ? Number(m[4]) : NaN,
    lagP99Ms: m ? Number(m[5]) : NaN,
    serverCpuUsPerChunk: m ? (Number(m[6]) * 1e6) / chunks : NaN,
    clientCpuUsPerChunk: (load.clientCpuS * 1e6) / chunks,
    clientTtftP50Ms: quantile(ttfts, 0.5),
    clientTtftP99Ms: quantile(ttfts, 0.99),
    peakInFlight: load.peakInFlight,
    errors,
  };
}

if (args.role === 'client') {
  const r = await generateLoad(Number(args.port), Number(args.rates), Number(args.rep), Number(args.seconds), args.workload!, args.client!);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
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
const client = args.client!;
const clientSched = args['client-sched']!;
if (clientSched !== 'idle' && clientSched !== 'normal') throw new Error(`--client-sched: idle or normal (got ${clientSched})`);
if (client !== 'raw' && client !== 'undici') throw new Error(`--client: raw or undici (got ${client})`);
const threads = args['engine-threads']!.split(',');
for (const t of threads) if (t !== 'worker' && t !== 'main') throw new Error(`--engine-threads: worker and/or main (got ${t})`);
const results: RunResult[] = [];
for (const rate of rates) {
  for (let rep = 0; rep < reps; rep++) {
    for (const t of threads) {
      const r = await runOnce(t, rate, rep, seconds, dp, workload, client, clientSched);
      results.push(r);
      process.stderr.write(`${JSON.stringify(r)}\n`);
    }
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
  `Load generator: ${client === 'raw' ? 'a minimal HTTP/1.1 client on net sockets (one connection per request)' : 'undici (keep-alive pool, parsed body stream)'}, ${clientSched === 'idle' ? 'in its own process under SCHED_IDLE (chrt -i 0): it only takes CPU the emulator leaves' : 'at normal priority in the bench process, competing with the emulator for the two cores'}.`,
  `Timing error = actual − modelled step end (wall ms), over every step of the run; emission lag = modelled step end to the last of its token chunks handed to the sockets. ${reps} runs per rate and engine thread (alternating): median [min, max].`,
  `Priority (nice) of both processes: ${nice}. Load average of the machine before the runs: ${load0.map((x) => x.toFixed(1)).join(' ')} (1, 5, 15 min).`,
  '',
  '| engine thread | offered req/s | completed req/s | failed | SSE chunks/s | steps | err p50 ms | err p99 ms | err max ms | emission lag p50 ms | lag p99 ms | client TTFT p50 ms | peak in flight | emulator CPU µs/chunk | client CPU µs/chunk |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const t of threads) for (const rate of rates) {
  const rs = results.filter((r) => r.rate === rate && r.engineThread === t);
  const f = (k: keyof RunResult, d = 1) => {
    const xs = rs.map((r) => r[k] as number);
    return `${med(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}, ${Math.max(...xs).toFixed(d)}]`;
  };
  lines.push(
    `| ${t} | ${rate} | ${f('achievedReqPerS')} | ${f('failed', 0)} | ${f('chunksPerS', 0)} | ${f('steps', 0)} | ${f('errP50Ms', 3)} | ${f('errP99Ms', 3)} | ${f('errMaxMs', 1)} | ${f('lagP50Ms', 2)} | ${f('lagP99Ms', 2)} | ${f('clientTtftP50Ms', 1)} | ${f('peakInFlight', 0)} | ${f('serverCpuUsPerChunk', 1)} | ${f('clientCpuUsPerChunk', 1)} |`,
  );
}
const md = lines.join('\n') + '\n';
process.stdout.write(md);
mkdirSync(args.out!, { recursive: true });
const stem = join(args.out!, `${new Date().toISOString().slice(0, 10)}-emulate-${workload}-${threads.join('-')}-${client}-${clientSched}${nice !== 0 ? `-nice${nice}` : ''}`);
writeFileSync(`${stem}.md`, md);
writeFileSync(`${stem}.json`, JSON.stringify({ dp, seconds, reps, workload, threads, client, clientSched, nice, loadavg: load0, results }, null, 2) + '\n');
