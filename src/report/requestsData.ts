// The per-request log written beside a time series (`ts.requests.arrow`, format
// balanceroute-requests/1), read for the report's Gantt chart: per configuration, one bar per
// request in its rank's lane, packed into rows so bars never overlap, windowed in time when a
// run has too many requests to draw.
import type { ArrowFileData } from '../formats/arrowRead.ts';
import { InputError } from '../errors.ts';
import { numericColumn } from './timeseriesData.ts';
import { RequestStatus } from '../metrics/requestStatus.ts';

/** Columns the Gantt chart needs from a request log. */
export const REQUIRED_REQUEST_COLUMNS = ['config_index', 'arrival_us', 'status', 'rank', 'admit_us', 'first_token_us', 'end_us'] as const;

/** Request status codes in the log. */
export const STATUS_COMPLETED = RequestStatus.COMPLETED;
export const STATUS_FAILED = RequestStatus.FAILED;

/** At most this many requests per Gantt chart; a run with more is drawn in a time window. */
export const MAX_GANTT_BARS = 2000;

type NumArray = ArrayLike<number>;

export interface RequestLog {
  path: string;
  /** Row indices of each configuration, in file order. */
  rows: Map<number, Int32Array>;
  columns: Record<(typeof REQUIRED_REQUEST_COLUMNS)[number], NumArray>;
}

/** Check and index a request log. Bad input is an InputError naming `requests`. */
export function requestLog(file: ArrowFileData): RequestLog {
  const have = new Set(file.columns.map((c) => c.name));
  const missing = REQUIRED_REQUEST_COLUMNS.filter((c) => !have.has(c));
  if (missing.length > 0) {
    throw new InputError('requests', file.path, `not a balanceroute request log: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  let columns: RequestLog['columns'];
  try {
    columns = Object.fromEntries(REQUIRED_REQUEST_COLUMNS.map((c) => [c, numericColumn(file, c)])) as RequestLog['columns'];
  } catch (e) {
    if (e instanceof InputError) throw new InputError('requests', file.path, e.field === 'file' ? e.reason : `${e.field}: ${e.reason}`);
    throw e;
  }
  const idx = columns.config_index;
  const counts = new Map<number, number>();
  for (let i = 0; i < idx.length; i++) counts.set(idx[i], (counts.get(idx[i]) ?? 0) + 1);
  const rows = new Map<number, Int32Array>();
  const fill = new Map<number, number>();
  for (const [c, n] of counts) {
    rows.set(c, new Int32Array(n));
    fill.set(c, 0);
  }
  for (let i = 0; i < idx.length; i++) {
    const c = idx[i];
    const k = fill.get(c)!;
    rows.get(c)![k] = i;
    fill.set(c, k + 1);
  }
  return { path: file.path, rows, columns };
}

/** One request as drawn: times in seconds, clipped to the chart's window. */
export interface GanttBar {
  /** Row of the request in the log. */
  row: number;
  rank: number;
  /** Row inside the rank's lane (0 = top), from greedy interval packing. */
  slot: number;
  status: number;
  /** Arrival (start of the waiting line). */
  arrivalS: number;
  /** First admission; NaN if never admitted (failed while waiting). */
  admitS: number;
  /** First token; NaN if none. */
  firstTokenS: number;
  /** Completion or failure. */
  endS: number;
  /** The end lies inside the window (not cut off at its right edge). */
  endsInWindow: boolean;
}

export interface GanttData {
  config: number;
  /** Ranks of the configuration (the time series' ranks, or more if the log routes to more). */
  ranks: number;
  /** Lanes drawn: ranks 0 … lanes − 1 (fewer than `ranks` only when one window holds too many requests). */
  lanes: number;
  /** Requests of the lanes drawn that overlap the window but are left out (only when one lane alone holds too many). */
  leftOut: number;
  /** Rows per lane: the most requests any rank held at once in the window. */
  slots: number;
  /** Drawn requests (routed, overlapping the window), clipped to the window. */
  bars: GanttBar[];
  /** Requests of the configuration in the log, and by outcome. */
  total: number;
  completed: number;
  failed: number;
  /** Failed before routing (rank −1): not drawn. */
  unrouted: number;
  /** Drawn requests by outcome. */
  drawnCompleted: number;
  drawnFailed: number;
  /** Drawn time span, seconds. */
  t0S: number;
  t1S: number;
  /** Whole run: first arrival to last end, seconds. */
  runStartS: number;
  runEndS: number;
  /** True when the run had more than `maxBars` routed requests and only a window is drawn. */
  windowed: boolean;
  /** Routed requests in the whole run. */
  routed: number;
  /** The most requests drawn (the window limit). */
  maxBars: number;
}

export interface GanttOptions {
  /** Default MAX_GANTT_BARS. */
  maxBars?: number;
  /** Lanes at least this many (the time series' rank count). */
  ranks?: number;
}

/**
 * The Gantt view of one configuration. Requests that never reached a rank are counted, not drawn.
 * With more than `maxBars` routed requests, the drawn window is the widest one centred on the
 * middle of the run (steady state rather than ramp-up) that overlaps at most `maxBars` of them,
 * but no narrower than 2% of the run; if that still holds too many, only the first ranks are
 * drawn (and, should rank 0 alone hold too many, its first `maxBars` requests by arrival).
 */
// Long on purpose: the window and rank selection below and the bar building share their bounds.
export function ganttData(log: RequestLog, config: number, opts: GanttOptions = {}): GanttData {
  const rows = log.rows.get(config);
  if (!rows) throw new InputError('config', config, `not in the request log ${log.path}`);
  const c = log.columns;
  const maxBars = Math.max(1, Math.floor(opts.maxBars ?? MAX_GANTT_BARS));
  let completed = 0;
  let failed = 0;
  let unrouted = 0;
  let ranks = Math.max(0, opts.ranks ?? 0);
  let runStart = Infinity;
  let runEnd = -Infinity;
  const routed: number[] = [];
  for (const i of rows) {
    const status = c.status[i];
    if (status === STATUS_COMPLETED) completed++;
    else if (status === STATUS_FAILED) failed++;
    else throw new InputError('requests', log.path, `row ${i}: status ${status}; expected 4 (completed) or 5 (failed)`);
    const a = c.arrival_us[i];
    const e = c.end_us[i];
    if (!(a >= 0) || !(e >= a)) throw new InputError('requests', log.path, `row ${i}: arrival_us ${a}, end_us ${e}; expected 0 <= arrival <= end`);
    if (a < runStart) runStart = a;
    if (e > runEnd) runEnd = e;
    const g = c.rank[i];
    if (g === -1) {
      unrouted++;
      continue;
    }
    if (!Number.isInteger(g) || g < 0) throw new InputError('requests', log.path, `row ${i}: rank ${g}; expected -1 or a rank >= 0`);
    if (g + 1 > ranks) ranks = g + 1;
    routed.push(i);
  }
  if (rows.length === 0) runStart = runEnd = 0;

  // The window: everything, or the widest centred span overlapping at most maxBars requests, but
  // at least 2% of the run (a narrower one would show nothing but bars crossing it).
  let t0 = runStart;
  let t1 = runEnd;
  let windowed = false;
  const overlapping = (lo: number, hi: number) => {
    let n = 0;
    for (const i of routed) if (c.arrival_us[i] < hi && c.end_us[i] > lo) n++;
    return n;
  };
  if (routed.length > maxBars) {
    windowed = true;
    const mid = (runStart + runEnd) / 2;
    const minHalf = Math.max(1, 0.01 * (runEnd - runStart));
    let lo = minHalf;
    let hi = Math.max(minHalf, (runEnd - runStart) / 2);
    for (let k = 0; k < 60 && hi - lo > 1; k++) {
      const w = (lo + hi) / 2;
      if (overlapping(mid - w, mid + w) <= maxBars) lo = w;
      else hi = w;
    }
    t0 = mid - lo;
    t1 = mid + lo;
  }
  let inWindow = windowed ? routed.filter((i) => c.arrival_us[i] < t1 && c.end_us[i] > t0) : routed;
  // Still too many at once (a huge DP group, or long queues): draw the first ranks only, and if
  // even rank 0 holds too many, its first maxBars requests by arrival.
  let lanes = ranks;
  let leftOut = 0;
  if (inWindow.length > maxBars) {
    const perRank = new Array<number>(ranks).fill(0);
    for (const i of inWindow) perRank[c.rank[i]]++;
    let sum = 0;
    lanes = 0;
    while (lanes < ranks && sum + perRank[lanes] <= maxBars) sum += perRank[lanes++];
    if (lanes === 0) {
      lanes = 1;
      const first = inWindow.filter((i) => c.rank[i] === 0).sort((x, y) => c.arrival_us[x] - c.arrival_us[y] || x - y);
      leftOut = first.length - maxBars;
      const keep = new Set(first.slice(0, maxBars));
      inWindow = inWindow.filter((i) => keep.has(i));
    } else inWindow = inWindow.filter((i) => c.rank[i] < lanes);
  }

  const clip = (x: number) => Math.min(t1, Math.max(t0, x));
  const bars: GanttBar[] = [];
  for (const i of inWindow) {
    const a = c.arrival_us[i];
    const e = c.end_us[i];
    const admit = c.admit_us[i];
    const first = c.first_token_us[i];
    bars.push({
      row: i,
      rank: c.rank[i],
      slot: 0,
      status: c.status[i],
      arrivalS: clip(a) / 1e6,
      admitS: admit >= 0 ? clip(admit) / 1e6 : NaN,
      firstTokenS: first >= 0 ? clip(first) / 1e6 : NaN,
      endS: clip(e) / 1e6,
      endsInWindow: e <= t1,
    });
  }
  const slots = packSlots(bars, lanes, (t1 - t0) / 1e6);
  let drawnCompleted = 0;
  for (const b of bars) if (b.status === STATUS_COMPLETED) drawnCompleted++;
  return {
    config,
    ranks,
    lanes,
    leftOut,
    slots,
    bars,
    total: rows.length,
    completed,
    failed,
    unrouted,
    drawnCompleted,
    drawnFailed: bars.length - drawnCompleted,
    t0S: t0 / 1e6,
    t1S: t1 / 1e6,
    runStartS: runStart / 1e6,
    runEndS: runEnd / 1e6,
    windowed,
    routed: routed.length,
    maxBars,
  };
}

/**
 * Give each bar a row in its rank's lane so bars of one rank never overlap (greedy by start time,
 * which uses as few rows as the most requests the rank held at once). A hair of gap keeps
 * back-to-back bars apart. Returns the most rows any lane needs.
 */
function packSlots(bars: GanttBar[], ranks: number, spanS: number): number {
  const gap = spanS * 0.002;
  const byRank: GanttBar[][] = Array.from({ length: ranks }, () => []);
  for (const b of bars) byRank[b.rank].push(b);
  let most = 0;
  for (const lane of byRank) {
    lane.sort((x, y) => x.arrivalS - y.arrivalS || x.row - y.row);
    const ends: number[] = [];
    for (const b of lane) {
      let s = ends.findIndex((e) => e + gap <= b.arrivalS);
      if (s < 0) {
        s = ends.length;
        ends.push(0);
      }
      ends[s] = b.endS;
      b.slot = s;
    }
    if (ends.length > most) most = ends.length;
  }
  return most;
}
