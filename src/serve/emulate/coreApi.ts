/**
 * What the emulator needs from the steppable engine core (src/engine/core): the same object the
 * offline engine drives, seen through the methods the wall-clock driver calls. Declared here as
 * an interface so the HTTP side depends on the shape, not on the module.
 */
import type { CoreRequest, Outcome, RankStats } from '../../engine/core/index.ts';

export type { CoreRequest, RankStats };
export type CoreOutcome = Outcome;

export interface CoreEvents {
  onRoute?(id: number, rank: number, tUs: number): void;
  onToken?(id: number, emitted: number, tUs: number): void;
  onFinish?(id: number, outcome: CoreOutcome, tUs: number): void;
  onPreempt?(id: number, rank: number, tUs: number): void;
  /** The request joined a rank's waiting queue (queued_us; vLLM queued_ts). */
  onQueued?(id: number, rank: number, tUs: number): void;
  /** The request was first scheduled; tUs = scheduled_us (vLLM scheduled_ts; docs/model.md §8). */
  onScheduled?(id: number, rank: number, tUs: number): void;
  /** A step ended and all its events were handed on (drivers only; the core never fires it). */
  onStepEnd?(tUs: number): void;
}

export interface SteppableCore {
  readonly G: number;
  submit(req: CoreRequest): number;
  abort(id: number, tUs: number): void;
  beginStep(nowUs: number): number;
  endStep(endUs: number): void;
  /** Independent mode (sync: independent); absent in a core that only has the barrier. */
  beginRankStep?(g: number, nowUs: number): number;
  endRankStep?(g: number, endUs: number): void;
  /** Independent mode: route arrivals and apply timeouts due at nowUs (idempotent at one time). */
  process?(nowUs: number): void;
  rankStats(g: number): RankStats;
}

export type { Sync } from '../../config/schema.ts';
