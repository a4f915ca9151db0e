// `balanceroute predict measured.arrow -o predicted.arrow`: simulate the exact workload of a
// measured load run (docs/loadgen.md).
import { scenarioFromFlat } from '../config/expand.ts';
import { runScenario } from '../engine/cpu/runScenario.ts';
import { InputError } from '../errors.ts';
import { writeResults, writeTable } from '../results/arrowWrite.ts';
import { summaryPathFor } from '../loadgen/output.ts';
import { readGatewayLog } from '../loadgen/gatewayLog.ts';
import { predictedTable, readMeasuredWorkload, withTraceFile } from '../loadgen/predict.ts';
import { serverInfoFromMetadata } from '../loadgen/serverInfo.ts';
import { VERSION } from '../version.ts';
import { flagsToEntry, formatSummary, type RunFlags } from './runCommand.ts';
import { checkDistinct, checkOutputPath } from '../formats/outputFile.ts';

/** Scenario flags as `run` takes them (strings, absent when not given), plus predict's own. */
export interface PredictFlags extends Partial<Record<string, unknown>> {
  output: string;
  router?: string;
  knob?: string[];
  dp?: string;
  gatewayLog?: string;
  /** Default: the speed the emulator reported in the log, else 1. */
  speed?: string;
  rttMs: string;
  quiet?: boolean;
}

export async function predictCommand(measured: string, f: PredictFlags): Promise<void> {
  if (f.speed !== undefined) {
    const v = Number(f.speed);
    if (f.speed.trim() === '' || !Number.isFinite(v) || v <= 0) throw new InputError('speed', f.speed, 'must be a number > 0 (the emulator --speed of the measured run; 1 for a real deployment)');
  }
  const rttMs = Number(f.rttMs);
  if (f.rttMs.trim() === '' || !Number.isFinite(rttMs) || rttMs < 0) throw new InputError('rtt_ms', f.rttMs, 'must be a round-trip time >= 0 ms');
  checkDistinct(
    [
      { what: 'the predicted log (-o)', target: checkOutputPath(f.output, 'output', { createDir: true }) },
      { what: 'the summary row', target: checkOutputPath(summaryPathFor(f.output), 'output', { createDir: true }) },
    ],
    [{ what: 'the measured log', path: measured }, ...(f.gatewayLog !== undefined ? [{ what: 'the gateway log', path: f.gatewayLog }] : [])],
  );
  const w = readMeasuredWorkload(measured);
  const server = serverInfoFromMetadata(w.metadata);
  const speed = f.speed !== undefined ? Number(f.speed) : server.speed ?? 1;
  // Defaults: the flags, else the gateway's router (a --gateway-log here, or one loadgen joined).
  const g = f.gatewayLog !== undefined ? readGatewayLog(f.gatewayLog) : null;
  const gw = {
    router: g?.router ?? w.metadata.router ?? null,
    routerParams: g?.routerParams ?? w.metadata.router_params ?? null,
    ranks: g?.ranks ?? (w.metadata.dp !== undefined ? Number(w.metadata.dp) : null),
    admission: g?.admission ?? w.metadata.admission ?? null,
    waveTimeoutMs: g?.waveTimeoutMs ?? (w.metadata.wave_timeout_ms !== undefined ? Number(w.metadata.wave_timeout_ms) : null),
  };
  // A gateway that admitted in waves is modelled by dispatch: wave with its timeout (docs/model.md §4).
  const waveDefault = f.dispatch === undefined && gw.admission === 'wave';
  const dispatch = waveDefault ? 'wave' : f.dispatch;
  // The gateway's timeout is wall time; against `emulate --speed X` it is X times as long in model time.
  const waveTimeoutMs = f.waveTimeoutMs ?? (waveDefault && gw.waveTimeoutMs !== null ? String(gw.waveTimeoutMs * speed) : undefined);
  const router = f.router ?? gw.router ?? 'vllm_default';
  let knob = f.knob;
  if (knob === undefined && f.router === undefined && gw.router !== null && gw.routerParams !== null) {
    try {
      knob = Object.entries(JSON.parse(gw.routerParams) as Record<string, unknown>).map(([k, v]) => `${k}=${v}`);
    } catch {
      throw new InputError('gateway_log', gw.routerParams, 'router_params is not a JSON object');
    }
  }
  // DP size and step model: the flags, else what the log recorded; never a silent default.
  const dp = f.dp ?? (gw.ranks !== null ? String(gw.ranks) : server.dp !== undefined ? String(server.dp) : undefined);
  if (dp === undefined) {
    throw new InputError('dp', undefined, `${measured} does not record the server's DP size (no gateway log, no engine count from /version or /metrics); pass --dp N`, { hasValue: false });
  }
  const model = typeof f.model === 'string' ? f.model : server.stepModel;
  if (model === undefined) {
    const served = w.metadata.model ? ` (it served ${w.metadata.model})` : '';
    throw new InputError('model', undefined, `${measured} does not record the server's step model${served}; pass --model PRESET|model.json`, { hasValue: false });
  }
  const maxOutput = w.output.reduce((m, x) => Math.max(m, x), 1);
  const t0 = performance.now();
  const result = await withTraceFile(w, speed, async (trace) => {
    // The deployment flags as given, with the measured workload as a trace.
    const flags = {
      ...f,
      router,
      knob,
      dp,
      model,
      dispatch,
      waveTimeoutMs,
      workload: 'trace',
      trace,
      traceColumns: 'arrival_us,prompt_tokens,output_tokens',
      traceTimeUnit: 'us',
      maxOutput: String(maxOutput),
      timeseries: 'x', // ask for per-request detail
    } as RunFlags;
    const sc = scenarioFromFlat(flagsToEntry(flags));
    const r = runScenario(sc);
    // Name the measured log, not the temporary trace, in the summary and the result row.
    return { ...r, scenario: { ...r.scenario, workload: { ...r.scenario.workload, tracePath: measured } } };
  });
  const wallMs = performance.now() - t0;
  const table = predictedTable(w, result, speed, { balanceroute_version: VERSION }, rttMs);
  writeTable(f.output, table, 'output');
  await writeResults(summaryPathFor(f.output), [result], {
    engine: { engine: 'cpu', adapter: '', fallbackAdapter: false, threads: 1 },
    sweepName: 'predict',
    wallMs,
    version: VERSION,
    extra: { measured, speed: String(speed) },
  });
  if (!f.quiet) {
    process.stdout.write(formatSummary(result) + '\n');
    if (speed !== 1) process.stdout.write(`  (summary in model time; ${f.output} is on the measured wall clock, model time / ${speed})\n`);
    process.stderr.write(`predict: ${w.request.length} requests -> ${f.output} (+ ${summaryPathFor(f.output)})\n`);
  }
}
