// A time-series file (`run --timeseries` / `sweep --timeseries`), read for the report: per
// configuration, per-step aggregates over ranks (barrier time, load envelope) and time bins
// (step-time-weighted means per rank) small enough to draw.
import type { ArrowFileData } from '../formats/arrowRead.ts';
import { InputError } from '../errors.ts';

/** Columns a time-series file must have. */
export const REQUIRED_TIMESERIES_COLUMNS = ['config_index', 'step', 'time_us', 'rank', 'kv_tokens', 'running', 'waiting', 'rank_step_us', 'step_us'] as const;

/** Whole-run figures recomputed from one configuration's series (docs/model.md §8 definitions). */
export interface SeriesTotals {
  steps: number;
  ranks: number;
  /** First step start and last step end, seconds of simulated time. */
  startS: number;
  endS: number;
  /** Σ step_us, seconds. */
  busyS: number;
  /** 1 − Σ_s Σ_g t_g / (G · Σ_s max_g t_g). */
  idleFrac: number;
  /** Step-time-weighted mean of (max − mean)/mean rank KV load (steps with load). */
  imbalance: number;
  /** Step-time-weighted mean of mean/max rank KV load (steps with load). */
  balanceRatio: number;
  /** Step-time-weighted mean of running requests per rank. */
  meanRunning: number;
  /** Largest waiting count of any rank after any step. */
  peakWaiting: number;
}

/** Per-step aggregates of one configuration, in step order. */
export interface StepSeries {
  config: number;
  ranks: number;
  /** Step start, µs. */
  timeUs: Float64Array;
  /** Group step time T, µs. */
  stepUs: Float64Array;
  /** max_g t_g and Σ_g t_g, µs. */
  maxRankUs: Float64Array;
  sumRankUs: Float64Array;
  /** Per step and rank (step-major, `ranks` per step). */
  kv: Float64Array;
  running: Float64Array;
  waiting: Float64Array;
  totals: SeriesTotals;
}

/** Time bins of one configuration: time-weighted means; NaN where no step overlaps a bin. */
export interface BinnedSeries {
  config: number;
  ranks: number;
  bins: number;
  /** Bin edges, seconds (bins + 1 values). */
  edgesS: Float64Array;
  /** Per bin and rank (bin-major). */
  kv: Float64Array;
  running: Float64Array;
  waiting: Float64Array;
  /** Per bin: load envelope (max over ranks), mean and min over ranks. */
  kvMax: Float64Array;
  kvMean: Float64Array;
  kvMin: Float64Array;
  /** Per bin: mean over its steps of max_g t_g (the barrier) and of mean_g t_g, ms. */
  barrierMs: Float64Array;
  meanRankMs: Float64Array;
  /** Per bin: 1 − Σ t_g / (G Σ max_g t_g). */
  idleFrac: Float64Array;
  /** Steps overlapping each bin. */
  steps: Int32Array;
  /** Per bin: Σ max_g t_g and Σ_g t_g over its steps, each step weighted by its fraction inside the bin, µs. */
  sumMaxUs: Float64Array;
  sumRankUs: Float64Array;
}

export interface TimeSeriesData {
  path: string;
  meta: Record<string, string>;
  /** Configurations in the file, in order of appearance. */
  configs: number[];
  /** Rows per configuration. */
  rows: Map<number, number>;
  /** The columns, as numbers. */
  columns: Record<(typeof REQUIRED_TIMESERIES_COLUMNS)[number], NumArray>;
}

type NumArray = ArrayLike<number>;

function checkColumns(file: ArrowFileData): void {
  const have = new Set(file.columns.map((c) => c.name));
  const missing = REQUIRED_TIMESERIES_COLUMNS.filter((c) => !have.has(c));
  if (missing.length > 0) {
    throw new InputError('file', file.path, `not a balanceroute time series: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  if (file.numRows === 0) throw new InputError('file', file.path, 'the time series has no rows (did any configuration set `timeseries: true`?)');
}

/** A numeric column as a typed/plain array without per-value conversion where possible. */
export function numericColumn(file: ArrowFileData, name: string): NumArray {
  const v = file.table.getChild(name)!;
  const arr = v.toArray() as unknown;
  if (arr instanceof Float64Array || arr instanceof Int32Array || arr instanceof Float32Array || arr instanceof Uint32Array || arr instanceof Int16Array) {
    return arr;
  }
  const out = new Float64Array(file.numRows);
  let i = 0;
  for (const x of v) {
    const n = typeof x === 'bigint' ? Number(x) : (x as number | null);
    if (typeof n !== 'number') throw new InputError('file', file.path, `column ${name}, row ${i}: expected a number, found ${n === null ? 'null' : JSON.stringify(n)}`);
    out[i++] = n;
  }
  return out;
}

/** The configurations of a time-series file (checks the columns). */
export function timeSeriesData(file: ArrowFileData): TimeSeriesData {
  checkColumns(file);
  const columns = Object.fromEntries(REQUIRED_TIMESERIES_COLUMNS.map((c) => [c, numericColumn(file, c)])) as TimeSeriesData['columns'];
  const idx = columns.config_index;
  const rows = new Map<number, number>();
  for (let i = 0; i < idx.length; i++) rows.set(idx[i], (rows.get(idx[i]) ?? 0) + 1);
  return { path: file.path, meta: file.metadata, configs: [...rows.keys()], rows, columns };
}

/** Per-step aggregates of one configuration. */
export function stepSeries(data: TimeSeriesData, config: number): StepSeries {
  const file = { path: data.path };
  const c = data.columns;
  const [idx, step, time, rank, kv, running, waiting, rankUs, stepUs] = [
    c.config_index, c.step, c.time_us, c.rank, c.kv_tokens, c.running, c.waiting, c.rank_step_us, c.step_us,
  ];

  const mine: number[] = [];
  let ranks = 0;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] !== config) continue;
    mine.push(i);
    const g = rank[i];
    if (!Number.isInteger(g) || g < 0) throw new InputError('file', file.path, `column rank, row ${i}: expected a rank >= 0, found ${g}`);
    if (g + 1 > ranks) ranks = g + 1;
  }
  if (mine.length === 0) throw new InputError('config', config, `not in ${file.path}`);
  // Steps in order (normally 0, 1, 2, ... and contiguous; anything else still works).
  const stepIds = [...new Set(mine.map((i) => step[i]))].sort((a, b) => a - b);
  const stepAt = new Map(stepIds.map((s, k) => [s, k]));
  const S = stepIds.length;
  const out: StepSeries = {
    config,
    ranks,
    timeUs: new Float64Array(S),
    stepUs: new Float64Array(S),
    maxRankUs: new Float64Array(S),
    sumRankUs: new Float64Array(S),
    kv: new Float64Array(S * ranks),
    running: new Float64Array(S * ranks),
    waiting: new Float64Array(S * ranks),
    totals: undefined as unknown as SeriesTotals,
  };
  for (const i of mine) {
    const k = stepAt.get(step[i])!;
    const g = rank[i];
    out.timeUs[k] = time[i];
    out.stepUs[k] = stepUs[i];
    const t = rankUs[i];
    if (t > out.maxRankUs[k]) out.maxRankUs[k] = t;
    out.sumRankUs[k] += t;
    out.kv[k * ranks + g] = kv[i];
    out.running[k * ranks + g] = running[i];
    out.waiting[k * ranks + g] = waiting[i];
  }
  out.totals = totals(out);
  return out;
}

function totals(s: StepSeries): SeriesTotals {
  const S = s.timeUs.length;
  const G = s.ranks;
  let sumT = 0;
  let sumRank = 0;
  let sumMax = 0;
  let wImb = 0;
  let imb = 0;
  let bal = 0;
  let run = 0;
  let peakWaiting = 0;
  for (let k = 0; k < S; k++) {
    const T = s.stepUs[k];
    sumT += T;
    sumRank += s.sumRankUs[k];
    sumMax += s.maxRankUs[k];
    let mx = 0;
    let sum = 0;
    let r = 0;
    for (let g = 0; g < G; g++) {
      const x = s.kv[k * G + g];
      sum += x;
      if (x > mx) mx = x;
      r += s.running[k * G + g];
      if (s.waiting[k * G + g] > peakWaiting) peakWaiting = s.waiting[k * G + g];
    }
    run += (T * r) / G;
    const mean = sum / G;
    if (mean > 0) {
      wImb += T;
      imb += (T * (mx - mean)) / mean;
      bal += (T * mean) / mx;
    }
  }
  return {
    steps: S,
    ranks: G,
    startS: S > 0 ? s.timeUs[0] / 1e6 : 0,
    endS: S > 0 ? (s.timeUs[S - 1] + s.stepUs[S - 1]) / 1e6 : 0,
    busyS: sumT / 1e6,
    idleFrac: sumMax > 0 ? 1 - sumRank / (G * sumMax) : NaN,
    imbalance: wImb > 0 ? imb / wImb : NaN,
    balanceRatio: wImb > 0 ? bal / wImb : NaN,
    meanRunning: sumT > 0 ? run / sumT : NaN,
    peakWaiting,
  };
}

/**
 * Bin the steps of `s` into `bins` equal spans of simulated time. A step [t, t + T) counts in
 * every bin it overlaps, in proportion to the overlap: loads and counts are time-weighted means
 * (a long prefill step spanning two bins fills both), and barrier/idle sums use the step's
 * fraction inside the bin, so they add up to the whole-run figures. Bins that lie entirely in an
 * idle gap (every rank empty, the clock jumped) hold NaN loads.
 */
export function binSeries(s: StepSeries, bins: number): BinnedSeries {
  const S = s.timeUs.length;
  const G = s.ranks;
  const B = Math.max(1, Math.floor(bins));
  const t0 = S > 0 ? s.timeUs[0] : 0;
  const t1 = S > 0 ? s.timeUs[S - 1] + s.stepUs[S - 1] : 1;
  const span = Math.max(t1 - t0, 1);
  const width = span / B;
  const edgesS = Float64Array.from({ length: B + 1 }, (_, b) => (t0 + (span * b) / B) / 1e6);
  const w = new Float64Array(B);
  const kv = new Float64Array(B * G);
  const running = new Float64Array(B * G);
  const waiting = new Float64Array(B * G);
  const kvMax = new Float64Array(B);
  const kvMean = new Float64Array(B);
  const kvMin = new Float64Array(B);
  const frac = new Float64Array(B);
  const sumMax = new Float64Array(B);
  const sumRank = new Float64Array(B);
  const steps = new Int32Array(B);
  for (let k = 0; k < S; k++) {
    const start = s.timeUs[k] - t0;
    const T = s.stepUs[k];
    let mx = -Infinity;
    let mn = Infinity;
    let sum = 0;
    for (let g = 0; g < G; g++) {
      const x = s.kv[k * G + g];
      if (x > mx) mx = x;
      if (x < mn) mn = x;
      sum += x;
    }
    const first = Math.min(B - 1, Math.floor(start / width));
    const last = T > 0 ? Math.min(B - 1, Math.floor((start + T) / width - 1e-9)) : first;
    for (let b = first; b <= last; b++) {
      // Overlap of [start, start + T) with bin b; a zero-length step counts with weight 1 µs.
      const o = T > 0 ? Math.min(start + T, (b + 1) * width) - Math.max(start, b * width) : 1;
      if (o <= 0) continue;
      const f = T > 0 ? o / T : 1;
      w[b] += o;
      steps[b] += 1;
      frac[b] += f;
      sumMax[b] += f * s.maxRankUs[k];
      sumRank[b] += f * s.sumRankUs[k];
      for (let g = 0; g < G; g++) {
        kv[b * G + g] += o * s.kv[k * G + g];
        running[b * G + g] += o * s.running[k * G + g];
        waiting[b * G + g] += o * s.waiting[k * G + g];
      }
      kvMax[b] += o * mx;
      kvMin[b] += o * mn;
      kvMean[b] += (o * sum) / G;
    }
  }
  const barrierMs = new Float64Array(B);
  const meanRankMs = new Float64Array(B);
  const idleFrac = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const wb = w[b];
    const div = (x: number) => (wb > 0 ? x / wb : NaN);
    for (let g = 0; g < G; g++) {
      kv[b * G + g] = div(kv[b * G + g]);
      running[b * G + g] = div(running[b * G + g]);
      waiting[b * G + g] = div(waiting[b * G + g]);
    }
    kvMax[b] = div(kvMax[b]);
    kvMin[b] = div(kvMin[b]);
    kvMean[b] = div(kvMean[b]);
    barrierMs[b] = frac[b] > 0 ? sumMax[b] / frac[b] / 1000 : NaN;
    meanRankMs[b] = frac[b] > 0 ? sumRank[b] / G / frac[b] / 1000 : NaN;
    idleFrac[b] = sumMax[b] > 0 ? 1 - sumRank[b] / (G * sumMax[b]) : NaN;
  }
  return { config: s.config, ranks: G, bins: B, edgesS, kv, running, waiting, kvMax, kvMean, kvMin, barrierMs, meanRankMs, idleFrac, steps, sumMaxUs: sumMax, sumRankUs: sumRank };
}
