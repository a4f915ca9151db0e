// Wave admission (`gateway --admission wave`, docs/gateway.md "Wave admission"): new requests are
// held and released together, at most one per rank per wave, so that the ranks of a DP+EP
// deployment get their new prefills at the same step boundary instead of one rank prefilling
// while the others only decode and wait at the barrier. No change to vLLM is needed: a released
// request is pinned with X-data-parallel-rank as usual.
//
// The rule (the simulator's `dispatch: wave` is the same rule, src/engine/core/wave.ts):
// - a request is held from its arrival (the moment the gateway received it) once its body is read;
// - a wave is released when G requests are held (G = ranks healthy now, at least 1), or when
//   the oldest held request has waited `waveTimeoutMs` since its arrival (a partial wave: all held);
// - the released requests are routed in arrival order, each to the router's choice among the
//   healthy ranks not yet given a request in this wave;
// - a client that disconnects while held is removed (its request is never sent);
// - on shutdown every held request is released at once, as a last partial wave.
import type { Counter } from 'prom-client';

/** What the wave needs of a held request (the RequestHandler). */
export interface WaveMember {
  /** performance.now() at arrival. */
  readonly t0: number;
  /**
   * Route among the healthy ranks not marked in `taken`; mark the chosen one. False: no such
   * rank (the member answers 503 itself). `wave` is the wave's number, `heldMs` its hold time.
   */
  releaseInWave(taken: Uint8Array, wave: number, heldMs: number): boolean;
}

export type WaveTrigger = 'full' | 'timeout' | 'drain';

export class WaveAdmission {
  private held: WaveMember[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerFor: WaveMember | undefined;
  private readonly taken: Uint8Array;
  private seq = 0;

  constructor(
    /** Ranks in the gateway's topology. */
    private readonly R: number,
    readonly timeoutMs: number,
    /** Ranks healthy now: the size of a full wave. */
    private readonly healthy: () => number,
    private readonly waves: Counter<'trigger'>,
  ) {
    this.taken = new Uint8Array(R);
  }

  /** Requests held now (the gauge balanceroute_gateway_wave_held_requests). */
  get size(): number {
    return this.held.length;
  }

  /** Hold a request until its wave is released (which may be now, if it completes a wave). */
  hold(m: WaveMember): void {
    this.held.push(m);
    this.releaseFull();
    this.arm();
  }

  /** The member's client went away while held: it is no longer part of any wave. */
  remove(m: WaveMember): void {
    const i = this.held.indexOf(m);
    if (i < 0) return;
    this.held.splice(i, 1);
    // A smaller rank count may now be met (a rank went down meanwhile); the oldest may change.
    this.releaseFull();
    this.arm();
  }

  /** Release everything held (shutdown): one last partial wave (or several, G at a time). */
  drain(): void {
    this.clearTimer();
    while (this.held.length > 0) this.release(this.held.length, 'drain');
  }

  /** Full waves while G requests are held. */
  private releaseFull(): void {
    for (let G = this.waveSize(); this.held.length >= G; G = this.waveSize()) this.release(G, 'full');
  }

  private waveSize(): number {
    return Math.max(1, Math.min(this.R, this.healthy()));
  }

  /** Release the n oldest held requests as one wave (at most G of them on distinct ranks). */
  private release(n: number, trigger: WaveTrigger): void {
    const members = this.held.splice(0, Math.min(n, this.waveSize(), this.held.length));
    this.taken.fill(0);
    const wave = this.seq++;
    this.waves.inc({ trigger });
    const now = performance.now();
    for (const m of members) m.releaseInWave(this.taken, wave, now - m.t0);
  }

  /** Keep one timer, for the oldest held request's deadline. */
  private arm(): void {
    const oldest = this.held[0];
    if (oldest === undefined) return this.clearTimer();
    if (this.timerFor === oldest) return;
    this.clearTimer();
    this.timerFor = oldest;
    const wait = Math.max(0, oldest.t0 + this.timeoutMs - performance.now());
    this.timer = setTimeout(() => this.onTimeout(), wait);
  }

  private onTimeout(): void {
    this.timer = undefined;
    this.timerFor = undefined;
    const now = performance.now();
    // The wave is everything held that arrived by the oldest's deadline (held in arrival order).
    const deadline = (this.held[0]?.t0 ?? now) + this.timeoutMs;
    let n = 0;
    while (n < this.held.length && this.held[n].t0 <= deadline) n++;
    if (n > 0) this.release(n, 'timeout');
    this.releaseFull();
    this.arm();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerFor = undefined;
  }
}
