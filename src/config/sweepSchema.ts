// The vocabulary of sweep files and `run` flags: which keys exist, and the shapes a parsed sweep
// takes before expansion. Key meanings and defaults: docs/sweeps.md.

/** Keys of one configuration, usable in `base`, `axes` (as lists), `configs` and `run` flags. */
export const SWEEP_KEYS = [
  'router',
  'dp',
  'rate',
  'seed',
  'requests',
  'workload',
  'trace',
  'trace_columns',
  'trace_time_unit',
  'trace_window',
  'arrival',
  'cv',
  'max_output',
  'prompt',
  'output',
  'model',
  'max_num_seqs',
  'kv_capacity',
  'block_size',
  'max_batched_tokens',
  'max_model_len',
  'stats_interval_ms',
  'dispatch',
  'assign_order',
  'sync',
  'timeout_s',
  'timeseries',
] as const;

export type SweepKey = (typeof SWEEP_KEYS)[number];

/** Top-level keys of a sweep file. */
export const SWEEP_FILE_KEYS = ['name', 'base', 'axes', 'configs'] as const;

/** A sweep may expand to at most this many configurations (a guard against typos like 1e9 seeds). */
export const MAX_CONFIGURATIONS = 10_000_000;

/** `workload` value that selects trace replay (with `trace: FILE`). */
export const TRACE_WORKLOAD = 'trace';

export const DISPATCH_VALUES = ['on_arrival', 'per_step'] as const;
export const ASSIGN_ORDER_VALUES = ['fcfs', 'lpt'] as const;
export const SYNC_VALUES = ['barrier', 'independent'] as const;
export const ARRIVAL_VALUES = ['poisson', 'gamma'] as const;
export const TRACE_TIME_UNITS = ['s', 'ms', 'us', 'ns'] as const;
export const TRACE_COLUMN_KEYS = ['arrival', 'prompt', 'output'] as const;
export const LENGTH_DIST_KINDS = ['lognormal', 'fixed', 'uniform', 'empirical'] as const;

/** Largest DP size accepted (far beyond any deployment; keeps per-rank arrays sane). */
export const MAX_DP = 4096;

/** A flat configuration entry: snake_case keys to raw (not yet validated) values. */
export type SweepEntry = Partial<Record<SweepKey, unknown>>;

/** Where a value came from: a dotted path such as `axes.rate[2]` (or the bare key for flags). */
export type FieldPath = string;

/** A parsed sweep file, before validation of values. */
export interface SweepSpec {
  /** File the spec was read from (for messages); '' for specs built in memory. */
  file: string;
  name?: string;
  base: SweepEntry;
  /** Axes in file order; the last one varies fastest. Values are always lists here. */
  axes: { key: SweepKey; values: unknown[] }[];
  /** Explicit configurations, each merged over `base`; undefined when absent. */
  configs?: SweepEntry[];
}

/** What loading a sweep file yields. */
export interface LoadedSweep {
  name?: string;
  file: string;
  scenarios: import('./scenario.ts').Scenario[];
}

export function isSweepKey(key: string): key is SweepKey {
  return (SWEEP_KEYS as readonly string[]).includes(key);
}
