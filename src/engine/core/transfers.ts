/**
 * Requests whose KV is on its way to their decode rank (prefill/decode disaggregation,
 * docs/pd.md): routed, not yet schedulable. Each has a transfer time set at submission; the
 * transfer starts when the router places the request and ends `transferUs` later, when the
 * request joins its rank's waiting queue. Kept sorted by end time (ties by request id), so the
 * core takes the finished ones off the front. Per rank, the router's snapshot counts them as
 * waiting (vLLM lists requests waiting for remote KV among its waiting requests), with their
 * prompt as queued tokens: the KV they bring.
 */
export class TransferQueue {
  /** Transfer time of each request, µs (-1: the request is not transferred). */
  private delay = new Float64Array(0);
  /** Transfers in flight: request ids and end times, sorted by (end, id). */
  private ids: number[] = [];
  private ends: number[] = [];
  private head = 0;
  /** End time of each request's transfer (-1 before it starts). */
  endUs = new Float64Array(0);
  /** Start time of each request's transfer (-1 before it starts). */
  startUs = new Float64Array(0);
  /** Per rank: transfers in flight, and their prompt tokens. */
  readonly count: Float64Array;
  readonly tokens: Float64Array;

  constructor(G: number) {
    this.count = new Float64Array(G);
    this.tokens = new Float64Array(G);
  }

  /** Request r will need `us` µs of transfer once routed. */
  set(r: number, us: number): void {
    if (r >= this.delay.length) {
      const cap = Math.max(16, 2 * (r + 1));
      const grow = (a: Float64Array) => {
        const b = new Float64Array(cap).fill(-1);
        b.set(a);
        return b;
      };
      this.delay = grow(this.delay);
      this.endUs = grow(this.endUs);
      this.startUs = grow(this.startUs);
    }
    this.delay[r] = us;
  }

  /** Whether request r goes through a transfer. */
  has(r: number): boolean {
    return r < this.delay.length && this.delay[r] >= 0;
  }

  /** Request r's transfer (of `tokens` prompt tokens) to rank g starts at t. */
  start(r: number, g: number, t: number, tokens: number): void {
    const end = t + this.delay[r];
    this.startUs[r] = t;
    this.endUs[r] = end;
    this.count[g]++;
    this.tokens[g] += tokens;
    // Insertion from the back: transfers mostly end in the order they start.
    let i = this.ids.length;
    this.ids.push(r);
    this.ends.push(end);
    while (i > this.head && (this.ends[i - 1] > end || (this.ends[i - 1] === end && this.ids[i - 1] > r))) {
      this.ids[i] = this.ids[i - 1];
      this.ends[i] = this.ends[i - 1];
      i--;
    }
    this.ids[i] = r;
    this.ends[i] = end;
  }

  /** Call fn with every request whose transfer is in flight. */
  forEachInFlight(fn: (r: number) => void): void {
    for (let i = this.head; i < this.ids.length; i++) fn(this.ids[i]);
  }

  /** End time of the earliest transfer in flight, or -1. */
  nextEndUs(): number {
    return this.head < this.ids.length ? this.ends[this.head] : -1;
  }

  /** Take the next transfer that has ended by `now`: its request id, or -1. */
  takeEnded(now: number): number {
    if (this.head >= this.ids.length || this.ends[this.head] > now) return -1;
    const r = this.ids[this.head++];
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.ends = this.ends.slice(this.head);
      this.head = 0;
    }
    return r;
  }
}
