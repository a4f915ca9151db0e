/**
 * The messages between the emulator's HTTP thread and its engine worker (engineWorker.ts).
 * Core events travel as packed records of four numbers (kind, id, x, t) in one Float64Array per
 * batch, so a step's hundreds of token events cost one message; the ranks' gauges live in a
 * SharedArrayBuffer the worker refreshes after every batch and `/metrics` reads at scrape time.
 */
import type { Scenario } from '../../config/scenario.ts';
import type { CoreOutcome, Sync } from './coreApi.ts';

export interface WorkerInit {
  scenario: Scenario;
  speed: number;
  sync: Sync;
  /** process.hrtime.bigint() at the HTTP thread's engine time 0 (both threads read one monotonic clock). */
  hrtime0: bigint;
  /** STATS_FIELDS float64 per rank, then the step count. */
  stats: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'submit'; id: number; stampUs: number; promptTokens: number; outputTokens: number; rank: number | undefined }
  | { type: 'abort'; id: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'events'; records: Float64Array }
  | { type: 'stopped'; timingErrors: Float64Array }
  | { type: 'failed'; message: string; stack?: string };

/**
 * Record kinds; x is the rank (ROUTE, PREEMPT), tokens emitted (TOKEN), outcome code (FINISH),
 * the arrival time the core took (ARRIVE) or the step's end time (STEP: a step ending then has
 * handed on all its events); QUEUED and SCHEDULED_AT carry the rank and the core's queued_us /
 * scheduled_us events as they happen (docs/model.md §8; scheduled_us is the first admission).
 */
export const EV = { ROUTE: 0, TOKEN: 2, FINISH: 3, PREEMPT: 4, ARRIVE: 5, STEP: 6, QUEUED: 8, SCHEDULED_AT: 9 } as const;
export const RECORD = 4;

export const OUTCOMES: readonly CoreOutcome[] = ['completed', 'rejected', 'timeout', 'aborted'];

/** Per rank: running, waiting, kvBlocksUsed, kvBlocksTotal, preemptions, promptTokens, generationTokens. */
export const STATS_FIELDS = 7;
