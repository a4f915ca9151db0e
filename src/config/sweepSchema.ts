// The shapes a parsed sweep takes before expansion. The keys of a configuration, their values and
// defaults are described once, in schema.ts; this module re-exports what callers need.
import type { SweepKey } from './schema.ts';

export {
  ARRIVAL_VALUES,
  ASSIGN_ORDER_VALUES,
  DISPATCH_VALUES,
  LENGTH_DIST_KINDS,
  MAX_DP,
  SWEEP_FILE_KEYS,
  SWEEP_KEYS,
  TRACE_COLUMN_KEYS,
  TRACE_TIME_UNITS,
  TRACE_WORKLOAD,
  isSweepKey,
  type SweepKey,
} from './schema.ts';

/** A sweep may expand to at most this many configurations (a guard against typos like 1e9 seeds). */
export const MAX_CONFIGURATIONS = 10_000_000;

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
