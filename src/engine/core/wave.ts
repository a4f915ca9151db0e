/**
 * Wave dispatch (`dispatch: wave`, docs/model.md §4): the simulator's model of `gateway
 * --admission wave`. Arriving requests are held in arrival order. A wave is the held requests
 * from the oldest one on: it closes when it has G members (at the G-th member's arrival) or when
 * its oldest member has waited `wave_timeout_ms` (at that deadline, with the members that arrived
 * by then). Which requests form which wave, and when each wave closes, depends only on the
 * arrival times; the core routes a closed wave's members, in arrival order, each to the router's
 * choice among the ranks not yet given one in this wave (src/routers/subView.ts).
 *
 * Requests that left while held (client timeout, abort) are skipped: they are no longer
 * members, as the gateway drops a held request whose client disconnects.
 */
export class WaveBuffer {
  private q = new Int32Array(64);
  private head = 0;
  private tail = 0;
  /** Release time of the wave `next` returned last, µs. */
  releaseUs = 0;
  /** Waves released, and how many of them closed at the timeout with fewer than G members. */
  waves = 0;
  partialWaves = 0;

  constructor(
    readonly G: number,
    /** wave_timeout_ms in µs (>= 0). */
    readonly timeoutUs: number,
  ) {}

  hold(r: number): void {
    if (this.tail === this.q.length) {
      if (this.head > 0) {
        this.q.copyWithin(0, this.head, this.tail);
        this.tail -= this.head;
        this.head = 0;
      } else {
        const n = new Int32Array(this.q.length * 2);
        n.set(this.q);
        this.q = n;
      }
    }
    this.q[this.tail++] = r;
  }

  /**
   * The next wave that has closed by `now`: its members go to `out` (arrival order) and the
   * count is returned, with its close time in `releaseUs`; 0 when no wave has closed. `held(r)`
   * says whether request r is still held (not timed out or aborted).
   */
  next(now: number, arrival: ArrayLike<number>, held: (r: number) => boolean, out: Int32Array): number {
    const q = this.q;
    while (this.head < this.tail && !held(q[this.head])) this.head++;
    if (this.head === this.tail) return 0;
    const deadline = arrival[q[this.head]] + this.timeoutUs;
    let n = 0;
    let k = this.head;
    for (; k < this.tail && n < this.G; k++) {
      const r = q[k];
      if (arrival[r] > deadline) break;
      if (held(r)) out[n++] = r;
    }
    if (n === this.G) this.releaseUs = arrival[out[n - 1]];
    else if (deadline <= now) {
      this.releaseUs = deadline;
      this.partialWaves++;
    } else return 0;
    this.head = k;
    this.waves++;
    return n;
  }

  /** Close time of the wave being formed if it closes at its timeout (µs), or -1 when nothing is held. */
  deadline(arrival: ArrayLike<number>, held: (r: number) => boolean): number {
    while (this.head < this.tail && !held(this.q[this.head])) this.head++;
    return this.head === this.tail ? -1 : arrival[this.q[this.head]] + this.timeoutUs;
  }

  /** Requests in the buffer (some may have left; `deadline` and `next` skip them). */
  get size(): number {
    return this.tail - this.head;
  }
}
