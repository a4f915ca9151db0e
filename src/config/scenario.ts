import type { WorkloadSpec } from '../workload/types.ts';
import type { RouterParams } from '../routers/types.ts';

export type Dispatch = 'on_arrival' | 'per_step';
/** barrier: the DP group steps in lockstep (DP+EP); independent: each rank on its own clock. */
export type Sync = 'barrier' | 'independent';
/** Order in which `per_step` dispatch assigns the requests of its global queue. */
export type AssignOrder = 'fcfs' | 'lpt';

/** One fully-resolved configuration: everything an engine needs to simulate one run. */
export interface Scenario {
  /** Position of this configuration in its sweep (0-based). */
  index: number;
  router: string;
  routerParams: RouterParams;
  dp: number;
  /** max_num_seqs B per rank. */
  maxNumSeqs: number;
  /** KV capacity per rank in tokens (a multiple of blockSize). */
  kvCapacity: number;
  blockSize: number;
  /** max_num_batched_tokens M per rank per step (chunked prefill budget). */
  maxBatchedTokens: number;
  maxModelLen: number;
  /** Router snapshot refresh interval in ms (0 = exact view every decision). */
  statsIntervalMs: number;
  dispatch: Dispatch;
  assignOrder: AssignOrder;
  /** Client timeout in seconds measured from arrival (0 = none). */
  timeoutS: number;
  /** Step-time preset name or model file path. */
  model: string;
  workload: WorkloadSpec;
  /** Record a per-step time series for this run. */
  timeseries: boolean;
  /** Step synchronisation of the ranks; absent = barrier. */
  sync?: Sync;
}

/** Defaults shared by `run` flags and sweep files. */
export const SCENARIO_DEFAULTS = {
  router: 'vllm_default',
  dp: 8,
  maxNumSeqs: 256,
  blockSize: 16,
  maxBatchedTokens: 8192,
  statsIntervalMs: 100,
  dispatch: 'on_arrival' as Dispatch,
  assignOrder: 'fcfs' as AssignOrder,
  sync: 'barrier' as Sync,
  timeoutS: 0,
  model: 'qwen3-30b-a3b-h100',
  workload: {
    source: 'sharegpt',
    arrival: 'poisson',
    cv: 1,
    rate: 3,
    requests: 500,
    seed: 1,
    maxOutput: 1024,
  } satisfies WorkloadSpec,
} as const;
