/**
 * Event-driven core (docs/model.md §7.1): each rank's decoding requests kept as aggregates.
 *
 * At saturation almost every running request is decoding, and a decoding request's step is
 * always the same: one token scheduled, one KV token read per token of context, one output token
 * emitted, a new KV block when its context sits on a block boundary. So per rank the core keeps a
 * set D of decoding requests — always a prefix of the rank's running list (admission order) —
 * whose per-request `computed` / `generated` / `blocks` are not written each step: they advance
 * with the rank's decode counter `adv[g]` (a member holds `computed[r] + adv[g] - advAt[r]`
 * tokens). A step of the rank then costs O(1) for D plus the events it contains:
 *
 * - decode count, KV tokens read (the sum of D's contexts) and the longest context: aggregates
 *   (the longest from a max-heap, kept only when the model has a skew term);
 * - KV blocks needed: D's members by context mod block size, so the members on a boundary are
 *   one bucket read;
 * - completions: a min-heap per rank keyed by the decode step at which each member emits its
 *   last token (ties in running-list order);
 * - the rest of the running list (prefill chunks, requests behind one) is walked as before;
 * - a completed member leaves a hole (-1) in the list instead of shifting the rest; holes are
 *   removed in one pass once they exceed B/2 (the lists have a stride of 2B) or the members, and
 *   before a fallback.
 *
 * A rank falls back to the per-request path for a step (its members written out, D emptied, and
 * D rebuilt from its running list afterwards) whenever D's step is not uniform: not enough free
 * KV blocks for D's boundary crossings (preemption possible), D larger than the token budget, or
 * a member that times out. Results are byte-identical to the per-request path
 * (test/engine/differential.test.ts, test/engine/decodeSet.test.ts).
 */
import { COMPLETES, type StepEffects, addEffect } from './stepEffects.ts';
import type { CoreState } from './state.ts';

export class DecodeSet {
  readonly G: number;
  readonly B: number;
  readonly BS: number;
  /** Members of rank g: the first nD[g] requests of its running list (holes aside). */
  readonly nD: Int32Array;
  /** Decode steps taken by rank g's members (the clock their lazy state runs on). */
  readonly adv: Int32Array;
  /** Sum of the members' contexts (KV tokens) of rank g. */
  readonly sumC: Float64Array;
  /** Members of rank g by (computed − advAt) mod BS: those on a block boundary at step a are bucket (−a) mod BS. */
  readonly phase: Int32Array;
  private readonly heap: Int32Array; // per rank, B entries: min-heap by (due, list position)
  private readonly hN: Int32Array;
  private readonly mx: Int32Array; // per rank, 2B entries: max-heap by context at adv = 0, lazy deletion
  private readonly mN: Int32Array;
  /** Track the longest member context (only a model with a skew term reads it). */
  readonly trackMax: boolean;
  /** After a fallback, steps to wait before rebuilding D (doubling while fallbacks recur). */
  private readonly hold: Int32Array;
  private readonly backoff: Int32Array;
  /** Fallback steps and rank steps whose decoding prefix went through the aggregates (diagnostics for tests). */
  fallbacks = 0;
  aggregatedSteps = 0;

  // Per request, 8 bytes. A member's context at adv = 0 is computed[r] − advAt[r] (writing it
  // out moves both alike). The rank decode step (value of adv before it) whose token is its last
  // is derived, not stored: output − 1 − generated + advAt (writing out keeps it too).
  cap = 0;
  private advAt = new Int32Array(0);
  /**
   * Position of member r in its rank's running list, -1 for a request that is not a member:
   * compactions keep the order, so it also breaks the heap's ties.
   */
  private dpos = new Int32Array(0);
  /** The core state whose output and generated counts the completion keys are derived from. */
  private readonly st: CoreState;

  constructor(st: CoreState, B: number, BS: number, trackMax: boolean, capacity: number) {
    const G = st.G;
    this.st = st;
    this.G = G;
    this.B = B;
    this.BS = BS;
    this.trackMax = trackMax;
    this.nD = new Int32Array(G);
    this.adv = new Int32Array(G);
    this.sumC = new Float64Array(G);
    this.phase = new Int32Array(G * BS);
    this.heap = new Int32Array(G * B);
    this.hN = new Int32Array(G);
    this.mx = new Int32Array(trackMax ? G * 2 * B : 0);
    this.mN = new Int32Array(G);
    this.hold = new Int32Array(G);
    this.backoff = new Int32Array(G);
    this.grow(capacity);
  }

  grow(cap: number): void {
    if (cap <= this.cap) return;
    const advAt = new Int32Array(cap);
    advAt.set(this.advAt);
    this.advAt = advAt;
    const dpos = new Int32Array(cap);
    dpos.set(this.dpos);
    dpos.fill(-1, this.cap);
    this.dpos = dpos;
    this.cap = cap;
  }

  /** Request r is a member (its computed / generated are lazy: read them with computedOf / generatedOf). */
  isMember(r: number): boolean {
    return this.dpos[r] >= 0;
  }


  /** Tokens whose KV is resident for member r of rank g. */
  computedOf(st: CoreState, g: number, r: number): number {
    return this.dpos[r] >= 0 ? st.computed[r] + this.adv[g] - this.advAt[r] : st.computed[r];
  }

  /** Output tokens emitted so far by running request r of rank g. */
  generatedOf(st: CoreState, g: number, r: number): number {
    return this.dpos[r] >= 0 ? st.generated[r] + this.adv[g] - this.advAt[r] : st.generated[r];
  }

  /** Blocks rank g's members need for the next decode step (those whose context is on a block boundary). */
  blocksNeeded(g: number): number {
    const BS = this.BS;
    return this.phase[g * BS + ((BS - (this.adv[g] % BS)) % BS)];
  }

  /** Longest member context of rank g (0 without members or when not tracked). */
  maxContext(st: CoreState, g: number): number {
    const n0 = this.mN[g];
    if (n0 === 0) return 0;
    const mx = this.mx;
    const off = g * 2 * this.B;
    const dpos = this.dpos;
    let n = n0;
    while (n > 0 && dpos[mx[off]] < 0) {
      // Lazy deletion: members leave only by completing (their key stays as it was).
      n--;
      mx[off] = mx[off + n];
      this.siftDownMax(st, off, n, 0);
    }
    this.mN[g] = n;
    if (n === 0) return 0;
    const r = mx[off];
    return st.computed[r] - this.advAt[r] + this.adv[g];
  }

  /**
   * Rank g's members' step: record the completions due at this step (in running-list order) as
   * effects, then advance the decode clock by one.
   */
  step(g: number, fx: StepEffects): void {
    const a = this.adv[g];
    const off = g * this.B;
    const heap = this.heap;
    let n = this.hN[g];
    if (n === 0) {
      this.adv[g] = a + 1;
      this.sumC[g] += this.nD[g];
      return;
    }
    const { output, generated } = this.st;
    const advAt = this.advAt;
    // The top's key, due = output − 1 − generated + advAt, against a (one add instead of a call).
    while (n > 0) {
      const r = heap[off];
      const due = output[r] - 1 - generated[r] + advAt[r];
      if (due > a) break;
      if (due !== a) throw new Error(`decode set: request ${r} completion at decode step ${due} missed (now ${a})`);
      addEffect(fx, r, g, 0, COMPLETES);
      n--;
      heap[off] = heap[off + n];
      this.siftDownMin(off, n, 0);
    }
    this.hN[g] = n;
    this.adv[g] = a + 1;
    this.sumC[g] += this.nD[g];
  }

  /**
   * Advance rank g's members by j decode steps (a decode fast-forward; none completes in it):
   * returns the KV blocks they take.
   */
  advance(st: CoreState, g: number, j: number): number {
    const BS = this.BS;
    const a = this.adv[g];
    let blocks = 0;
    const span = this.nD[g] + st.holes[g];
    if (span < BS) {
      // Few members (light load): one by one is cheaper than the BS buckets.
      const run = st.run;
      const base = g * st.RS;
      for (let i = 0; i < span; i++) {
        const r = run[base + i];
        if (r < 0) continue;
        const c = st.computed[r] + a - this.advAt[r];
        blocks += Math.ceil((c + j) / BS) - Math.ceil(c / BS);
      }
    } else {
      for (let b = 0; b < BS; b++) {
        const cnt = this.phase[g * BS + b];
        if (cnt === 0) continue;
        const cm = (b + a) % BS; // context mod BS now
        blocks += cnt * (Math.ceil((cm + j) / BS) - (cm > 0 ? 1 : 0));
      }
    }
    this.adv[g] = a + j;
    this.sumC[g] += j * this.nD[g];
    return blocks;
  }

  /**
   * The decode fast-forward's bounds for rank g's members, with the state `shift` steps ahead:
   * the fewest tokens left after the next one (Infinity without members), and, for growth by k
   * tokens, the extra blocks and the smallest room left in held blocks (out[0], out[1]).
   */
  minLeft(g: number, shift: number): number {
    if (this.hN[g] === 0) return Infinity;
    const r = this.heap[g * this.B];
    const st = this.st;
    return st.output[r] - 1 - st.generated[r] + this.advAt[r] - this.adv[g] + shift;
  }

  growthBlocks(st: CoreState, g: number, shift: number, k: number, out: Float64Array): void {
    const BS = this.BS;
    const a = this.adv[g];
    let extra = 0;
    let room = Infinity;
    const span = this.nD[g] + st.holes[g];
    if (span < BS) {
      // Few members: one by one (EngineCore.eventFreeSteps's rule, blocks = ceil(context / BS)).
      const run = st.run;
      const base = g * st.RS;
      for (let i = 0; i < span; i++) {
        const r = run[base + i];
        if (r < 0) continue;
        const cur = st.computed[r] + a - this.advAt[r];
        const held = Math.ceil(cur / BS);
        const c = cur - shift;
        extra += Math.ceil((c + k) / BS) - held;
        const rm = BS * held - c;
        if (rm < room) room = rm;
      }
      out[0] = extra;
      out[1] = room;
      return;
    }
    for (let b = 0; b < BS; b++) {
      const cnt = this.phase[g * BS + b];
      if (cnt === 0) continue;
      const cm = (b + a) % BS; // context mod BS, with blocks = ceil(context / BS)
      const held = cm > 0 ? 1 : 0;
      const c = cm - shift;
      extra += cnt * (Math.ceil((c + k) / BS) - held);
      const rm = BS * held - c;
      if (rm < room) room = rm;
    }
    out[0] = extra;
    out[1] = room;
  }

  /** Write member r's state out (its rank is g). */
  private writeOut(st: CoreState, g: number, r: number): void {
    const d = this.adv[g] - this.advAt[r];
    if (d !== 0) {
      const c = st.computed[r] + d;
      st.computed[r] = c;
      st.generated[r] += d;
      st.blocks[r] = Math.ceil(c / this.BS);
      this.advAt[r] = this.adv[g];
    }
  }

  /** Member r of rank g completes (its effects are applied): write it out and take it out of the aggregates. */
  remove(st: CoreState, g: number, r: number): void {
    this.writeOut(st, g, r);
    this.nD[g]--;
    // Leaves a hole in the running list.
    st.run[g * st.RS + this.dpos[r]] = -1;
    this.dpos[r] = -1;
    st.holes[g]++;
    st.nRun[g]--;
    const BS = this.BS;
    const v = st.computed[r] - this.advAt[r];
    this.phase[g * BS + (((v % BS) + BS) % BS)]--;
    this.sumC[g] -= st.computed[r];
  }

  /** Write out every member of rank g and empty its set (the per-request path takes the step). */
  materialise(st: CoreState, g: number): void {
    const n = this.nD[g] + st.holes[g];
    if (n === 0) return;
    const run = st.run;
    const base = g * st.RS;
    for (let i = 0; i < n; i++) {
      const r = run[base + i];
      if (r < 0) continue;
      this.writeOut(st, g, r);
      this.dpos[r] = -1;
    }
    this.compact(st, g);
    this.nD[g] = 0;
    this.phase.fill(0, g * this.BS, (g + 1) * this.BS);
    this.sumC[g] = 0;
    this.hN[g] = 0;
    this.mN[g] = 0;
  }

  /** A fallback step on rank g: write out its members and wait before rebuilding. */
  fallback(st: CoreState, g: number): void {
    this.materialise(st, g);
    this.fallbacks++;
    const b = this.backoff[g] === 0 ? 1 : Math.min(this.backoff[g] * 2, 256);
    this.backoff[g] = b;
    this.hold[g] = b;
  }

  /** A step of rank g went through its members' aggregates. */
  fastStep(g: number): void {
    this.aggregatedSteps++;
    if (this.backoff[g] > 0) this.backoff[g] >>= 1;
  }

  /**
   * After rank g's step (its tokens applied): running requests right after the members that are
   * decoding (and do not complete now) join, so the set stays a prefix of the running list.
   */
  extend(st: CoreState, g: number): void {
    if (this.hold[g] > 0) {
      this.hold[g]--;
      return;
    }
    const { run, computed, generated, prompt, output } = st;
    const base = g * st.RS;
    const holes = st.holes[g];
    const end = st.nRun[g] + holes;
    let p = this.nD[g] + holes;
    while (p < end) {
      const r = run[base + p];
      const gen = generated[r];
      if (gen === 0 || gen >= output[r] || computed[r] !== prompt[r] + gen - 1) break;
      this.add(st, g, r, p);
      p++;
    }
    this.nD[g] = p - holes;
  }

  /** Remove the holes of rank g's running list (order kept). */
  compact(st: CoreState, g: number): void {
    const holes = st.holes[g];
    if (holes === 0) return;
    const run = st.run;
    const base = g * st.RS;
    const end = base + st.nRun[g] + holes;
    const dpos = this.dpos;
    let w = base;
    for (let i = base; i < end; i++) {
      const r = run[i];
      if (r < 0) continue;
      if (dpos[r] >= 0) dpos[r] = w - base;
      run[w++] = r;
    }
    st.holes[g] = 0;
  }

  private add(st: CoreState, g: number, r: number, pos: number): void {
    const a = this.adv[g];
    this.dpos[r] = pos;
    const c = st.computed[r];
    this.advAt[r] = a;
    const v = c - a;
    const BS = this.BS;
    this.phase[g * BS + (((v % BS) + BS) % BS)]++;
    this.sumC[g] += c;
    const off = g * this.B;
    let i = this.hN[g]++;
    const heap = this.heap;
    const { output, generated } = st;
    const advAt = this.advAt;
    const dpos = this.dpos;
    // Sift up by (due, list position), due = output − 1 − generated + advAt (the −1 cancels).
    const dr = output[r] - generated[r] + a;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = heap[off + p];
      const dq = output[q] - generated[q] + advAt[q];
      if (!(dr < dq || (dr === dq && pos < dpos[q]))) break;
      heap[off + i] = q;
      i = p;
    }
    heap[off + i] = r;
    if (this.trackMax) this.pushMax(st, g, r);
  }

  private siftDownMin(off: number, n: number, i: number): void {
    const heap = this.heap;
    const { output, generated } = this.st;
    const advAt = this.advAt;
    const dpos = this.dpos;
    const r = heap[off + i];
    // Keys are (due, list position); due = output − 1 − generated + advAt (the −1 cancels).
    const dr = output[r] - generated[r] + advAt[r];
    const pr = dpos[r];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let q = heap[off + c];
      let dq = output[q] - generated[q] + advAt[q];
      if (c + 1 < n) {
        const q2 = heap[off + c + 1];
        const d2 = output[q2] - generated[q2] + advAt[q2];
        if (d2 < dq || (d2 === dq && dpos[q2] < dpos[q])) {
          c++;
          q = q2;
          dq = d2;
        }
      }
      if (!(dq < dr || (dq === dr && dpos[q] < pr))) break;
      heap[off + i] = q;
      i = c;
    }
    heap[off + i] = r;
  }

  private pushMax(st: CoreState, g: number, r: number): void {
    const cap = 2 * this.B;
    const off = g * cap;
    const mx = this.mx;
    let n = this.mN[g];
    if (n === cap) {
      // Full of completed entries: keep the members and re-heapify.
      let w = 0;
      for (let i = 0; i < n; i++) if (this.dpos[mx[off + i]] >= 0) mx[off + w++] = mx[off + i];
      n = w;
      for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDownMax(st, off, n, i);
    }
    let i = n;
    const computed = st.computed;
    const advAt = this.advAt;
    const v = computed[r] - advAt[r];
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = mx[off + p];
      if (computed[q] - advAt[q] >= v) break;
      mx[off + i] = q;
      i = p;
    }
    mx[off + i] = r;
    this.mN[g] = n + 1;
  }

  private siftDownMax(st: CoreState, off: number, n: number, i: number): void {
    const mx = this.mx;
    const computed = st.computed;
    const advAt = this.advAt;
    const r = mx[off + i];
    const v = computed[r] - advAt[r];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const a = mx[off + c];
      if (c + 1 < n) {
        const b = mx[off + c + 1];
        if (computed[b] - advAt[b] > computed[a] - advAt[a]) c++;
      }
      const q = mx[off + c];
      if (computed[q] - advAt[q] <= v) break;
      mx[off + i] = mx[off + c];
      i = c;
    }
    mx[off + i] = r;
  }
}
