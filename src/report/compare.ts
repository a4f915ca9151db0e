/**
 * Measured against predicted, request by request: the loadgen log and the `predict` log of the
 * same workload, joined on the request index. Every statistic is computed the same way on both
 * sides, over the requests that completed on both (so a failure on one side does not shift the
 * other's mean): mean and NumPy-style linear percentiles of TTFT, TPOT and E2E, plus output
 * throughput over each side's own makespan, and the in-flight count over time.
 */
import { InputError } from '../errors.ts';
import type { ArrowFileData } from '../formats/arrowRead.ts';
import { MEASURED_FORMAT } from '../loadgen/output.ts';
import { PREDICTED_FORMAT } from '../loadgen/predict.ts';
import { percentileSorted } from '../loadgen/metrics.ts';
import { RequestStatus } from '../metrics/requestStatus.ts';

export const COMPARED_METRICS = ['ttft', 'tpot', 'e2e'] as const;
export type ComparedMetric = (typeof COMPARED_METRICS)[number];
export const COMPARED_STATS = ['mean', 'p50', 'p90', 'p99'] as const;
export type ComparedStat = (typeof COMPARED_STATS)[number];

export interface RequestSide {
  request: number[];
  arrivalUs: number[];
  endUs: (number | null)[];
  completed: boolean[];
  ttft: (number | null)[];
  tpot: (number | null)[];
  e2e: (number | null)[];
  output: (number | null)[];
}

export interface ComparisonRow {
  metric: ComparedMetric;
  stat: ComparedStat;
  measured: number;
  predicted: number;
  /** (predicted − measured) / measured. */
  error: number;
}

export interface Comparison {
  /**
   * Which anchor the latencies use: 'client' (from the request's send time, as loadgen and
   * `vllm bench serve` measure; the predicted side's ttft_ms / tpot_ms / e2e_ms) — docs/model.md §8.
   */
  anchor: 'client';
  /** Requests in both logs / completed on both sides. */
  joined: number;
  bothCompleted: number;
  measuredFailed: number;
  predictedFailed: number;
  rows: ComparisonRow[];
  throughput: { measured: number; predicted: number; error: number };
  /** Per-request pairs (completed on both sides) for the scatter charts. */
  pairs: { request: number; metric: ComparedMetric; measured: number; predicted: number }[];
  inFlight: { measured: [number, number][]; predicted: [number, number][] };
}

const need = ['request', 'arrival_us', 'end_us', 'status', 'ttft_ms', 'tpot_ms', 'e2e_ms', 'output'];

/** Read one side (a loadgen log or a predict log). `field` names the argument in errors. */
export function readSide(f: ArrowFileData, field: string, format: string): RequestSide {
  const have = new Set(f.columns.map((c) => c.name));
  const missing = need.filter((c) => !have.has(c));
  if (missing.length) {
    const what = format === MEASURED_FORMAT ? 'a loadgen log (balanceroute loadgen -o)' : 'a predict log (balanceroute predict -o)';
    throw new InputError(field, f.path, `not ${what}: no ${missing.join(', ')}`);
  }
  const status = f.column('status') as number[];
  return {
    request: f.column('request') as number[],
    arrivalUs: f.column('arrival_us') as number[],
    endUs: f.column('end_us') as (number | null)[],
    completed: status.map((s) => s === RequestStatus.COMPLETED),
    ttft: f.column('ttft_ms') as (number | null)[],
    tpot: f.column('tpot_ms') as (number | null)[],
    e2e: f.column('e2e_ms') as (number | null)[],
    output: f.column('output') as (number | null)[],
  };
}

function statOf(sorted: number[], s: ComparedStat): number {
  if (s === 'mean') return sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN;
  return percentileSorted(sorted, Number(s.slice(1)));
}

/** Step function of requests in flight: [time s from the first arrival, count] at each change. */
export function inFlightSeries(side: RequestSide, t0Us: number): [number, number][] {
  const ev: [number, number][] = [];
  side.arrivalUs.forEach((a, i) => {
    const e = side.endUs[i];
    ev.push([a, 1]);
    if (e !== null && e >= a) ev.push([e, -1]);
  });
  ev.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: [number, number][] = [[0, 0]];
  let n = 0;
  for (const [t, d] of ev) {
    n += d;
    out.push([(t - t0Us) / 1e6, n]);
  }
  return out;
}

export function compareSides(m: RequestSide, p: RequestSide): Comparison {
  const pIndex = new Map<number, number>();
  p.request.forEach((r, i) => pIndex.set(r, i));
  const joined: [number, number][] = [];
  for (let i = 0; i < m.request.length; i++) {
    const j = pIndex.get(m.request[i]);
    if (j !== undefined) joined.push([i, j]);
  }
  if (joined.length === 0) throw new InputError('predicted', 'log', 'shares no request with the measured log; predict it from this measured log');
  const both = joined.filter(([i, j]) => m.completed[i] && p.completed[j]);
  const pairs: Comparison['pairs'] = [];
  const rows: ComparisonRow[] = [];
  for (const metric of COMPARED_METRICS) {
    const mv: number[] = [];
    const pv: number[] = [];
    for (const [i, j] of both) {
      const a = m[metric][i];
      const b = p[metric][j];
      if (a === null || b === null) continue; // TPOT of one-token outputs
      mv.push(a);
      pv.push(b);
      if (metric !== 'tpot') pairs.push({ request: m.request[i], metric, measured: a, predicted: b });
    }
    mv.sort((x, y) => x - y);
    pv.sort((x, y) => x - y);
    for (const stat of COMPARED_STATS) {
      const measured = statOf(mv, stat);
      const predicted = statOf(pv, stat);
      rows.push({ metric, stat, measured, predicted, error: (predicted - measured) / measured });
    }
  }
  const tput = (s: RequestSide, idx: number[]) => {
    let tok = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const k of idx) {
      lo = Math.min(lo, s.arrivalUs[k]);
      if (s.endUs[k] !== null) hi = Math.max(hi, s.endUs[k] as number);
      if (s.completed[k]) tok += s.output[k] ?? 0;
    }
    return tok / ((hi - lo) / 1e6);
  };
  const tm = tput(m, joined.map(([i]) => i));
  const tp = tput(p, joined.map(([, j]) => j));
  const t0 = m.arrivalUs.reduce((a, b) => Math.min(a, b), Infinity);
  return {
    anchor: 'client',
    joined: joined.length,
    bothCompleted: both.length,
    measuredFailed: joined.filter(([i]) => !m.completed[i]).length,
    predictedFailed: joined.filter(([, j]) => !p.completed[j]).length,
    rows,
    throughput: { measured: tm, predicted: tp, error: (tp - tm) / tm },
    pairs,
    inFlight: { measured: inFlightSeries(m, t0), predicted: inFlightSeries(p, t0) },
  };
}

/**
 * Refuse a prediction that is not of this measurement: the same requests (count and ids), each
 * with the prompt and output lengths predict takes from the log and the same send time (within
 * the rounding to integer µs of model time). Anything else would be compared silently on the
 * requests the two happen to share.
 */
export function checkSameRun(m: ArrowFileData, p: ArrowFileData): void {
  const other = (why: string) => new InputError('predicted', p.path, `is a prediction of another run: ${why}; predict it from this log (balanceroute predict ${m.path} -o ...)`);
  if (p.numRows !== m.numRows) throw other(`it holds ${p.numRows} requests, the measured log ${m.numRows}`);
  const has = (f: ArrowFileData, c: string) => f.columns.some((x) => x.name === c);
  const mReq = m.column('request') as number[];
  const pReq = p.column('request') as number[];
  const row = new Map<number, number>();
  pReq.forEach((r, j) => row.set(r, j));
  const speed = Number(p.metadata.speed) > 0 ? Number(p.metadata.speed) : 1;
  const tolUs = 1 + 0.5 / speed;
  const col = (f: ArrowFileData, c: string) => (has(f, c) ? (f.column(c) as (number | null)[]) : undefined);
  const [mPrompt, pPrompt, mOut, pOut, mMax, mArr, pArr] = [col(m, 'prompt'), col(p, 'prompt'), col(m, 'output'), col(p, 'output'), col(m, 'max_tokens'), col(m, 'arrival_us'), col(p, 'arrival_us')];
  for (let i = 0; i < mReq.length; i++) {
    const j = row.get(mReq[i]);
    if (j === undefined) throw other(`it has no request ${mReq[i]}`);
    if (mPrompt && pPrompt && mPrompt[i] !== null && pPrompt[j] !== Math.max(1, mPrompt[i]!)) {
      throw other(`request ${mReq[i]} has a ${pPrompt[j]}-token prompt there, ${mPrompt[i]} in the measured log (another length)`);
    }
    const want = mOut?.[i] ?? mMax?.[i];
    if (pOut && want !== undefined && want !== null && pOut[j] !== Math.max(1, want)) {
      throw other(`request ${mReq[i]} has ${pOut[j]} output tokens there, ${want} in the measured log (another length)`);
    }
    if (mArr && pArr && mArr[i] !== null && pArr[j] !== null && Math.abs(pArr[j]! - mArr[i]!) > tolUs) {
      throw other(`request ${mReq[i]} is sent at ${((pArr[j]! - mArr[0]!) / 1e6).toFixed(6)} s there, ${((mArr[i]! - mArr[0]!) / 1e6).toFixed(6)} s in the measured log`);
    }
  }
}

/** Check the two files' formats (a file re-written by pandas keeps its columns; that is enough). */
export function checkFormats(m: ArrowFileData, p: ArrowFileData): void {
  if (m.metadata.format === PREDICTED_FORMAT) throw new InputError('measured', m.path, 'is a predict log; give the loadgen log first, then the predict log');
  if (p.metadata.format === MEASURED_FORMAT) throw new InputError('predicted', p.path, 'is a loadgen log; give the predict log second');
}

const METRIC_LABEL: Record<ComparedMetric, string> = { ttft: 'TTFT', tpot: 'TPOT', e2e: 'E2E' };

/** The comparison as a fixed-width text table (printed by `compare`). */
export function formatComparison(c: Comparison): string {
  const lines = [
    `requests ${c.joined} (completed on both sides ${c.bothCompleted}; failed measured ${c.measuredFailed}, predicted ${c.predictedFailed})`,
    `anchor: client (TTFT and E2E from the request's send time, as loadgen measures; the predict log's ttft_engine_ms / e2e_engine_ms hold the engine anchor)`,
    `metric ms    stat    measured   predicted    error`,
  ];
  for (const r of c.rows) {
    lines.push(`${METRIC_LABEL[r.metric].padEnd(13)}${r.stat.padEnd(6)}${r.measured.toFixed(2).padStart(10)}  ${r.predicted.toFixed(2).padStart(10)}  ${fmtPct(r.error).padStart(7)}`);
  }
  lines.push(`${'throughput'.padEnd(13)}${'tok/s'.padEnd(6)}${c.throughput.measured.toFixed(1).padStart(10)}  ${c.throughput.predicted.toFixed(1).padStart(10)}  ${fmtPct(c.throughput.error).padStart(7)}`);
  return lines.join('\n');
}

export function fmtPct(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
}
