/**
 * Gateway performance (figures, never assertions). Three measurements:
 *  1. routing decision time (view build + router call, as the gateway's histogram records it)
 *     per router at G = 16 and 64, with 16 in-flight requests per rank;
 *  2. TTFT added by the gateway: Poisson arrivals at 100 req/s in all, in triples of one request
 *     straight to the backend, one through the gateway and one through a bare TCP relay
 *     (benches/tcpRelay.ts: the floor any proxy pays on this machine), round robin over the
 *     backend's ranks; client-side time to the first body bytes; the backend is `balanceroute
 *     emulate` when it is in the tree;
 *  3. streaming throughput: closed-loop clients at several concurrencies against a backend that
 *     answers at once, direct and through the gateway.
 * Backend and gateway run as separate processes. Median and spread over `--reps` runs.
 * Usage: tsx benches/gateway.ts [--quick] [--reps N] [--ttft-seconds S] [--only decisions|ttft|throughput] [--no-save]
 */
import { startProc, stopProc } from './procs.ts';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { routerNames, resolveRouterParams } from '../src/routers/index.ts';
import { RoutingState } from '../src/serve/gateway/routingState.ts';
import { SurvivalEstimator, DEFAULT_SURVIVAL } from '../src/serve/gateway/survival.ts';
import { Rng } from '../src/rng.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const repsArg = args.indexOf('--reps');
const REPS = repsArg >= 0 ? Number(args[repsArg + 1]) : quick ? 3 : 5;
const save = !args.includes('--no-save');
const onlyArg = args.indexOf('--only');
const ONLY = onlyArg >= 0 ? args[onlyArg + 1] : undefined;
const ttftArg = args.indexOf('--ttft-seconds');
const TTFT_SECONDS = ttftArg >= 0 ? Number(args[ttftArg + 1]) : quick ? 3 : 20;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
// The CLI: the compiled bin when dist/ is built (what users run), else the sources under tsx.
const CLI = existsSync(`${ROOT}dist/cli.js`) ? ['bin/balanceroute.mjs'] : [TSX, 'test/cli/main.ts'];

const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
const pct = (a: number[], p: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x: number, d = 2) => x.toFixed(d);
const spread = (a: number[]) => `${fmt(Math.min(...a))}–${fmt(Math.max(...a))}`;

// ---- 1. decision time -----------------------------------------------------------------------
function decisionBench(router: string, G: number, n: number): number[] {
  const rng = new Rng(7, 1);
  const s = new RoutingState(G, router, resolveRouterParams(router, {}), new SurvivalEstimator(DEFAULT_SURVIVAL), 1);
  for (let r = 0; r < G; r++) {
    s.setHealthy(r, true);
    s.applySnapshot(r, { engine: String(r), running: 16, waiting: rng.below(4), kvUsage: rng.next(), kvCapacityTokens: 500_000 }, performance.now());
  }
  const flights = [];
  for (let i = 0; i < 16 * G; i++) {
    const d = s.decide(50 + rng.below(2000))!;
    s.progress(d.flight, rng.below(500));
    flights.push(d.flight);
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = s.decide(50 + rng.below(2000))!;
    out.push(d.decision.decisionNs / 1000);
    // keep the population steady: the oldest leaves, the new one streams a little
    s.finish(flights[i % flights.length]);
    s.progress(d.flight, 1 + rng.below(50));
    flights[i % flights.length] = d.flight;
  }
  return out;
}

const BODY = (tokens: number) => JSON.stringify({ model: 'fake-model', prompt: 'x'.repeat(400), max_tokens: tokens, stream: true });

/** One streaming request; returns [ttft ms, total ms]. */
async function one(pool: Pool, tokens: number, body = BODY(tokens)): Promise<[number, number]> {
  const t0 = performance.now();
  const r = await pool.request({ method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json' }, body });
  let ttft = NaN;
  for await (const _ of r.body) if (Number.isNaN(ttft)) ttft = performance.now() - t0;
  if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
  return [ttft, performance.now() - t0];
}

/**
 * Triples: at each Poisson arrival, one request straight to a backend rank, one through the
 * gateway and one through the relay, sent in the same tick in a rotating order (so no path is
 * always written first). All three meet the emulator at the same step phase, so the per-triple
 * differences isolate what each path adds from the step-boundary wait that dominates TTFT.
 */
async function ttftBench(direct: Pool[], via: Pool, relays: Pool[], rate: number, seconds: number, body: string): Promise<{ direct: number[]; via: number[]; relay: number[]; viaMinusDirect: number[]; relayMinusDirect: number[] }> {
  const rng = new Rng(11, 2);
  const d: number[] = [];
  const v: number[] = [];
  const rl: number[] = [];
  const dv: number[] = [];
  const dr: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let t = 0;
  let k = 0;
  while (t < seconds * 1000) {
    const wait = start + t - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const targets = [direct[k % direct.length], via, relays[k % relays.length]];
    const order = [0, 1, 2].map((j) => (j + k) % 3);
    const got: Promise<number>[] = [];
    for (const j of order) got[j] = one(targets[j], 8, body).then(([ttft]) => ttft);
    k++;
    pending.push(
      Promise.all(got).then(([a, b, c]) => {
        d.push(a);
        v.push(b);
        rl.push(c);
        dv.push(b - a);
        dr.push(c - a);
      }),
    );
    t += -Math.log(1 - rng.next()) * (1000 / rate);
  }
  await Promise.all(pending);
  return { direct: d, via: v, relay: rl, viaMinusDirect: dv, relayMinusDirect: dr };
}

async function throughput(pool: Pool, concurrency: number, seconds: number): Promise<number> {
  let done = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await one(pool, 4);
        done++;
      }
    }),
  );
  return done / seconds;
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    process.stdout.write(s + '\n');
  };
  const date = new Date().toISOString();
  const result: Record<string, unknown> = {
    date,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), os: `${platform()} ${release()}`, node: process.version },
    reps: REPS,
  };
  say(`# Gateway benchmark (${date.slice(0, 10)})\n`);
  say(`Machine: ${(result.machine as { cpu: string }).cpu}, ${availableParallelism()} cores (shared), Node ${process.version}. Median of ${REPS} runs; spread = min–max.\n`);

  // 1
  const nDec = quick ? 5000 : 20000;
  if (ONLY === undefined || ONLY === 'decisions') {
  say(`## Routing decision time (µs, view build + router call; 16 in-flight requests per rank, ${nDec} decisions per run)\n`);
  say('| router | G | p50 | p99 | p99 spread |');
  say('|---|---|---|---|---|');
  const decisions: unknown[] = [];
  for (const router of routerNames()) {
    for (const G of [16, 64]) {
      const p50s: number[] = [];
      const p99s: number[] = [];
      decisionBench(router, G, 2000); // warm-up (JIT)
      for (let r = 0; r < REPS; r++) {
        const xs = decisionBench(router, G, nDec);
        p50s.push(pct(xs, 50));
        p99s.push(pct(xs, 99));
      }
      decisions.push({ router, G, p50Us: med(p50s), p99Us: med(p99s), p99Min: Math.min(...p99s), p99Max: Math.max(...p99s) });
      say(`| ${router} | ${G} | ${fmt(med(p50s))} | ${fmt(med(p99s))} | ${spread(p99s)} |`);
    }
  }
  result.decisions = decisions;
  }

  if (ONLY === 'decisions') return finish();
  // 2 + 3: separate processes. The TTFT backend is `balanceroute emulate` (vLLM's external-LB
  // shape, 4 ports) when the emulator is in the tree, else the fake vLLM of the tests.
  const haveEmulator = existsSync(`${ROOT}src/cli/emulateCommand.ts`);
  const slow = haveEmulator
    ? await startProc([...CLI, 'emulate', '--dp', '4', '--lb', 'external', '--port', '0'])
    : await startProc([TSX, 'benches/gatewayBackend.ts', '4', '20']);
  const slowPorts: number[] = haveEmulator ? (slow.info.ports as number[]) : [slow.info.port as number];
  const fast = await startProc([TSX, 'benches/gatewayBackend.ts', '4', '0']);
  const gSlow = await startProc([
    ...CLI, 'gateway', ...slowPorts.flatMap((p) => ['--backend', `http://127.0.0.1:${p}`]),
    ...(haveEmulator ? [] : ['--dp', '4']), '--router', 'round_robin', '--port', '0', '-q',
  ]);
  const gFast = await startProc([...CLI, 'gateway', '--backend', `http://127.0.0.1:${fast.info.port}`, '--dp', '4', '--router', 'jsq_load', '--port', '0', '-q']);
  const relays = await Promise.all(slowPorts.map((p) => startProc([TSX, 'benches/tcpRelay.ts', String(p)])));
  const pool = (port: unknown) => new Pool(`http://127.0.0.1:${port}`, { connections: 512 });
  try {
    if (ONLY !== 'throughput') {
    const rate = 100 / 3; // triples: 100 requests/s in all
    const secs = TTFT_SECONDS;
    const backendName = haveEmulator ? '`balanceroute emulate --dp 4 --lb external` (qwen3-30b-a3b-h100 preset, real time)' : 'fake vLLM, 20 ms per token';
    say(`\n## TTFT added by the gateway (${fmt(rate * 3, 0)} req/s in all for ${secs} s: Poisson triples of direct / via gateway / via a bare TCP relay, sent together in rotating order, round robin over the ranks; backend: ${backendName}; 8 output tokens)\n`);
    say('Added = per-triple TTFT difference to the direct request (median, and mean); p50 difference = difference of the paths\' TTFT medians, which the step-boundary wait inflates (a request a little later than its twin sometimes waits a whole extra step).\n');
    say('| run | triples | direct p50 ms | gateway p50 ms | relay p50 ms | gateway added, median ms | relay added, median ms | gateway added, mean ms | gateway p50 difference ms | direct p99 ms | gateway p99 ms |');
    say('|---|---|---|---|---|---|---|---|---|---|---|');
    const pd = slowPorts.map((p) => pool(p));
    const pv = pool(gSlow.info.port);
    const pr = relays.map((r) => pool(r.info.port));
    const model = haveEmulator ? ((await (await fetch(`http://127.0.0.1:${slowPorts[0]}/v1/models`)).json()) as { data: { id: string }[] }).data[0].id : 'fake-model';
    const body = JSON.stringify({ model, prompt: 'x'.repeat(400), max_tokens: 8, ignore_eos: true, stream: true });
    await ttftBench(pd, pv, pr, rate, 2, body); // warm-up
    const added: number[] = [];
    const relayAdded: number[] = [];
    const ttftRuns: unknown[] = [];
    for (let r = 0; r < REPS; r++) {
      const x = await ttftBench(pd, pv, pr, rate, secs, body);
      const a = pct(x.viaMinusDirect, 50);
      const ra = pct(x.relayMinusDirect, 50);
      const diff = pct(x.via, 50) - pct(x.direct, 50);
      const mean = x.viaMinusDirect.reduce((u, w) => u + w, 0) / x.viaMinusDirect.length;
      const relayMean = x.relayMinusDirect.reduce((u, w) => u + w, 0) / x.relayMinusDirect.length;
      const qs = (a: number[]) => Object.fromEntries([10, 25, 50, 75, 90, 95].map((p) => [`p${p}`, Number(pct(a, p).toFixed(3))]));
      process.stderr.write(`run ${r + 1}: gateway − direct quantiles ${JSON.stringify(qs(x.viaMinusDirect))}; relay − direct ${JSON.stringify(qs(x.relayMinusDirect))}; relay mean ${relayMean.toFixed(2)}\n`);
      added.push(a);
      relayAdded.push(ra);
      ttftRuns.push({ triples: x.direct.length, directP50: pct(x.direct, 50), viaP50: pct(x.via, 50), relayP50: pct(x.relay, 50), addedMedian: a, relayAddedMedian: ra, addedMean: mean, relayAddedMean: relayMean, relayP50Difference: pct(x.relay, 50) - pct(x.direct, 50), addedQuantiles: qs(x.viaMinusDirect), relayAddedQuantiles: qs(x.relayMinusDirect), p50Difference: diff, directP99: pct(x.direct, 99), viaP99: pct(x.via, 99) });
      say(`| ${r + 1} | ${x.direct.length} | ${fmt(pct(x.direct, 50))} | ${fmt(pct(x.via, 50))} | ${fmt(pct(x.relay, 50))} | ${fmt(a)} | ${fmt(ra)} | ${fmt(mean)} | ${fmt(diff)} | ${fmt(pct(x.direct, 99))} | ${fmt(pct(x.via, 99))} |`);
    }
    say(`\nAdded TTFT (median over runs of the per-triple median): gateway ${fmt(med(added))} ms (spread ${spread(added)}); bare TCP relay ${fmt(med(relayAdded))} ms (spread ${spread(relayAdded)}).`);
    result.ttft = { backend: haveEmulator ? 'emulate' : 'fake', rate, seconds: secs, runs: ttftRuns, addedMedian: med(added), relayAddedMedian: med(relayAdded) };
    await Promise.all([...pd, ...pr].map((p) => p.close()));
    await pv.close();
    if (ONLY === 'ttft') return finish();
    }

    const tsecs = quick ? 2 : 4;
    say(`\n## Streaming throughput (closed loop, ${tsecs} s per point; backend answers at once, 4 tokens per request)\n`);
    say('| concurrency | direct req/s | gateway req/s | gateway spread |');
    say('|---|---|---|---|');
    const fd = pool(fast.info.port);
    const fv = pool(gFast.info.port);
    await throughput(fv, 16, 1);
    const tp: unknown[] = [];
    for (const c of quick ? [16, 64] : [8, 32, 128, 256]) {
      const ds: number[] = [];
      const vs: number[] = [];
      for (let r = 0; r < REPS; r++) {
        ds.push(await throughput(fd, c, tsecs));
        vs.push(await throughput(fv, c, tsecs));
      }
      tp.push({ concurrency: c, directReqS: med(ds), gatewayReqS: med(vs), gatewayMin: Math.min(...vs), gatewayMax: Math.max(...vs) });
      say(`| ${c} | ${fmt(med(ds), 0)} | ${fmt(med(vs), 0)} | ${fmt(Math.min(...vs), 0)}–${fmt(Math.max(...vs), 0)} |`);
    }
    result.throughput = tp;
    await fd.close();
    await fv.close();
  } finally {
    await Promise.all([gSlow, gFast, slow, fast, ...relays].map((p) => stopProc(p.child)));
  }
  finish();

  function finish(): void {
  if (!save) return;
  {
    mkdirSync(`${ROOT}benches/results`, { recursive: true });
    const stem = `${ROOT}benches/results/${date.slice(0, 10)}-gateway${quick ? '-quick' : ''}${ONLY ? `-${ONLY}` : ''}`;
    writeFileSync(`${stem}.json`, JSON.stringify(result, null, 2) + '\n');
    writeFileSync(`${stem}.md`, lines.join('\n') + '\n');
    process.stdout.write(`saved ${stem}.{md,json}\n`);
  }
  }
}

await main();
