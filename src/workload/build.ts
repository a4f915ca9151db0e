/**
 * Build a Workload (request stream) from a WorkloadSpec: a built-in profile with synthetic
 * arrivals, or the replay of a trace file. Everything is deterministic in the spec.
 *
 * Common random numbers: arrivals, prompt lengths and output lengths each draw from their own
 * stream of the spec's seed (`new Rng(seed, STREAM_*)`). Changing the rate only rescales the
 * arrival times; changing the arrival process or cv leaves the lengths alone; overriding the
 * output distribution leaves the prompts alone; and request i is the same whatever `requests` is
 * (a longer stream extends a shorter one). Nothing outside the spec (router, DP size, engine)
 * enters the stream.
 */
import { resolve, basename } from 'node:path';
import { InputError } from '../errors.ts';
import { Rng } from '../rng.ts';
import type { ArrivalProcess, LengthDist, Workload, WorkloadSpec } from './types.ts';
import { ARRIVAL_PROCESSES, generateArrivals } from './arrivals.ts';
import { MAX_TOKENS, describeLengthDist, normalizeLengthDist, sampleLengths } from './lengths.ts';
import { PROFILE_NAMES, getProfile } from './profiles.ts';
import { TIME_UNITS, parseTraceFile, traceStream, type TimeUnit, type TraceColumns } from './traceReader.ts';

/** RNG stream ids (ASCII tags) of the three independent streams of a workload seed. */
export const STREAM_ARRIVALS = 0x41525256; // 'ARRV'
export const STREAM_PROMPT = 0x50524d54; // 'PRMT'
export const STREAM_OUTPUT = 0x4f555450; // 'OUTP'

/** Upper bound on `requests` (keeps typed arrays to a sane size). */
export const MAX_REQUESTS = 10_000_000;

/** A validated spec with only the fields that shape the stream, defaults filled in. */
export type CanonicalSpec =
  | {
      kind: 'trace';
      /** Absolute path. */
      path: string;
      columns: TraceColumns;
      timeUnit: TimeUnit | null;
      /** Seconds of the trace's own clock, [startS, endS); null = the whole trace. */
      window: { startS: number; endS: number | null } | null;
      rate: number;
      requests: number;
      maxOutput: number;
    }
  | {
      kind: 'profile';
      /** Built-in profile name. */
      profile: string;
      arrival: ArrivalProcess;
      /** 1 for Poisson (gamma with cv 1 is the same stream). */
      cv: number;
      rate: number;
      requests: number;
      seed: number;
      maxOutput: number;
      prompt: LengthDist;
      output: LengthDist;
    };

/**
 * Validate a spec and reduce it to canonical form. Throws InputError naming the snake_case
 * field (`workload`, `trace`, `rate`, `requests`, `cv`, `seed`, `max_output`, `arrival`,
 * `prompt.*`, `output.*`, `trace_columns.*`, `trace_time_unit`) and the offending value.
 */
export function canonicalSpec(spec: WorkloadSpec): CanonicalSpec {
  if (spec === null || typeof spec !== 'object') throw new InputError('workload', spec, 'expected a workload specification');
  const maxOutput = wholeNumber(spec.maxOutput, 'max_output', 1, MAX_TOKENS);
  if (typeof spec.source !== 'string' || spec.source === '') {
    throw new InputError('workload', spec.source, `expected a built-in profile name (known: ${PROFILE_NAMES.join(', ')}) or "trace"`);
  }
  if (spec.source === 'trace') {
    const path = spec.tracePath;
    if (typeof path !== 'string' || path === '') {
      throw new InputError('trace', path, 'workload "trace" needs a trace file path (--trace FILE or trace: FILE)');
    }
    const rate = number(spec.rate, 'rate', 0, 'must be >= 0 req/s for a trace (0 keeps the trace timing)');
    const requests = wholeNumber(spec.requests, 'requests', 0, MAX_REQUESTS, 'for a trace: 0 = all rows');
    if (spec.prompt !== undefined) throw new InputError('prompt', spec.prompt, 'length distributions apply to built-in profiles; a trace replays its own lengths');
    if (spec.output !== undefined) throw new InputError('output', spec.output, 'length distributions apply to built-in profiles; a trace replays its own lengths');
    const columns: TraceColumns = {};
    if (spec.traceColumns !== undefined) {
      if (spec.traceColumns === null || typeof spec.traceColumns !== 'object') {
        throw new InputError('trace_columns', spec.traceColumns, 'expected {arrival, prompt, output} column names');
      }
      for (const role of ['arrival', 'prompt', 'output'] as const) {
        const c = spec.traceColumns[role];
        if (c === undefined) continue;
        if (typeof c !== 'string' || c === '') throw new InputError(`trace_columns.${role}`, c, 'expected a column name');
        columns[role] = c;
      }
    }
    const unit = spec.traceTimeUnit;
    if (unit !== undefined && !TIME_UNITS.includes(unit)) {
      throw new InputError('trace_time_unit', unit, `unknown time unit; use one of ${TIME_UNITS.join(', ')}`);
    }
    return { kind: 'trace', path: resolve(path), columns, timeUnit: unit ?? null, window: traceWindow(spec.traceWindow), rate, requests, maxOutput };
  }

  if (spec.traceWindow !== undefined) {
    throw new InputError('trace_window', spec.traceWindow, 'applies to trace replay only (workload: trace)');
  }
  getProfile(spec.source, 'workload'); // unknown names throw here
  if (!ARRIVAL_PROCESSES.includes(spec.arrival)) {
    throw new InputError('arrival', spec.arrival, `unknown arrival process; known: ${ARRIVAL_PROCESSES.join(', ')}`);
  }
  const rate = number(spec.rate, 'rate', Number.MIN_VALUE, 'must be a rate > 0 req/s');
  const requests = wholeNumber(spec.requests, 'requests', 1, MAX_REQUESTS);
  const cv = number(spec.cv, 'cv', Number.MIN_VALUE, 'must be a coefficient of variation > 0 (1 = Poisson)');
  const seed = wholeNumber(spec.seed, 'seed', 0, 0xffffffff);
  const arrival: ArrivalProcess = spec.arrival === 'gamma' && cv !== 1 ? 'gamma' : 'poisson';
  return {
    kind: 'profile',
    profile: spec.source,
    arrival,
    cv: arrival === 'gamma' ? cv : 1,
    rate,
    requests,
    seed,
    maxOutput,
    prompt: normalizeLengthDist(spec.prompt ?? { kind: 'empirical', profile: spec.source }, 'prompt'),
    output: normalizeLengthDist(spec.output ?? { kind: 'empirical', profile: spec.source }, 'output'),
  };
}

function traceWindow(w: WorkloadSpec['traceWindow']): { startS: number; endS: number | null } | null {
  if (w === undefined) return null;
  if (w === null || typeof w !== 'object') throw new InputError('trace_window', w, 'expected {start_s, end_s} in seconds');
  const startS = number(w.startS ?? 0, 'trace_window.start_s', 0, 'must be a time >= 0 s');
  if (w.endS === undefined) return { startS, endS: null };
  const endS = number(w.endS, 'trace_window.end_s', 0, 'must be a time >= 0 s');
  if (!(endS > startS)) throw new InputError('trace_window.end_s', endS, `must be after start_s (${startS})`);
  return { startS, endS };
}

function number(v: unknown, field: string, min: number, reason: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new InputError(field, v, reason);
  return v;
}

function wholeNumber(v: unknown, field: string, min: number, max: number, note?: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InputError(field, v, `must be a whole number from ${min} to ${max}${note ? ` (${note})` : ''}`);
  }
  return v;
}

/**
 * Canonical key of a spec: two specs with equal keys give identical workloads (fields that do
 * not shape the stream are left out: the seed of a trace replay, the cv of Poisson arrivals,
 * default length distributions written out or not). Throws InputError for invalid specs.
 */
export function workloadKey(spec: WorkloadSpec): string {
  return keyOf(canonicalSpec(spec));
}

function keyOf(c: CanonicalSpec): string {
  return JSON.stringify(c);
}

/** survival[a] = fraction of requests with output > a, for a = 0..max output (survival[0] = 1). */
export function outputSurvival(output: Int32Array): Float64Array {
  const n = output.length;
  let maxO = 0;
  for (let i = 0; i < n; i++) if (output[i] > maxO) maxO = output[i];
  const count = new Float64Array(maxO + 1); // count[a] = #requests with output == a
  for (let i = 0; i < n; i++) count[output[i]]++;
  const surv = new Float64Array(maxO + 1);
  let above = 0; // #requests with output > a, built from the top
  for (let a = maxO; a >= 0; a--) {
    surv[a] = n > 0 ? above / n : 0;
    above += count[a];
  }
  return surv;
}

/** Label for result rows: the profile name (with any length overrides) or the trace file name. */
export function workloadLabel(c: CanonicalSpec): string {
  if (c.kind === 'trace') return basename(c.path);
  const parts: string[] = [];
  if (!(c.prompt.kind === 'empirical' && c.prompt.profile === c.profile)) parts.push(`prompt=${describeLengthDist(c.prompt)}`);
  if (!(c.output.kind === 'empirical' && c.output.profile === c.profile)) parts.push(`output=${describeLengthDist(c.output)}`);
  return parts.length ? `${c.profile}[${parts.join(',')}]` : c.profile;
}

/** Build the request stream of a spec. Throws InputError for invalid specs or unreadable traces. */
export function buildWorkload(spec: WorkloadSpec): Workload {
  return buildCanonical(canonicalSpec(spec), spec.tracePath);
}

function buildCanonical(c: CanonicalSpec, displayPath?: string): Workload {
  let arrivalUs: Float64Array;
  let prompt: Int32Array;
  let output: Int32Array;
  if (c.kind === 'trace') {
    const display = displayPath ?? c.path;
    const parsed = parseTraceFile({ path: display, columns: c.columns, timeUnit: c.timeUnit ?? undefined });
    const window = c.window ? { startS: c.window.startS, endS: c.window.endS ?? undefined } : undefined;
    ({ arrivalUs, prompt, output } = traceStream(parsed, c.requests, c.rate, c.maxOutput, display, window));
  } else {
    arrivalUs = generateArrivals(c.requests, c.arrival, c.cv, c.rate, new Rng(c.seed, STREAM_ARRIVALS));
    prompt = sampleLengths(c.prompt, 'prompt', c.requests, new Rng(c.seed, STREAM_PROMPT));
    output = sampleLengths(c.output, 'output', c.requests, new Rng(c.seed, STREAM_OUTPUT), c.maxOutput);
  }
  const last = arrivalUs.length ? arrivalUs[arrivalUs.length - 1] : 0;
  if (!(last <= Number.MAX_SAFE_INTEGER)) {
    throw new InputError('rate', c.rate, 'is so low that arrival times overflow exact integer microseconds');
  }
  return {
    n: arrivalUs.length,
    arrivalUs,
    prompt,
    output,
    outputSurvival: outputSurvival(output),
    label: workloadLabel(c),
  };
}

/** How many distinct workloads getWorkload keeps (least recently used are dropped). */
export const WORKLOAD_CACHE_LIMIT = 32;
const memo = new Map<string, Workload>();

/**
 * Memoised buildWorkload: configurations with equal workloadKey share one Workload object.
 * Callers must treat its arrays as read-only.
 */
export function getWorkload(spec: WorkloadSpec): Workload {
  const c = canonicalSpec(spec);
  const key = keyOf(c);
  const hit = memo.get(key);
  if (hit) {
    memo.delete(key);
    memo.set(key, hit);
    return hit;
  }
  const wl = buildCanonical(c, spec.tracePath);
  memo.set(key, wl);
  if (memo.size > WORKLOAD_CACHE_LIMIT) memo.delete(memo.keys().next().value as string);
  return wl;
}

/** Drop every memoised workload (tests, long-lived processes). */
export function clearWorkloadCache(): void {
  memo.clear();
}
