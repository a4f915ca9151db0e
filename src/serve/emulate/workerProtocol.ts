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

/** Record kinds; x is the rank (route, admit, preempt), tokens emitted, outcome code, arrival or step end time. */
export const EV_ROUTE = 0;
export const EV_ADMIT = 1;
export const EV_TOKEN = 2;
export const EV_FINISH = 3;
export const EV_PREEMPT = 4;
/** The core took request id with arrival time x (engine µs). */
export const EV_ARRIVE = 5;
/** A step ending at engine time x has handed on all its events. */
export const EV_STEP = 6;
/** Request id was first scheduled at engine time x (sent just before its finish event). */
export const EV_SCHEDULED = 7;
export const RECORD = 4;

export const OUTCOMES: readonly CoreOutcome[] = ['completed', 'rejected', 'timeout', 'aborted'];

/** Per rank: running, waiting, kvBlocksUsed, kvBlocksTotal, preemptions, promptTokens, generationTokens. */
export const STATS_FIELDS = 7;
