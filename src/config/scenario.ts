import type { WorkloadSpec } from '../workload/types.ts';
import type { RouterParams } from '../routers/types.ts';
import type { GoodputLimits } from '../metrics/goodput.ts';
import { defaultOf, type KeyValue, type ScenarioFields, type SweepKey } from './schema.ts';

export type { AssignOrder, Dispatch, Sync } from './schema.ts';

/**
 * One fully-resolved configuration: everything an engine needs to simulate one run. The fields
 * that copy one key each (dp, maxNumSeqs, blockSize, maxBatchedTokens, statsIntervalMs,
 * dispatch, assignOrder, timeoutS, timeseries, ...) are declared by their key in schema.ts.
 */
export interface Scenario extends ScenarioFields {
  /** Position of this configuration in its sweep (0-based). */
  index: number;
  router: string;
  routerParams: RouterParams;
  /** KV capacity per rank in tokens (a multiple of blockSize). */
  kvCapacity: number;
  maxModelLen: number;
  /** Step-time preset name or model file path. */
  model: string;
  workload: WorkloadSpec;
  /**
   * Per-request latency limits (ms) for the goodput columns (`sweep --slo`); not a sweep key.
   * A request is good when it completed within every limit given.
   */
  goodput?: GoodputLimits;
  /**
   * SLO bounds at which the CPU engine may stop the run once they are certain to be missed
   * (`capacity`'s early stop, docs/capacity.md); not a sweep key. The run's result then carries
   * `stoppedEarly` and its metrics are partial. Engines that do not stop early ignore it.
   */
  stopWhen?: readonly { metric: string; bound: number }[];
}

export type { GoodputLimits } from '../metrics/goodput.ts';

/** The static default of a key that has one (schema.ts). */
function given<K extends SweepKey>(k: K): KeyValue<K> {
  const d = defaultOf(k);
  if (d === undefined) throw new Error(`schema.ts: key ${k} has no static default`);
  return d;
}

/**
 * Defaults of `run` flags and sweep files, in Scenario's field names (derived from schema.ts;
 * for library callers and tests that build scenarios by hand).
 */
export const SCENARIO_DEFAULTS = {
  router: given('router').name,
  dp: given('dp'),
  maxNumSeqs: given('max_num_seqs'),
  blockSize: given('block_size'),
  maxBatchedTokens: given('max_batched_tokens'),
  statsIntervalMs: given('stats_interval_ms'),
  dispatch: given('dispatch'),
  assignOrder: given('assign_order'),
  timeoutS: given('timeout_s'),
  model: given('model'),
  workload: {
    source: given('workload'),
    arrival: given('arrival'),
    cv: given('cv'),
    rate: given('rate'),
    requests: given('requests'),
    seed: given('seed'),
    maxOutput: given('max_output'),
  } satisfies WorkloadSpec,
};

