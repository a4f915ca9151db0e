/**
 * `balanceroute predict`: replay the exact workload of a measured run through the simulator.
 *
 * The measured log's send times (the arrivals the server saw), prompt lengths and output lengths
 * (usage.completion_tokens of completed requests; max_tokens of failed ones, which is what
 * ignore_eos would have produced) become a trace, and the trace goes through the workload
 * builder's ordinary trace-replay path and the CPU engine with per-request detail. Times are
 * scaled by `speed` (the emulator's --speed: wall µs × speed = model µs) on the way in and back
 * out, so the predicted per-request log is on the measured log's wall clock.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import { InputError } from '../errors.ts';
import type { RunResult } from '../engine/types.ts';
import { readArrowFile } from '../formats/arrowRead.ts';
import { makeTable, type CellValue, type ColumnData, type ColumnKind } from '../formats/arrowTable.ts';
import { MEASURED_FORMAT } from './output.ts';
import { resolveStepModel } from '../model/presets.ts';
import { RequestStatus } from '../metrics/requestStatus.ts';

export const PREDICTED_FORMAT = 'balanceroute-predicted/1';

/** The workload of a measured run, in request order of arrival. */
export interface MeasuredWorkload {
  path: string;
  /** Measured request index of each row. */
  request: Int32Array;
  /** Send time, µs on the measured run's clock. */
  arrivalUs: Float64Array;
  prompt: Int32Array;
  output: Int32Array;
  metadata: Record<string, string>;
}

const NEEDED = ['request', 'arrival_us', 'prompt', 'output', 'max_tokens'];

/** Read a loadgen log into the workload it sent. */
export function readMeasuredWorkload(path: string): MeasuredWorkload {
  const f = readArrowFile(path);
  const have = new Set(f.columns.map((c) => c.name));
  const missing = NEEDED.filter((c) => !have.has(c));
  if (f.metadata.format !== MEASURED_FORMAT && missing.length) {
    throw new InputError('file', path, `not a loadgen log (no ${missing.join(', ')}); give the -o file of \`balanceroute loadgen\``);
  }
  if (missing.length) throw new InputError('file', path, `loadgen log without column ${missing[0]}`);
  if (f.numRows === 0) throw new InputError('file', path, 'holds no requests');
  const req = f.column('request') as number[];
  const arr = f.column('arrival_us') as number[];
  const pr = f.column('prompt') as number[];
  const out = f.column('output') as (number | null)[];
  const mt = f.column('max_tokens') as number[];
  const order = Array.from({ length: f.numRows }, (_, i) => i).sort((a, b) => arr[a] - arr[b] || req[a] - req[b]);
  const n = order.length;
  const w: MeasuredWorkload = {
    path,
    request: new Int32Array(n),
    arrivalUs: new Float64Array(n),
    prompt: new Int32Array(n),
    output: new Int32Array(n),
    metadata: f.metadata,
  };
  order.forEach((i, k) => {
    w.request[k] = req[i];
    w.arrivalUs[k] = arr[i];
    w.prompt[k] = Math.max(1, pr[i]);
    w.output[k] = Math.max(1, out[i] ?? mt[i]);
  });
  return w;
}

/**
 * Write the workload as a JSON Lines trace in model time (µs × speed, first arrival at 0) and
 * hand its path to `use`; the file is removed afterwards.
 */
export async function withTraceFile<T>(w: MeasuredWorkload, speed: number, use: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'balanceroute-predict-'));
  const path = join(dir, 'measured-workload.jsonl');
  try {
    const t0 = w.arrivalUs[0];
    const lines: string[] = [];
    for (let i = 0; i < w.request.length; i++) {
      lines.push(JSON.stringify({ arrival_us: Math.round((w.arrivalUs[i] - t0) * speed), prompt_tokens: w.prompt[i], output_tokens: w.output[i] }));
    }
    writeFileSync(path, lines.join('\n') + '\n');
    return await use(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The predicted per-request log, on the measured run's wall clock (µs), in request order. */
/**
 * `rttMs` is the client-server round trip: a request reaches the server half of it after its send
 * and each chunk reaches the client half of it after the server emits it, so it is added whole to
 * first-token and end times (and half of it to admission). The simulated arrivals keep the send
 * times: a constant delay moves them all alike.
 */
export function predictedTable(w: MeasuredWorkload, r: RunResult, speed: number, extra: Record<string, string>, rttMs = 0): Table {
  const d = r.requests;
  if (!d) throw new Error('simulation without per-request detail');
  const n = w.request.length;
  const t0 = w.arrivalUs[0];
  const wall = (modelUs: number, delayUs: number): number | null => (modelUs < 0 ? null : t0 + modelUs / speed + delayUs);
  const rttUs = rttMs * 1000;
  const idx = Array.from({ length: n }, (_, k) => k).sort((a, b) => w.request[a] - w.request[b]);
  const pick = <T,>(f: (k: number) => T): T[] => idx.map(f);
  const ok = (k: number) => d.status[k] === RequestStatus.COMPLETED;
  const col = (name: string, kind: ColumnKind, values: ArrayLike<CellValue>, unit?: string): ColumnData => ({ name, kind, values, metadata: unit ? { unit } : undefined });
  // Client anchor (docs/model.md §8): the model's front-end terms (ingress, per-token
  // detokenisation, egress; model µs) come on top of the round trip.
  const fe = resolveStepModel(r.scenario.model).frontend;
  const feFirst = fe ? (fe.ingressUs + fe.perTokenUs) / speed : 0;
  const feEnd = (k: number) => (fe ? (fe.ingressUs + fe.egressUs + fe.perTokenUs * d.output[k]) / speed : 0);
  const first = (k: number) => wall(d.first_token_us[k], rttUs + feFirst);
  const end = (k: number) => wall(d.end_us[k], d.status[k] === RequestStatus.COMPLETED ? rttUs + feEnd(k) : rttUs / 2);
  // Engine anchor: from queued_us, on the engine's clock (no round trip, no front end).
  const engineMs = (k: number, t: number) => (ok(k) && d.queued_us[k] >= 0 ? (t - d.queued_us[k]) / speed / 1000 : null);
  const arrival = (k: number) => t0 + d.arrival_us[k] / speed;
  const columns: ColumnData[] = [
    col('request', 'int32', pick((k) => w.request[k])),
    col('arrival_us', 'float64', pick(arrival), 'us'),
    col('prompt', 'int32', pick((k) => d.prompt[k]), 'tokens'),
    col('output', 'int32', pick((k) => d.output[k]), 'tokens'),
    col('status', 'int32', pick((k) => d.status[k])),
    col('outcome', 'dictionary', pick((k) => (ok(k) ? 'completed' : 'failed'))),
    col('rank', 'int32', pick((k) => (d.rank[k] >= 0 ? d.rank[k] : null))),
    col('admit_us', 'float64', pick((k) => wall(d.admit_us[k], rttUs / 2)), 'us'),
    col('queued_us', 'float64', pick((k) => wall(d.queued_us[k], rttUs / 2)), 'us'),
    col('scheduled_us', 'float64', pick((k) => wall(d.scheduled_us[k], rttUs / 2)), 'us'),
    col('first_token_us', 'float64', pick((k) => (ok(k) ? first(k) : null)), 'us'),
    col('end_us', 'float64', pick((k) => end(k)), 'us'),
    col('ttft_ms', 'float64', pick((k) => (ok(k) ? (first(k)! - arrival(k)) / 1000 : null)), 'ms'),
    col('tpot_ms', 'float64', pick((k) => (ok(k) && d.output[k] > 1 ? (end(k)! - first(k)!) / 1000 / (d.output[k] - 1) : null)), 'ms'),
    col('e2e_ms', 'float64', pick((k) => (ok(k) ? (end(k)! - arrival(k)) / 1000 : null)), 'ms'),
    col('ttft_engine_ms', 'float64', pick((k) => engineMs(k, d.first_token_us[k])), 'ms'),
    col('e2e_engine_ms', 'float64', pick((k) => engineMs(k, d.end_us[k])), 'ms'),
  ];
  return makeTable(columns, {
    format: PREDICTED_FORMAT,
    measured: w.path,
    speed: String(speed),
    rtt_ms: String(rttMs),
    router: r.scenario.router,
    router_params: JSON.stringify(r.scenario.routerParams),
    model: r.scenario.model,
    dp: String(r.scenario.dp),
    // ttft_ms / tpot_ms / e2e_ms are client-anchored (from the send time), as a loadgen log is.
    anchor: 'client',
    async_scheduling: String(r.metrics.async_scheduling === 1),
    created: new Date().toISOString(),
    ...extra,
  });
}
