/**
 * Fires callbacks at wall-clock deadlines (performance.now() milliseconds) with sub-millisecond
 * error: setTimeout sleeps until `spinMs` before the deadline (its own lateness is about a
 * millisecond: libuv timers have millisecond resolution), then a setImmediate loop closes in.
 * Each setImmediate turn lets the event loop run its I/O, so HTTP requests keep being served;
 * between turns the thread naps in short Atomics.wait slices (a futex wait, ~0.1 ms precise)
 * instead of burning the CPU, and polls the clock only for the last NAP_GUARD_MS.
 *
 * Deadlines are absolute, so lateness never accumulates from one step to the next.
 */
export interface TimerHandle {
  deadline: number;
  fn: () => void;
  cancelled: boolean;
}

/** Longest nap between event-loop turns while closing in (ms): bounds added I/O latency. */
const NAP_MS = 0.25;
/** Stop napping this close to a deadline and poll (ms): covers the futex wake-up slack. */
const NAP_GUARD_MS = 0.15;
const napCell = new Int32Array(new SharedArrayBuffer(4));

export class PreciseTimer {
  private readonly pending: TimerHandle[] = [];
  private sleeping: NodeJS.Timeout | undefined;
  private sleepingUntil = Infinity;
  private spinning = false;
  private closed = false;

  constructor(
    private readonly spinMs = 2,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Call fn at wall time `deadline` (ms on the performance clock). */
  at(deadline: number, fn: () => void): TimerHandle {
    const h: TimerHandle = { deadline, fn, cancelled: false };
    if (this.closed) return h;
    this.pending.push(h);
    this.arm();
    return h;
  }

  cancel(h: TimerHandle): void {
    h.cancelled = true;
  }

  close(): void {
    this.closed = true;
    this.pending.length = 0;
    if (this.sleeping) clearTimeout(this.sleeping);
    this.sleeping = undefined;
  }

  private earliest(): number {
    let d = Infinity;
    for (const h of this.pending) if (!h.cancelled && h.deadline < d) d = h.deadline;
    return d;
  }

  private arm(): void {
    if (this.spinning || this.closed) return;
    const d = this.earliest();
    if (d === Infinity) return;
    const wait = d - this.now() - this.spinMs;
    if (wait <= 0) {
      if (this.sleeping) clearTimeout(this.sleeping);
      this.sleeping = undefined;
      this.sleepingUntil = Infinity;
      this.spinning = true;
      setImmediate(this.spin);
      return;
    }
    if (this.sleeping && this.sleepingUntil <= d) return;
    if (this.sleeping) clearTimeout(this.sleeping);
    this.sleepingUntil = d;
    this.sleeping = setTimeout(this.wake, wait);
  }

  private readonly wake = (): void => {
    this.sleeping = undefined;
    this.sleepingUntil = Infinity;
    this.arm();
  };

  private readonly spin = (): void => {
    if (this.closed) return;
    const t = this.now();
    // Fire everything due, earliest first; callbacks may schedule more.
    for (;;) {
      let best = -1;
      for (let i = 0; i < this.pending.length; i++) {
        const h = this.pending[i];
        if (h.cancelled) continue;
        if (h.deadline <= t && (best < 0 || h.deadline < this.pending[best].deadline)) best = i;
      }
      if (best < 0) break;
      const h = this.pending[best];
      this.pending.splice(best, 1);
      h.fn();
      if (this.closed) return;
    }
    for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i].cancelled) this.pending.splice(i, 1);
    this.spinning = false;
    const d = this.earliest();
    if (d === Infinity) return;
    const left = d - this.now();
    if (left <= this.spinMs) {
      if (left > NAP_GUARD_MS) Atomics.wait(napCell, 0, 0, Math.min(NAP_MS, left - NAP_GUARD_MS));
      this.spinning = true;
      setImmediate(this.spin);
    } else {
      this.arm();
    }
  };
}
