/**
 * A throwaway stand-in for the engine core, for HTTP-layer tests only: fixed step time, one
 * prefill step then one token per step, round-robin routing unless pinned, KV = 1 block per 16
 * tokens. It is NOT the simulator's scheduler; the emulator runs src/engine/core.
 */
import type { CoreEvents, CoreRequest, RankStats, SteppableCore } from '../../src/serve/emulate/coreApi.ts';

export class FakeCore implements SteppableCore {
  readonly reqs: (CoreRequest & { pin: number | undefined; rank: number; emitted: number; state: 'future' | 'run' | 'done' })[] = [];
  private rr = 0;
  private next = 0;
  private readonly stats: RankStats[];
  constructor(
    readonly G: number,
    private readonly ev: CoreEvents,
    private readonly stepUs = 2000,
    private readonly blocks = 1000,
  ) {
    this.stats = Array.from({ length: G }, () => ({ running: 0, waiting: 0, kvBlocksUsed: 0, kvBlocksTotal: blocks, preemptions: 0, promptTokens: 0, generationTokens: 0 }));
  }
  submit(q: CoreRequest): number {
    this.reqs.push({ ...q, pin: q.rank, rank: -1, emitted: 0, state: 'future' });
    return this.reqs.length - 1;
  }
  abort(id: number, t: number): void {
    const r = this.reqs[id];
    if (r.state === 'done') return;
    if (r.state === 'run') this.leave(r);
    r.state = 'done';
    this.ev.onFinish?.(id, 'aborted', t);
  }
  private leave(r: FakeCore['reqs'][number]): void {
    const s = this.stats[r.rank];
    s.running--;
    s.kvBlocksUsed -= Math.ceil(r.promptTokens / 16); // the stand-in holds its prompt blocks only
  }
  beginStep(now: number): number {
    while (this.next < this.reqs.length && this.reqs[this.next].arrivalUs <= now) {
      const id = this.next++;
      const r = this.reqs[id];
      if (r.state === 'done') continue;
      r.rank = r.pin ?? this.rr++ % this.G;
      r.state = 'run';
      this.stats[r.rank].running++;
      this.stats[r.rank].kvBlocksUsed += Math.ceil(r.promptTokens / 16);
      this.stats[r.rank].promptTokens += r.promptTokens;
      this.ev.onRoute?.(id, r.rank, r.arrivalUs);
      this.ev.onQueued?.(id, r.rank, now);
      this.ev.onScheduled?.(id, r.rank, now);
    }
    return this.reqs.some((r) => r.state === 'run') ? this.stepUs : 0;
  }
  endStep(end: number): void {
    this.reqs.forEach((r, id) => {
      if (r.state !== 'run') return;
      r.emitted++;
      this.stats[r.rank].generationTokens++;
      this.ev.onToken?.(id, r.emitted, end);
      if (r.emitted === r.outputTokens) {
        this.leave(r);
        r.state = 'done';
        this.ev.onFinish?.(id, 'completed', end);
      }
    });
  }
  /** Independent mode: rank g's step takes stepUs * (g + 1). */
  beginRankStep(g: number, now: number): number {
    this.reqs.forEach((r, id) => {
      if (r.state !== 'future' || r.arrivalUs > now) return;
      const rank = r.pin ?? id % this.G;
      if (rank !== g) return;
      r.rank = g;
      r.state = 'run';
      this.stats[g].running++;
      this.stats[g].kvBlocksUsed += Math.ceil(r.promptTokens / 16);
      this.ev.onRoute?.(id, g, r.arrivalUs);
    });
    return this.reqs.some((r) => r.state === 'run' && r.rank === g) ? this.stepUs * (g + 1) : 0;
  }
  endRankStep(g: number, end: number): void {
    this.reqs.forEach((r, id) => {
      if (r.state !== 'run' || r.rank !== g) return;
      r.emitted++;
      this.ev.onToken?.(id, r.emitted, end);
      if (r.emitted === r.outputTokens) {
        this.leave(r);
        r.state = 'done';
        this.ev.onFinish?.(id, 'completed', end);
      }
    });
  }
  rankStats(g: number): RankStats {
    return this.stats[g];
  }
}

