// Validation of configuration values against the schema (schema.ts). Every problem is an
// InputError naming the field (the snake_case key, or the dotted path of the value in a sweep
// file) and the value. One value at a time: `checkValue`; rules that tie keys together (capacity
// vs block size, trace-only zeros, knobs that need a dispatch mode): `checkScenario`, run on
// each built configuration.
import type { z } from 'zod';

import { InputError } from '../errors.ts';
import type { Scenario } from './scenario.ts';
import { getRouter } from '../routers/index.ts';
import { KEYS, SWEEP_KEYS, TRACE_WORKLOAD, defaultOf, isSweepKey, type KeyValue, type RouterValue, type SweepKey } from './schema.ts';
import type { FieldPath } from './sweepSchema.ts';
import { parseWith } from '../zodRules.ts';

export type { RouterValue } from './schema.ts';

/** Where each key of a configuration came from; undefined for defaults. */
export type FieldOf = (key: SweepKey) => FieldPath | undefined;

/** Unknown keys are an error that lists the known ones. */
export function checkKey(key: string, field: FieldPath): SweepKey {
  if (!isSweepKey(key)) {
    throw new InputError(field, key, `unknown key; known keys: ${SWEEP_KEYS.join(', ')}`);
  }
  return key;
}

/**
 * Check one value for `key` and return it in normal form (router -> RouterValue; trace windows
 * in the workload's form). Cross-key rules are not checked here: `requests: 0` and `rate: 0`
 * pass, and `checkScenario` rejects them outside traces.
 */
export function checkValue<K extends SweepKey>(key: K, value: unknown, field: FieldPath): KeyValue<K> {
  if (Array.isArray(value) && key !== 'router') {
    throw new InputError(field, value, 'expected one value here; lists of values belong under axes');
  }
  const v = parseValue(KEYS[key].schema as z.ZodType<KeyValue<K>>, value, field);
  if (key === 'router') getRouter((v as RouterValue).name, typeof value === 'string' ? field : `${field}.name`);
  return v;
}

/** Parse `value` with a schema; the first problem becomes an InputError at `field` + its path. */
export const parseValue = parseWith;

/** Rules that tie several keys of one configuration together. */
export function checkScenario(s: Scenario, fieldOf: FieldOf, routerField: FieldPath = fieldOf('router') ?? 'router'): void {
  const f = (key: SweepKey) => fieldOf(key) ?? key;
  const w = s.workload;
  const isTrace = w.source === TRACE_WORKLOAD;
  if (isTrace && w.tracePath === undefined) {
    throw new InputError(f('workload'), w.source, 'a trace workload needs `trace: FILE` (a CSV, JSONL or Arrow file)');
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
  if (s.sync === 'independent' && s.dispatch === 'per_step') {
    throw new InputError(f('dispatch'), s.dispatch, 'per_step assigns at the group step boundary, which sync: independent does not have (use on_arrival)');
  }
  if (s.admission === 'adp_balance' && s.sync === 'independent') {
    throw new InputError(f('admission'), s.admission, 'adp_balance synchronises the ranks\' context work at the group step; sync: independent has none (use sync: barrier)');
  }
  if (s.dispatch !== 'wave' && s.waveTimeoutMs !== undefined && s.waveTimeoutMs !== defaultOf('wave_timeout_ms')) {
    throw new InputError(f('wave_timeout_ms'), s.waveTimeoutMs, `acts only with dispatch: wave (--dispatch wave); with dispatch ${s.dispatch} it would change nothing`);
  }
  if ((s.topology ?? 'colocated') === 'pd') {
    // docs/pd.md: the decode group is a DP+EP group (barrier); client timeouts are not modelled yet.
    if (s.sync === 'independent') throw new InputError(f('sync'), s.sync, 'topology pd runs its decode group with the barrier (use sync: barrier)');
    if (s.timeoutS > 0) throw new InputError(f('timeout_s'), s.timeoutS, 'client timeouts are not modelled with topology pd yet (use 0)');
    if (s.dispatch === 'wave') throw new InputError(f('dispatch'), s.dispatch, 'wave dispatch is not modelled with topology pd (use on_arrival or per_step)');
  }
  const needs = getRouter(s.router).requiresDispatch;
  if (needs !== undefined && s.dispatch !== needs) {
    throw new InputError(f('dispatch'), s.dispatch, `router ${s.router} deals the global queue at step boundaries: it needs dispatch: ${needs} (--dispatch ${needs})`);
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
  // A knob that acts only under one dispatch mode would be recorded without effect (docs/routers.md).
  for (const k of getRouter(s.router).knobs) {
    const needs = k.onlyWith?.dispatch;
    if (needs !== undefined && s.dispatch !== needs && s.routerParams[k.name] !== k.default) {
      throw new InputError(
        `${routerField}.${k.name}`,
        s.routerParams[k.name],
        `acts only with dispatch: ${needs} (--dispatch ${needs}); with dispatch ${s.dispatch} it would change nothing (leave it at ${k.default})`,
      );
    }
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
