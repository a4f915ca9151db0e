/**
 * State of the engine core as structure-of-arrays: per-request arrays (grown by doubling when
 * requests are submitted), per-rank arrays (fixed size G), and the operations on the per-rank
 * waiting queues and running lists that the scheduler, the router view and the core share.
 * Nothing here allocates except `grow`.
 */

import { RequestStatus } from '../../metrics/requestStatus.ts';

// Request status codes (one table: metrics/requestStatus.ts), as short names for the core.
export const FUTURE = RequestStatus.FUTURE;
export const QUEUED = RequestStatus.QUEUED;
export const WAITING = RequestStatus.WAITING;
export const RUNNING = RequestStatus.RUNNING;
export const DONE = RequestStatus.COMPLETED;
export const FAILED = RequestStatus.FAILED;

export class CoreState {
  readonly G: number;
  /** max_num_seqs per rank. */
  readonly B: number;
  /** max_num_batched_tokens per rank per step. */
  readonly M: number;
  /** KV block size in tokens. */
  readonly BS: number;
  readonly totalBlocks: number;

  /** Requests submitted so far (ids 0 .. n-1) and the length of the per-request arrays. */
  n = 0;
  cap = 0;
  // Per-request state.
  arrival = new Float64Array(0);
  prompt = new Int32Array(0);
  output = new Int32Array(0);
  /**
   * Pinned rank (-1 = the router decides). Empty until the first pinned request is submitted
   * (`enablePins`): most runs pin nothing, and the 4 bytes per request are then not spent.
   */
  pin = new Int16Array(0);
  /** Some request may be pinned: `pin` is allocated (read `pin[r]` only when set). */
  pins = false;
  status = new Uint8Array(0);
  /** Rank of each request (-1 before routing); 16 bits hold MAX_DP (4,096) ranks. */
  rankOf = new Int16Array(0);
  computed = new Int32Array(0); // tokens whose KV is resident
  generated = new Int32Array(0); // output tokens emitted
  blocks = new Int32Array(0); // KV blocks held
  sched = new Int32Array(0); // tokens scheduled in the current step
  firstUs = new Float64Array(0);
  admitUs = new Float64Array(0);
  /** Boundary at which the request joined a rank's waiting queue (vLLM queued_ts), -1 before. */
  queuedUs = new Float64Array(0);
  /** Time of the decision that first scheduled it (vLLM scheduled_ts), -1 before. */
  schedUs = new Float64Array(0);
  /** Async scheduling: the request is hidden from its rank's scheduling pass number hiddenSeq (0 = never). */
  hiddenSeq = new Int32Array(0);
  endUs = new Float64Array(0);
  wNext = new Int32Array(0); // waiting-queue links
  wPrev = new Int32Array(0);
  /**
   * The router's global queue (per_step dispatch): the requests queued now, at most as many as
   * are waiting for a boundary at once, so it grows with the queue, not with the run.
   */
  gq = new Int32Array(0);

  // Per-rank state.
  readonly wHead: Int32Array;
  readonly wTail: Int32Array;
  readonly nWaiting: Int32Array;
  /**
   * Running requests of rank g in admission order: run[g*RS .. g*RS + nRun[g] + holes[g]), where
   * holes (-1 entries, left by completions in the event core's decoding prefix and removed in
   * batches; decodeSet.ts) are 0 without the event core.
   */
  readonly run: Int32Array;
  readonly nRun: Int32Array;
  /** Stride of the per-rank running lists: B, or 2B with the event core (room for its holes). */
  readonly RS: number;
  readonly holes: Int32Array;
  readonly freeBlocks: Int32Array;
  readonly kvTok: Float64Array; // sum of `computed` over running requests
  readonly queuedTok: Float64Array; // tokens still to prefill of waiting requests
  readonly inflight: Float64Array; // unfinished requests routed to the rank
  readonly preemptionsOf: Float64Array;
  readonly promptTokOf: Float64Array; // prefill tokens computed (recomputation included)
  readonly genTokOf: Float64Array; // output tokens emitted

  // Async scheduling (docs/model.md §3): per rank, the number of scheduling passes so far, the
  // last pass a request placed on it is hidden from, and the frees that count as held: those
  // recorded during pass pendSeqCur (cur) and during the pass before it (prev). Frees recorded
  // during pass s are released at the start of pass s + 2.
  readonly async: boolean;
  readonly schedSeq: Int32Array;
  readonly hidUntil: Int32Array;
  readonly pendSeqCur: Int32Array;
  readonly pendBlocksCur: Int32Array;
  readonly pendSlotsCur: Int32Array;
  readonly pendBlocksPrev: Int32Array;
  readonly pendSlotsPrev: Int32Array;
  /** Slots of completed or aborted requests still held (async): admission needs nRun + this < B. */
  readonly pendSlots: Int32Array;
  /** Time of the decision behind rank g's current pass (scheduled_us of what it admits). */
  readonly decisionUs: Float64Array;

  preemptions = 0;
  /** Called when a request is preempted (set by the core from its events). */
  onPreempt: ((id: number, rank: number, tUs: number) => void) | undefined = undefined;
  /** Called when a request is first scheduled, with its scheduled_us (set by the core from its events). */
  onScheduled: ((id: number, rank: number, tUs: number) => void) | undefined = undefined;

  constructor(G: number, B: number, M: number, BS: number, totalBlocks: number, capacity: number, async = false, runStride = B) {
    if (G > 32767) throw new RangeError(`CoreState: ${G} ranks do not fit the 16-bit rank arrays`);
    this.async = async;
    this.RS = runStride;
    this.holes = new Int32Array(G);
    this.schedSeq = new Int32Array(G);
    this.hidUntil = new Int32Array(G);
    this.pendSeqCur = new Int32Array(G);
    this.pendBlocksCur = new Int32Array(G);
    this.pendSlotsCur = new Int32Array(G);
    this.pendBlocksPrev = new Int32Array(G);
    this.pendSlotsPrev = new Int32Array(G);
    this.pendSlots = new Int32Array(G);
    this.decisionUs = new Float64Array(G);
    this.G = G;
    this.B = B;
    this.M = M;
    this.BS = BS;
    this.totalBlocks = totalBlocks;
    this.wHead = new Int32Array(G).fill(-1);
    this.wTail = new Int32Array(G).fill(-1);
    this.nWaiting = new Int32Array(G);
    this.run = new Int32Array(G * runStride);
    this.nRun = new Int32Array(G);
    this.freeBlocks = new Int32Array(G).fill(totalBlocks);
    this.kvTok = new Float64Array(G);
    this.queuedTok = new Float64Array(G);
    this.inflight = new Float64Array(G);
    this.preemptionsOf = new Float64Array(G);
    this.promptTokOf = new Float64Array(G);
    this.genTokOf = new Float64Array(G);
    this.grow(Math.max(1, capacity));
  }

  /** Make room for at least `need` requests (doubling), keeping every value. */
  grow(need: number): void {
    if (need <= this.cap) return;
    let cap = Math.max(this.cap, 1);
    while (cap < need) cap *= 2;
    const old = this.cap;
    const f64 = (a: Float64Array, fill?: number) => {
      const b = new Float64Array(cap);
      b.set(a);
      if (fill !== undefined) b.fill(fill, old);
      return b;
    };
    const i32 = (a: Int32Array, fill?: number) => {
      const b = new Int32Array(cap);
      b.set(a);
      if (fill !== undefined) b.fill(fill, old);
      return b;
    };
    this.arrival = f64(this.arrival);
    this.prompt = i32(this.prompt);
    this.output = i32(this.output);
    const i16 = (a: Int16Array) => {
      const b = new Int16Array(cap);
      b.set(a);
      b.fill(-1, old);
      return b;
    };
    if (this.pins) this.pin = i16(this.pin);
    const st = new Uint8Array(cap);
    st.set(this.status);
    this.status = st;
    this.rankOf = i16(this.rankOf);
    this.computed = i32(this.computed);
    this.generated = i32(this.generated);
    this.blocks = i32(this.blocks);
    this.sched = i32(this.sched);
    this.firstUs = f64(this.firstUs, -1);
    this.admitUs = f64(this.admitUs, -1);
    this.queuedUs = f64(this.queuedUs, -1);
    this.schedUs = f64(this.schedUs, -1);
    this.hiddenSeq = i32(this.hiddenSeq);
    this.endUs = f64(this.endUs, -1);
    this.wNext = i32(this.wNext, -1);
    this.wPrev = i32(this.wPrev, -1);
    this.cap = cap;
  }

  /** Double the global queue's room (per_step dispatch), keeping its entries. */
  growGlobalQueue(): void {
    const b = new Int32Array(Math.max(64, 2 * this.gq.length));
    b.set(this.gq);
    this.gq = b;
  }

  /** Allocate `pin` (every request so far unpinned) before the first pinned request is stored. */
  enablePins(): void {
    if (this.pins) return;
    this.pin = new Int16Array(this.cap).fill(-1);
    this.pins = true;
  }

  pushWaitingTail(g: number, r: number): void {
    const { wPrev, wNext, wTail } = this;
    wPrev[r] = wTail[g];
    wNext[r] = -1;
    if (wTail[g] >= 0) wNext[wTail[g]] = r;
    else this.wHead[g] = r;
    wTail[g] = r;
    this.nWaiting[g]++;
    this.queuedTok[g] += this.prompt[r] + this.generated[r] - this.computed[r];
  }

  pushWaitingHead(g: number, r: number): void {
    const { wPrev, wNext, wHead } = this;
    wNext[r] = wHead[g];
    wPrev[r] = -1;
    if (wHead[g] >= 0) wPrev[wHead[g]] = r;
    else this.wTail[g] = r;
    wHead[g] = r;
    this.nWaiting[g]++;
    this.queuedTok[g] += this.prompt[r] + this.generated[r] - this.computed[r];
  }

  unlinkWaiting(g: number, r: number): void {
    const { wPrev, wNext } = this;
    const p = wPrev[r];
    const q = wNext[r];
    if (p >= 0) wNext[p] = q;
    else this.wHead[g] = q;
    if (q >= 0) wPrev[q] = p;
    else this.wTail[g] = p;
    wNext[r] = wPrev[r] = -1;
    this.nWaiting[g]--;
    this.queuedTok[g] -= this.prompt[r] + this.generated[r] - this.computed[r];
  }

  releaseBlocks(g: number, r: number): void {
    this.freeBlocks[g] += this.blocks[r];
    this.blocks[r] = 0;
  }

  /**
   * Blocks and slot of request r, which left rank g's running list (completion or abort): free
   * at once with synchronous scheduling; with async scheduling held for the rank's next pass and
   * free from the one after (docs/model.md §3, rule 2).
   */
  releaseFinished(g: number, r: number): void {
    if (!this.async) {
      this.releaseBlocks(g, r);
      return;
    }
    const seq = this.schedSeq[g];
    if (this.pendSeqCur[g] !== seq) {
      // Older frees were released at the start of this pass (recorded at seq - 2 or before).
      this.pendBlocksPrev[g] = this.pendBlocksCur[g];
      this.pendSlotsPrev[g] = this.pendSlotsCur[g];
      this.pendBlocksCur[g] = 0;
      this.pendSlotsCur[g] = 0;
      this.pendSeqCur[g] = seq;
    }
    this.pendBlocksCur[g] += this.blocks[r];
    this.pendSlotsCur[g]++;
    this.pendSlots[g]++;
    this.blocks[r] = 0;
  }

  /** Start scheduling pass number schedSeq[g] + 1 of rank g: release the frees now due; returns the pass number. */
  beginPass(g: number): number {
    const seq = ++this.schedSeq[g];
    if (this.pendSlots[g] > 0) {
      if (this.pendSeqCur[g] <= seq - 2) this.releasePending(g);
      else if (this.pendSlotsPrev[g] > 0) {
        // cur was recorded during pass seq - 1 (still held); prev during an earlier one.
        this.freeBlocks[g] += this.pendBlocksPrev[g];
        this.pendSlots[g] -= this.pendSlotsPrev[g];
        this.pendBlocksPrev[g] = 0;
        this.pendSlotsPrev[g] = 0;
      }
    }
    return seq;
  }

  /**
   * Slots and blocks of rank g still held when its next pass starts (async scheduling): what that
   * pass will see after beginPass releases the frees then due (ADP Balance classifies ranks by it).
   */
  heldAtNextPass(g: number): { slots: number; blocks: number } {
    if (this.pendSlots[g] === 0) return { slots: 0, blocks: 0 };
    const seq = this.schedSeq[g] + 1;
    if (this.pendSeqCur[g] <= seq - 2) return { slots: 0, blocks: 0 };
    return { slots: this.pendSlots[g] - this.pendSlotsPrev[g], blocks: this.pendBlocksCur[g] };
  }

  /** Release every held free of rank g now (an idle rank does not wait a step for nothing). */
  releasePending(g: number): void {
    this.freeBlocks[g] += this.pendBlocksCur[g] + this.pendBlocksPrev[g];
    this.pendBlocksCur[g] = this.pendBlocksPrev[g] = 0;
    this.pendSlotsCur[g] = this.pendSlotsPrev[g] = 0;
    this.pendSlots[g] = 0;
  }

  /** Rank g holds frees or has requests hidden from its current pass (async scheduling). */
  lagging(g: number): boolean {
    return this.pendSlots[g] > 0 || (this.hidUntil[g] >= this.schedSeq[g] && this.nWaiting[g] > 0);
  }

  /** KV blocks of rank g freed by finished requests but still held (async scheduling). */
  pendingBlocks(g: number): number {
    return this.pendBlocksCur[g] + this.pendBlocksPrev[g];
  }

  /** KV blocks of rank g held by requests or by frees not yet released. */
  usedBlocks(g: number): number {
    return this.totalBlocks - this.freeBlocks[g];
  }

  /** Remove the running request at position i of rank g (order of the rest is kept). */
  removeRunningAt(g: number, i: number): void {
    const run = this.run;
    const base = g * this.RS;
    const last = base + this.nRun[g] - 1;
    for (let k = base + i; k < last; k++) run[k] = run[k + 1];
    this.nRun[g]--;
  }

  /** Remove running request r from rank g's list. */
  removeRunning(g: number, r: number): void {
    const base = g * this.RS;
    for (let i = 0; i < this.nRun[g]; i++) {
      if (this.run[base + i] === r) {
        this.removeRunningAt(g, i);
        return;
      }
    }
  }

  /** True when rank g has neither running nor waiting requests. */
  rankEmpty(g: number): boolean {
    return this.nRun[g] === 0 && this.nWaiting[g] === 0;
  }
}
