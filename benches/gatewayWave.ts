// Wave admission measured and predicted (docs/gateway.md, "Wave admission"): `emulate --dp 4`
// (barrier mode) behind `gateway`, with and without `--admission wave`, at a moderate load and at
// saturation; `loadgen` measures, `predict` (with the gateway's decision log, so dispatch: wave and
// its timeout are taken from it) predicts the same requests.
//
//   tsx benches/gatewayWave.ts [--speed 0.1] [--seed 1] [--wave-timeout-ms 100] [--only moderate|saturation] [--scale 1] [--no-save]
//
// Measured barrier idle: the emulator records the arrivals it received and the rank each was
// pinned to (`emulate --record`); its run is replayed step for step through the same engine core
// (the emulator is deterministic given those; docs/emulate.md "offline replay"), which gives the
// barrier idle of the steps it ran. Throughputs are in model time (wall figures × speed).
import { spawnSync } from 'node:child_process';
import { startProc, stopProc } from './procs.ts';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { EngineCore } from '../src/engine/core/index.ts';
import { summarize, LatencyHistograms } from '../src/metrics/summary.ts';
import { resolveStepModel } from '../src/model/presets.ts';
import { scenarioFromFlat } from '../src/config/expand.ts';
import { flagsToEntry, type RunFlags } from '../src/cli/runCommand.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const SPEED = Number(arg('--speed', '0.1'));
const SEED = arg('--seed', '1');
const ONLY = arg('--only', '');
/** Wave timeout in model time, ms; the gateway gets it in wall time (÷ speed). */
const WAVE_MS = Number(arg('--wave-timeout-ms', '100'));
const save = !args.includes('--no-save');
/** Scales the request counts (a smoke run: --scale 0.1). */
const SCALE = Number(arg('--scale', '1'));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
const CLI = [TSX, 'test/cli/main.ts'];

/** Loads in model time (req/s), with request counts that keep each run to a few minutes of wall time at --speed 0.1. */
const LOADS = [
  { name: 'moderate', rate: 12, requests: Math.round(160 * SCALE) },
  { name: 'saturation', rate: 40, requests: Math.round(400 * SCALE) },
].filter((l) => ONLY === '' || l.name === ONLY);

function cli(argv: string[]): void {
  const r = spawnSync(process.execPath, [...CLI, ...argv], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`balanceroute ${argv.join(' ')} exited ${r.status}`);
}

function row(path: string): Record<string, number> {
  const t = tableFromIPC(readFileSync(path));
  const o = t.get(0)!.toJSON() as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number' || typeof v === 'bigint') out[k] = Number(v);
  return out;
}

/** Barrier idle of the emulator's own run: its recorded arrivals and pinned ranks, replayed step by step. */
function replayIdle(recordCsv: string): number {
  const lines = readFileSync(recordCsv, 'utf8').trim().split('\n').slice(1);
  const sc = scenarioFromFlat(flagsToEntry({ dp: '4' } as unknown as RunFlags));
  const core = new EngineCore(sc, resolveStepModel(sc.model), {}, { histograms: new LatencyHistograms() });
  for (const l of lines) {
    const [ns, p, o, rank] = l.split(',');
    core.submit({ arrivalUs: Math.round(Number(ns) / 1000), promptTokens: Number(p), outputTokens: Number(o), rank: rank === '' ? undefined : Number(rank) });
  }
  let now = lines.length ? Math.round(Number(lines[0].split(',')[0]) / 1000) : 0;
  while (!core.done()) {
    const d = core.beginStep(now);
    if (d === 0) {
      const next = core.nextArrivalUs();
      if (next < 0) throw new Error('replay stalled');
      now = Math.max(now, next);
      continue;
    }
    now += d;
    core.endStep(now);
  }
  return summarize(core.counters(), core.histograms(), 0).idle_frac;
}

interface Result {
  load: string;
  rate: number;
  requests: number;
  admission: string;
  measured: Record<string, number>;
  predicted: Record<string, number>;
  measuredIdle: number;
}

async function one(load: (typeof LOADS)[number], admission: 'immediate' | 'wave', dir: string): Promise<Result> {
  const tag = `${load.name}-${admission}`;
  const rec = join(dir, `${tag}-record.csv`);
  const dec = join(dir, `${tag}-decisions.arrow`);
  const meas = join(dir, `${tag}-measured.arrow`);
  const pred = join(dir, `${tag}-predicted.arrow`);
  const emu = await startProc([...CLI, 'emulate', '--dp', '4', '--lb', 'internal', '--port', '0', '--speed', String(SPEED), '--record', rec]);
  const port = (emu.info.ports as number[])[0];
  const gw = await startProc([
    ...CLI, 'gateway', '--backend', `http://127.0.0.1:${port}`, '--dp', '4', '--router', 'jsq_load', '--port', '0', '--log', dec, '-q',
    ...(admission === 'wave' ? ['--admission', 'wave', '--wave-timeout-ms', String(WAVE_MS / SPEED)] : []),
  ]);
  try {
    cli(['loadgen', '--url', `http://127.0.0.1:${gw.info.port}`, '--rate', String(load.rate * SPEED), '--requests', String(load.requests), '--seed', SEED, '-o', meas, '-q']);
  } finally {
    await stopProc(gw.child);
    await stopProc(emu.child);
  }
  // The gateway does not pass /version on, so the emulator's model and speed are given here.
  cli(['predict', meas, '--gateway-log', dec, '--model', 'qwen3-30b-a3b-h100', '--speed', String(SPEED), '-o', pred, '-q']);
  const m = row(meas.replace(/\.arrow$/, '.summary.arrow'));
  const p = row(pred.replace(/\.arrow$/, '.summary.arrow'));
  return { load: load.name, rate: load.rate, requests: load.requests, admission, measured: m, predicted: p, measuredIdle: replayIdle(rec) };
}

const dir = mkdtempSync(join(tmpdir(), 'wave-bench-'));
const results: Result[] = [];
try {
  for (const load of LOADS) for (const adm of ['immediate', 'wave'] as const) {
    process.stderr.write(`wave bench: ${load.name} (${load.rate} req/s model time, ${load.requests} requests), admission ${adm}\n`);
    results.push(await one(load, adm, dir));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Measured loadgen figures are wall time. At --speed X a model duration d takes d / X of wall
// time: model = wall × X for latencies, and model tok/s = wall tok/s / X.
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const lines = [
  `# Wave admission: gateway in front of emulate --dp 4, measured and predicted`,
  '',
  `${new Date().toISOString().slice(0, 10)}; emulate --speed ${SPEED}, router jsq_load, loadgen --seed ${SEED} (sharegpt), wave timeout ${WAVE_MS} ms model time (gateway --wave-timeout-ms ${WAVE_MS / SPEED}). Throughput and latencies in model time.`,
  '',
  '| load | admission | throughput tok/s meas. | pred. | TTFT mean ms meas. | pred. | TPOT mean ms meas. | pred. | barrier idle meas. | pred. |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const r of results) {
  const m = r.measured;
  const p = r.predicted;
  lines.push(
    `| ${r.load} (${r.rate} req/s, ${r.requests} req.) | ${r.admission} | ${f1(m.throughput_tok_s / SPEED)} | ${f1(p.throughput_tok_s)} | ${f1(m.ttft_mean_ms * SPEED)} | ${f1(p.ttft_mean_ms)} | ${f1(m.tpot_mean_ms * SPEED)} | ${f1(p.tpot_mean_ms)} | ${(100 * r.measuredIdle).toFixed(1)}% | ${(100 * p.idle_frac).toFixed(1)}% |`,
  );
}
lines.push('', '| load | throughput gain of wave, measured | predicted | difference (pp) |', '|---|---:|---:|---:|');
for (const load of LOADS) {
  const a = results.find((r) => r.load === load.name && r.admission === 'immediate')!;
  const b = results.find((r) => r.load === load.name && r.admission === 'wave')!;
  const gm = 100 * (b.measured.throughput_tok_s / a.measured.throughput_tok_s - 1);
  const gp = 100 * (b.predicted.throughput_tok_s / a.predicted.throughput_tok_s - 1);
  lines.push(`| ${load.name} | ${gm >= 0 ? '+' : ''}${gm.toFixed(2)}% | ${gp >= 0 ? '+' : ''}${gp.toFixed(2)}% | ${(gm - gp).toFixed(2)} |`);
}
const md = lines.join('\n') + '\n';
process.stdout.write(md);
if (save) {
  mkdirSync(join(ROOT, 'benches/results'), { recursive: true });
  const base = join(ROOT, `benches/results/${new Date().toISOString().slice(0, 10)}-gateway-wave${ONLY ? `-${ONLY}` : ''}`);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, JSON.stringify({ speed: SPEED, seed: SEED, waveTimeoutMsModel: WAVE_MS, results }, null, 2) + '\n');
}
