/**
 * `npm run fidelity`: replay every public real-hardware vLLM run of benches/fidelity/runs.ts through
 * the simulator under the calibrate/predict protocol of docs/fidelity.md, print the table
 * (measured, balanceroute, LLMServingSim, error of each), and rewrite docs/fidelity.md's table and
 * docs/fidelity.html. A benchmark, not a test.
 *
 *   npm run fidelity                # everything
 *   npm run fidelity -- --no-write  # print only
 *   npm run fidelity -- --host-per-step-us RTXPRO6000=225
 *       # a what-if: that host's hostPerStep set by hand instead of fitted (print only; not the protocol)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { calibrate } from '../src/calibrate/calibrate.ts';
import type { PresetSpec } from '../src/model/analytic/presetSpec.ts';
import { scenarioForRun, workloadOf } from '../src/calibrate/fromRun.ts';
import { readMeasuredRun as readRunForFit } from '../src/calibrate/measuredRun.ts';
import type { Scenario } from '../src/config/scenario.ts';
import { simulate } from '../src/engine/cpu/simulate.ts';
import { requestLogOf } from '../src/engine/cpu/runScenario.ts';
import type { RequestLog } from '../src/engine/types.ts';
import type { RunMetrics } from '../src/metrics/types.ts';
import { resolveStepModel } from '../src/model/presets.ts';
import { DATA_DIR, FIDELITY_DIR, FIDELITY_RUNS, MODELS_DIR, NOT_REPLAYED, SOURCE_COMMIT, type FidelityRun } from './fidelity/runs.ts';
import {
  componentTable,
  fmtPct,
  llmServingSimLatencies,
  mean,
  measuredComponents,
  meanSummary,
  markdownTable,
  measuredLatencies,
  readMeasuredRun,
  readNumericCsv,
  readTimeRows,
  replaceBetweenMarkers,
  tableRows,
  textTable,
  type ComponentRow,
  type Latencies,
  type TableRow,
} from './fidelity/suite.ts';
import { fidelityPage } from './fidelity/page.ts';
import { fitHostTermsForHost, manualHostTerms, type HostFit, type PreparedRun } from './fidelity/protocol.ts';

const REPO = join(FIDELITY_DIR, '..', '..');
const DOC = join(REPO, 'docs', 'fidelity.md');
const PAGE = join(REPO, 'docs', 'fidelity.html');
/** Profile points used for the fit: contexts up to this (ShareGPT prompts + outputs stay below). */
const MAX_CONTEXT = 8192;

/** `--host-per-step-us HOST=US` (repeatable): a what-if outside the protocol; never written to the docs. */
const overrides = new Map<string, number>();
process.argv.forEach((a, i) => {
  if (a !== '--host-per-step-us') return;
  const m = /^([^=]+)=(\d+(?:\.\d+)?)$/.exec(process.argv[i + 1] ?? '');
  if (!m) throw new Error(`--host-per-step-us: expected HOST=MICROSECONDS, got ${JSON.stringify(process.argv[i + 1])}`);
  overrides.set(m[1], Number(m[2]));
});
const write = !process.argv.includes('--no-write') && overrides.size === 0;
const t0 = performance.now();
const tmp = mkdtempSync(join(tmpdir(), 'br-fidelity-'));
const log = (s: string) => process.stderr.write(s + '\n');

function prepare(run: FidelityRun): PreparedRun {
  const dir = join(DATA_DIR, run.id);
  const measured = readMeasuredRun(dir);
  const m = measured.meta;
  if (m.tp !== run.tp || m.dp !== run.dp) throw new Error(`${run.id}: meta.json says TP ${m.tp} DP ${m.dp}, runs.ts says TP ${run.tp} DP ${run.dp}`);
  // The same run as calibrate --from-run reads it (requests in arrival order, deployment from
  // meta.json); the suite pairs requests by index, so the two orders must agree.
  const fitRun = readRunForFit(join(dir, 'vllm', 'requests.jsonl'));
  const order = [...measured.requests].sort((a, b) => a.arrival - b.arrival || a.index - b.index);
  if (order.some((r, i) => r.index !== i)) throw new Error(`${run.id}: requests are not in arrival order by index`);
  const cal = calibrate({
    path: join(DATA_DIR, 'profiles', run.profile.dir),
    tp: run.tp,
    dp: [run.dp],
    maxNumSeqs: m.maxNumSeqs,
    maxContext: MAX_CONTEXT,
    name: run.id,
  });
  return { run, measured, fitRun, base: cal.preset };
}

/**
 * A prepared run's deployment with a model spec: scenarioForRun (DP, limits, block size, KV
 * capacity from num_gpu_blocks and async scheduling from the resolved config where meta.json
 * records them), vLLM's DP load balancer, and async scheduling on where the run recorded nothing
 * (vLLM 0.19's default). The model goes to a file of its own (model files are cached by path).
 */
let modelSerial = 0;
function scenarioWith(p: PreparedRun, spec: PresetSpec): Scenario {
  const path = join(tmp, `model-${modelSerial++}.json`);
  writeFileSync(path, JSON.stringify(spec));
  return scenarioForRun(p.fitRun, { model: path, router: 'vllm_default', asyncScheduling: p.fitRun.asyncScheduling === undefined ? 'on' : undefined });
}

/** Replay a run's own workload (as the host fit does) and keep the per-request log. */
function replay(p: PreparedRun, spec: PresetSpec): { log: RequestLog; metrics: RunMetrics } {
  const sc = scenarioWith(p, spec);
  const wl = workloadOf(p.fitRun, 1);
  const out = simulate(sc, wl, resolveStepModel(sc.model), { detail: true });
  const d = out.requests!;
  return {
    metrics: out.metrics,
    log: requestLogOf(wl, d),
  };
}

/** Engine-anchored per-request latencies of a simulation (queued -> first token / end). */
function oursLatencies(q: RequestLog): Latencies & { firstS: number[]; endS: number[] } {
  const n = q.arrival_us.length;
  const out = { ttft: [] as number[], tpot: [] as number[], e2e: [] as number[], firstS: [] as number[], endS: [] as number[] };
  for (let i = 0; i < n; i++) {
    const done = q.status[i] === 4;
    const anchor = q.queued_us[i];
    const first = q.first_token_us[i];
    const end = q.end_us[i];
    out.ttft.push(done ? (first - anchor) / 1e3 : NaN);
    out.e2e.push(done ? (end - anchor) / 1e3 : NaN);
    out.tpot.push(done && q.output[i] > 1 ? (end - first) / 1e3 / (q.output[i] - 1) : NaN);
    out.firstS.push(done ? first / 1e6 : NaN);
    out.endS.push(done ? end / 1e6 : NaN);
  }
  return out;
}

const prepared = FIDELITY_RUNS.map(prepare);
log(`calibrated ${prepared.length} step models from their profiles (${((performance.now() - t0) / 1e3).toFixed(1)} s)`);

// ---- host terms: fitted per host on its calibration runs only ----
const hosts = [...new Set(FIDELITY_RUNS.map((r) => r.host))];
const fits = new Map<string, HostFit>();
for (const host of hosts) {
  const fitOn = prepared.filter((p) => p.run.host === host && (p.run.role === 'calibration' || p.run.role === 'self-calibrated'));
  const o = overrides.get(host);
  fits.set(host, o !== undefined ? manualHostTerms(host, o) : await fitHostTermsForHost(host, fitOn, scenarioWith, FIDELITY_RUNS.some((r) => r.host === host && r.dp >= 2)));
  log(`host ${host}: ${fits.get(host)!.summary}`);
}

// ---- simulate every run with its host's terms ----
const rows: TableRow[] = [];
/** First arrival to last token, s (measured: arrivals mapped onto the engine clock through request 0's queued_ts). */
const makespans: { run: string; measured: number; ours: number; peer: number }[] = [];
const components: ComponentRow[] = [];
const perRun: { p: PreparedRun; model: PresetSpec; ours: ReturnType<typeof oursLatencies>; measured: Latencies; peer: Latencies }[] = [];
mkdirSync(MODELS_DIR, { recursive: true });
for (const p of prepared) {
  const fit = fits.get(p.run.host)!;
  const model: PresetSpec = {
    ...p.base,
    description: `${p.base.description}; host terms of ${p.run.host} (${fit.fittedOn.join(', ')}), docs/fidelity.md`,
    coefficients: { ...p.base.coefficients, ...fit.terms },
  };
  const result = replay(p, model);
  const ours = oursLatencies(result.log);
  const measured = measuredLatencies(p.measured.requests);
  const peer = llmServingSimLatencies(join(DATA_DIR, p.run.id, 'llmservingsim', 'requests.csv'), p.measured.requests.length);
  const done = ours.ttft.filter((v) => Number.isFinite(v)).length;
  log(`${p.run.id}: ${done}/${ours.ttft.length} requests completed in the replay, ${result.metrics.preempted} preemptions, makespan ${result.metrics.makespan_s.toFixed(1)} s`);
  if (done !== ours.ttft.length) log(`${p.run.id}: WARNING: statistics cover only the completed requests`);
  rows.push(...tableRows(p.run.id, p.run.role, measured, ours, peer));
  const reqs = p.measured.requests;
  const mc = measuredComponents(reqs);
  const q = result.log;
  const oq: number[] = [];
  const op: number[] = [];
  for (let i = 0; i < q.status.length; i++) {
    if (q.status[i] !== 4) continue;
    oq.push((q.scheduled_us[i] - q.queued_us[i]) / 1e3);
    op.push((q.first_token_us[i] - q.scheduled_us[i]) / 1e3);
  }
  components.push({ run: p.run.id, queue: { measured: mean(mc.queue), ours: mean(oq) }, prefill: { measured: mean(mc.prefill), ours: mean(op) } });
  const peerRows = readNumericCsv(join(DATA_DIR, p.run.id, 'llmservingsim', 'requests.csv'));
  makespans.push({
    run: p.run.id,
    measured: Math.max(...reqs.map((r) => r.last)) - Math.min(...reqs.map((r) => r.arrival - reqs[0].arrival + reqs[0].queued)),
    ours: result.metrics.makespan_s,
    peer: (Math.max(...peerRows.map((r) => r.end_time)) - Math.min(...peerRows.map((r) => r.arrival))) / 1e9,
  });
  perRun.push({ p, model, ours, measured, peer });
  if (write) writeFileSync(join(MODELS_DIR, `${p.run.id}.json`), JSON.stringify(model, null, 2) + '\n');
}
const wallS = (performance.now() - t0) / 1e3;

process.stdout.write(textTable(rows) + '\n');
for (const c of components) {
  const e = (o: number, m: number) => fmtPct((o - m) / m);
  process.stdout.write(
    `${c.run}: queue wait measured ${c.queue.measured.toFixed(1)} ms, ours ${c.queue.ours.toFixed(1)} (${e(c.queue.ours, c.queue.measured)}); ` +
      `prefill service measured ${c.prefill.measured.toFixed(1)} ms, ours ${c.prefill.ours.toFixed(1)} (${e(c.prefill.ours, c.prefill.measured)})\n`,
  );
}
for (const m of makespans) process.stdout.write(`${m.run}: makespan measured ${m.measured.toFixed(1)} s, ours ${m.ours.toFixed(1)} s (${fmtPct(m.ours / m.measured - 1)}), LLMServingSim ${m.peer.toFixed(1)} s (${fmtPct(m.peer / m.measured - 1)})\n`);
for (const host of hosts) process.stdout.write(`host ${host}: ${fits.get(host)!.summary}\n`);
process.stdout.write(`not replayed: ${NOT_REPLAYED.map((n) => n.what.split(' (')[0]).join('; ')} (not in the public snapshot)\n`);
process.stdout.write(`suite wall time ${wallS.toFixed(1)} s\n`);

if (write) {
  const date = new Date().toISOString().slice(0, 10);
  const target = rows.filter((r) => r.run === 'rtxpro6000-qwen3-30b-a3b-dp2-ep' && r.stat === 'mean');
  const tgt = (m: string) => target.find((r) => r.metric === m)!;
  const termsTable = [
    '| host | term | value | fitted on |',
    '|---|---|---:|---|',
    ...hosts.flatMap((h) => fits.get(h)!.termRows.map((t) => `| ${h} | \`${t.term}\` | ${t.value} | ${t.fittedOn} |`)),
  ].join('\n');
  const md = [
    `Generated by \`npm run fidelity\` on ${date} (suite wall time ${wallS.toFixed(1)} s; data: casys-kaist/LLMServingSim ${SOURCE_COMMIT.slice(0, 7)}).`,
    '',
    `**Validation target** (Qwen3-30B-A3B DP 2 + EP, nothing fitted on it), engine-anchored mean error: ` +
      `TTFT ${fmtPct(tgt('ttft').oursErr)} (target ±10%: ${Math.abs(tgt('ttft').oursErr) <= 0.1 ? 'met' : 'not met'}), ` +
      `TPOT ${fmtPct(tgt('tpot').oursErr)} (±3%: ${Math.abs(tgt('tpot').oursErr) <= 0.03 ? 'met' : 'not met'}), ` +
      `E2E ${fmtPct(tgt('e2e').oursErr)} (±3%: ${Math.abs(tgt('e2e').oursErr) <= 0.03 ? 'met' : 'not met'}); ` +
      `LLMServingSim on the same run: TTFT ${fmtPct(tgt('ttft').peerErr)}, TPOT ${fmtPct(tgt('tpot').peerErr)}, E2E ${fmtPct(tgt('e2e').peerErr)}.`,
    '',
    'Host terms:',
    '',
    termsTable,
    '',
    'Mean errors per run (closer to the measurement in bold):',
    '',
    meanSummary(rows),
    '',
    'Where mean TTFT goes (engine clock, means in ms): queue wait = scheduled − queued, prefill service = first token − scheduled (vLLM\'s `request_queue_time` and `request_prefill_time`):',
    '',
    componentTable(components),
    '',
    'Makespan, first arrival to last token (s):',
    '',
    '| run | measured | ours | err | LLMServingSim | err |',
    '|---|---:|---:|---:|---:|---:|',
    ...makespans.map((m) => `| ${m.run} | ${m.measured.toFixed(1)} | ${m.ours.toFixed(1)} | ${fmtPct(m.ours / m.measured - 1)} | ${m.peer.toFixed(1)} | ${fmtPct(m.peer / m.measured - 1)} |`),
    '',
    'Every figure:',
    '',
    markdownTable(rows),
  ].join('\n');
  writeFileSync(DOC, replaceBetweenMarkers(readFileSync(DOC, 'utf8'), 'fidelity-table', md));
  const html = await fidelityPage(
    perRun.map((r) => ({
      id: r.p.run.id,
      role: r.p.run.role,
      measuredSeries: r.p.measured.timeseries,
      peerSeries: readTimeRows(join(DATA_DIR, r.p.run.id, 'llmservingsim', 'timeseries.csv')),
      output: r.p.measured.requests.map((q) => q.output),
      oursFirstS: r.ours.firstS,
      oursEndS: r.ours.endS,
      measuredTtft: r.measured.ttft,
      oursTtft: r.ours.ttft,
      peerTtft: r.peer.ttft,
      rows: rows.filter((x) => x.run === r.p.run.id),
    })),
    { date, wallS, command: 'npm run fidelity', fits: hosts.map((h) => fits.get(h)!) },
  );
  writeFileSync(PAGE, html);
  log(`wrote ${relative(process.cwd(), DOC)}, ${relative(process.cwd(), PAGE)} and ${relative(process.cwd(), MODELS_DIR)}/`);
}
rmSync(tmp, { recursive: true, force: true });
