// Validation of configuration values. Every rule throws an InputError naming the field (the
// snake_case key, or the dotted path of the value in a sweep file) and the value.
// Rules that involve one value live in `checkValue`; rules that tie keys together (capacity vs
// block size, trace-only zeros) live in `checkScenario`, run on each built configuration.
import { InputError } from '../errors.ts';
import type { Scenario } from './scenario.ts';
import type { LengthDist } from '../workload/types.ts';
import { getRouter } from '../routers/index.ts';
import {
  ARRIVAL_VALUES,
  ASSIGN_ORDER_VALUES,
  SYNC_VALUES,
  DISPATCH_VALUES,
  LENGTH_DIST_KINDS,
  MAX_DP,
  SWEEP_KEYS,
  TRACE_COLUMN_KEYS,
  TRACE_TIME_UNITS,
  TRACE_WORKLOAD,
  isSweepKey,
  type FieldPath,
  type SweepKey,
} from './sweepSchema.ts';

/** A router as written: a name plus knob values (a knob value may be a list in sweep files). */
export interface RouterValue {
  name: string;
  knobs: Record<string, unknown>;
}

/** Where each key of a configuration came from; undefined for defaults. */
export type FieldOf = (key: SweepKey) => FieldPath | undefined;

const SEED_LIMIT = 2 ** 32;

/** Unknown keys are an error that lists the known ones. */
export function checkKey(key: string, field: FieldPath): SweepKey {
  if (!isSweepKey(key)) {
    throw new InputError(field, key, `unknown key; known keys: ${SWEEP_KEYS.join(', ')}`);
  }
  return key;
}

/**
 * Check one value for `key` and return it in normal form (router -> RouterValue; length
 * distributions and trace columns copied with known keys only). Cross-key rules are not checked
 * here: `requests: 0` and `rate: 0` pass, and `checkScenario` rejects them outside traces.
 */
export function checkValue(key: SweepKey, value: unknown, field: FieldPath): unknown {
  if (Array.isArray(value) && key !== 'router') {
    throw new InputError(field, value, 'expected one value here; lists of values belong under axes');
  }
  switch (key) {
    case 'router':
      return checkRouter(value, field);
    case 'dp':
      return integer(value, field, 1, MAX_DP);
    case 'rate':
      return nonNegative(value, field, `must be > 0 req/s (0 only with workload: ${TRACE_WORKLOAD}, to keep the trace's own timing)`);
    case 'seed':
      return integer(value, field, 0, SEED_LIMIT - 1, 'an integer in [0, 2^32)');
    case 'requests':
      return integer(value, field, 0, 2 ** 31 - 1, `an integer >= 1 (0 = the whole trace, only with workload: ${TRACE_WORKLOAD})`);
    case 'workload':
      return nonEmptyString(value, field, `a workload profile name, or '${TRACE_WORKLOAD}' together with trace: FILE`);
    case 'trace':
      return nonEmptyString(value, field, 'a trace file path');
    case 'trace_columns':
      return checkTraceColumns(value, field);
    case 'trace_time_unit':
      return oneOf(value, field, TRACE_TIME_UNITS);
    case 'trace_window':
      return checkTraceWindow(value, field);
    case 'arrival':
      return oneOf(value, field, ARRIVAL_VALUES);
    case 'cv':
      return positive(value, field);
    case 'max_output':
      return integer(value, field, 1, 2 ** 31 - 1);
    case 'prompt':
    case 'output':
      return checkLengthDist(value, field);
    case 'model':
      return nonEmptyString(value, field, 'a step-time preset name or a .json model file');
    case 'max_num_seqs':
    case 'block_size':
    case 'max_batched_tokens':
    case 'max_model_len':
      return integer(value, field, 1, 2 ** 31 - 1);
    case 'kv_capacity':
      return integer(value, field, 1, 2 ** 31 - 1);
    case 'stats_interval_ms':
    case 'timeout_s':
      return nonNegative(value, field);
    case 'dispatch':
      return oneOf(value, field, DISPATCH_VALUES);
    case 'assign_order':
      return oneOf(value, field, ASSIGN_ORDER_VALUES);
    case 'sync':
      return oneOf(value, field, SYNC_VALUES);
    case 'timeseries':
      if (typeof value !== 'boolean') throw new InputError(field, value, 'must be true or false');
      return value;
  }
}

/** Rules that tie several keys of one configuration together. */
export function checkScenario(s: Scenario, fieldOf: FieldOf): void {
  const f = (key: SweepKey) => fieldOf(key) ?? key;
  const w = s.workload;
  const isTrace = w.source === TRACE_WORKLOAD;
  if (isTrace && w.tracePath === undefined) {
    throw new InputError(f('workload'), w.source, 'a trace workload needs `trace: FILE` (a CSV or JSONL file)');
  }
  if (!isTrace && w.tracePath !== undefined) {
    throw new InputError(f('trace'), w.tracePath, `a trace file needs \`workload: ${TRACE_WORKLOAD}\` (workload is ${JSON.stringify(w.source)})`);
  }
  if (!isTrace && w.rate === 0) {
    throw new InputError(f('rate'), w.rate, `must be > 0 (rate 0 = keep the trace's own timing, only with workload: ${TRACE_WORKLOAD})`);
  }
  if (!isTrace && w.requests === 0) {
    throw new InputError(f('requests'), w.requests, `must be >= 1 (0 = the whole trace, only with workload: ${TRACE_WORKLOAD})`);
  }
  if (s.kvCapacity < s.blockSize) {
    throw new InputError(f('kv_capacity'), s.kvCapacity, `capacity smaller than one block (block_size ${s.blockSize}); raise kv_capacity or lower block_size`);
  }
  if (s.kvCapacity % s.blockSize !== 0) {
    const down = s.kvCapacity - (s.kvCapacity % s.blockSize);
    throw new InputError(
      f('kv_capacity'),
      s.kvCapacity,
      `must be a multiple of block_size ${s.blockSize} (KV is allocated in whole blocks; not rounded for you: use ${down} or ${down + s.blockSize})`,
    );
  }
  if (s.sync === 'independent' && s.dispatch === 'per_step') {
    throw new InputError(f('dispatch'), s.dispatch, 'per_step assigns at the group step boundary, which sync: independent does not have (use on_arrival)');
  }
}

function checkRouter(value: unknown, field: FieldPath): RouterValue {
  if (typeof value === 'string') {
    getRouter(value, field);
    return { name: value, knobs: {} };
  }
  if (isPlainObject(value)) {
    const { name, ...knobs } = value;
    if (typeof name !== 'string') {
      throw new InputError(`${field}.name`, name, 'a router given as a mapping needs name: ROUTER (e.g. {name: br0, b: 8})');
    }
    getRouter(name, `${field}.name`);
    return { name, knobs };
  }
  throw new InputError(field, value, 'must be a router name or a mapping {name: ROUTER, knob: value, ...}');
}

function checkTraceColumns(value: unknown, field: FieldPath): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new InputError(field, value, `must be a mapping with keys ${TRACE_COLUMN_KEYS.join(', ')} (column names in the trace)`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!(TRACE_COLUMN_KEYS as readonly string[]).includes(k)) {
      throw new InputError(`${field}.${k}`, k, `unknown key; known keys: ${TRACE_COLUMN_KEYS.join(', ')}`);
    }
    out[k] = nonEmptyString(v, `${field}.${k}`, 'a column name');
  }
  return out;
}

/** `{start_s, end_s}`: seconds of the trace's own clock (start_s defaults to 0, end_s to the end). */
function checkTraceWindow(value: unknown, field: FieldPath): { start_s: number; end_s?: number } {
  if (!isPlainObject(value)) throw new InputError(field, value, 'must be a mapping {start_s, end_s} (seconds from the trace\'s first row)');
  for (const k of Object.keys(value)) {
    if (k !== 'start_s' && k !== 'end_s') throw new InputError(`${field}.${k}`, k, 'unknown key; known keys: start_s, end_s');
  }
  const start = value.start_s === undefined ? 0 : nonNegative(value.start_s, `${field}.start_s`);
  if (value.end_s === undefined) return { start_s: start };
  const end = nonNegative(value.end_s, `${field}.end_s`);
  if (!(end > start)) throw new InputError(`${field}.end_s`, end, `must be after start_s (${start})`);
  return { start_s: start, end_s: end };
}

function checkLengthDist(value: unknown, field: FieldPath): LengthDist {
  if (!isPlainObject(value)) {
    throw new InputError(field, value, `must be a length distribution {kind: ${LENGTH_DIST_KINDS.join('|')}, ...}`);
  }
  const kind = oneOf(value.kind, `${field}.kind`, LENGTH_DIST_KINDS);
  const allowed: Record<(typeof LENGTH_DIST_KINDS)[number], string[]> = {
    lognormal: ['median', 'sigma', 'min', 'max'],
    fixed: ['value'],
    uniform: ['min', 'max'],
    empirical: ['profile'],
  };
  for (const k of Object.keys(value)) {
    if (k !== 'kind' && !allowed[kind].includes(k)) {
      throw new InputError(`${field}.${k}`, k, `unknown key for kind ${kind}; known keys: kind, ${allowed[kind].join(', ')}`);
    }
  }
  const tokens = (k: string) => integer(value[k], `${field}.${k}`, 1, 2 ** 31 - 1, 'an integer number of tokens >= 1');
  switch (kind) {
    case 'fixed':
      return { kind, value: tokens('value') };
    case 'uniform': {
      const min = tokens('min');
      const max = tokens('max');
      if (max < min) throw new InputError(`${field}.max`, max, `must be >= min (${min})`);
      return { kind, min, max };
    }
    case 'lognormal': {
      const median = positive(value.median, `${field}.median`);
      const sigma = nonNegative(value.sigma, `${field}.sigma`);
      const d: LengthDist = { kind, median, sigma };
      if (value.min !== undefined) d.min = tokens('min');
      if (value.max !== undefined) d.max = tokens('max');
      if (d.min !== undefined && d.max !== undefined && d.max < d.min) {
        throw new InputError(`${field}.max`, d.max, `must be >= min (${d.min})`);
      }
      return d;
    }
    case 'empirical':
      return { kind, profile: nonEmptyString(value.profile, `${field}.profile`, 'a workload profile name') };
  }
}

// ---- primitive rules ----

function finite(value: unknown, field: FieldPath): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new InputError(field, value, 'must be a number');
  if (!Number.isFinite(value)) throw new InputError(field, value, 'must be a finite number');
  return value;
}

function positive(value: unknown, field: FieldPath): number {
  const x = finite(value, field);
  if (!(x > 0)) throw new InputError(field, value, 'must be > 0');
  return x;
}

function nonNegative(value: unknown, field: FieldPath, message = 'must be >= 0'): number {
  const x = finite(value, field);
  if (x < 0) throw new InputError(field, value, message);
  return x;
}

function integer(value: unknown, field: FieldPath, min: number, max: number, what?: string): number {
  const x = finite(value, field);
  const desc = what ?? (max >= 2 ** 31 - 1 ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`);
  if (!Number.isInteger(x) || x < min || x > max) throw new InputError(field, value, `must be ${desc}`);
  return x;
}

function oneOf<T extends string>(value: unknown, field: FieldPath, values: readonly T[]): T {
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
    throw new InputError(field, value, `must be one of ${values.join(', ')}`);
  }
  return value as T;
}

function nonEmptyString(value: unknown, field: FieldPath, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InputError(field, value, `must be ${what}`);
  return value;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
