/**
 * The real-time driver: runs the engine core's steps on the wall clock. The core keeps an
 * engine clock in modelled integer microseconds; engine time e happens at wall time
 * wall0 + e / 1000 / speed (ms). A step that begins at engine time t with modelled duration d
 * ends at exactly t + d in engine time, whenever the timer really fires, so every token time is
 * exact in engine time and the wall clock only carries the timer's jitter (measured per step).
 *
 * Arrivals take the engine time of the moment HTTP hands them over (never earlier than the
 * previous arrival, and always after the last step boundary the driver has acted on: an arrival
 * stamped on another thread may reach the driver after that boundary, and is then routed at the
 * next one, exactly as its recorded time says). As in the offline engine, a request that arrives during a step is routed
 * at the next step boundary; an idle deployment starts a step at the arrival itself. Aborts
 * (client went away) are applied at the next step boundary, when the core is between steps.
 *
 * sync 'barrier': one group step for all ranks (beginStep/endStep). sync 'independent': each
 * rank steps on its own (beginRankStep/endRankStep), in the offline engine's event order.
 */
import type { CoreEvents, CoreOutcome, CoreRequest, RankStats, SteppableCore, Sync } from './coreApi.ts';
import { PreciseTimer, type TimerHandle } from './preciseTimer.ts';

/** Per-request callbacks (the HTTP handler of that request). */
export interface RequestSink {
  onRoute?(rank: number, tUs: number): void;
  onToken(emitted: number, tUs: number): void;
  onFinish(outcome: CoreOutcome, tUs: number): void;
}

/** One submitted request, for the arrival log (offline replay, `--record`). */
export interface ArrivalRecord {
  id: number;
  arrivalUs: number;
  promptTokens: number;
  outputTokens: number;
  rank: number | undefined;
}

export interface DriverOptions {
  speed: number;
  sync: Sync;
  /** Keep an arrival log (ArrivalRecord per request). */
  record?: boolean;
  /** Extra observers of every core event (metrics). */
  observers?: CoreEvents;
  /** How long before a deadline the timer stops sleeping and polls (ms; default 2, measured in docs/emulate.md). */
  spinMs?: number;
  /** Wall time (performance.now() ms) of engine time 0; default: now. */
  wall0?: number;
}

/**
 * What the HTTP side needs from whatever runs the engine core on the wall clock: the
 * RealTimeDriver on the same thread, or the engine worker thread behind a proxy (workerDriver.ts).
 */
export interface EngineDriver {
  readonly G: number;
  /** Engine arrival time of every submitted request, by id. */
  readonly arrivalUs: number[];
  /** The arrival log, when recording. */
  readonly arrivals: ArrivalRecord[] | undefined;
  /** Steps taken so far (group steps, or rank steps in sync: independent). */
  readonly steps: number;
  /** Resolves once the driver accepts requests. */
  ready(): Promise<void>;
  engineNow(): number;
  /** `stampUs`: the engine time the request arrived (default now; the front end's time before it is not engine time). */
  submit(req: Omit<CoreRequest, 'arrivalUs'>, sink: RequestSink, stampUs?: number): number;
  abort(id: number): void;
  /** Stop stepping; in-flight requests get no more events. */
  stop(): unknown;
  /** Step timing error in wall ms (actual − modelled step end), last steps. */
  timingErrors(): Float64Array;
  /** Emission lag in wall ms: from a step's modelled end to the last of its token events handed to HTTP. */
  emissionLags(): Float64Array;
  rankStats(g: number): RankStats;
}

/** Step timing error (actual − modelled end, wall ms) of the last steps, in a ring. */
const ERROR_RING = 1 << 16;

export type CoreFactory = (events: CoreEvents) => SteppableCore;

export class RealTimeDriver implements EngineDriver {
  readonly core: SteppableCore;
  readonly G: number;
  readonly speed: number;
  readonly sync: Sync;
  readonly arrivals: ArrivalRecord[] | undefined;
  /** Engine arrival time of every submitted request, by id. */
  readonly arrivalUs: number[] = [];
  private readonly wall0: number;
  private readonly timer: PreciseTimer;
  private readonly sinks: (RequestSink | undefined)[] = [];
  private readonly observers: CoreEvents;
  private lastArrivalUs = 0;
  /** Engine time of the last step boundary acted on (a step began or ended, or the core went idle). */
  private lastEventUs = -1;
  /** Arrival times (engine µs) submitted but maybe not yet due, in order. */
  private readonly pendingArr: number[] = [];
  private pendingHead = 0;
  private readonly pendingAborts: number[] = [];
  /** Independent mode: the rank each request was routed to (-1 before), and aborts per rank. */
  private readonly routedTo: number[] = [];
  private readonly rankAborts: number[][];
  /** Independent mode: distinct arrival times submitted since the last kick, in order. */
  private readonly newArrivals: number[] = [];
  private stopped = false;
  private kickQueued = false;
  // Barrier mode state.
  private inStep = false;
  private boundaryUs = 0;
  private startScheduled = false;
  // Independent mode state.
  private readonly rankBusy: Uint8Array;
  private readonly rankBoundaryUs: Float64Array;
  private readonly rankEndUs: Float64Array;
  private armed: TimerHandle | undefined;
  private armedUs = -1;
  // Timing statistics.
  private readonly errRing = new Float64Array(ERROR_RING);
  private errCount = 0;
  private readonly lagRing = new Float64Array(ERROR_RING);
  private lagCount = 0;
  steps = 0;

  constructor(factory: CoreFactory, opts: DriverOptions) {
    this.speed = opts.speed;
    this.sync = opts.sync;
    this.observers = opts.observers ?? {};
    this.arrivals = opts.record ? [] : undefined;
    this.timer = new PreciseTimer(opts.spinMs ?? 2);
    const obs = this.observers;
    const sinks = this.sinks;
    this.core = factory({
      onRoute: (id, rank, t) => {
        this.routedTo[id] = rank;
        obs.onRoute?.(id, rank, t);
        sinks[id]?.onRoute?.(rank, t);
      },
      onToken: (id, emitted, t) => {
        obs.onToken?.(id, emitted, t);
        sinks[id]?.onToken(emitted, t);
      },
      onFinish: (id, outcome, t) => {
        obs.onFinish?.(id, outcome, t);
        const s = sinks[id];
        sinks[id] = undefined;
        s?.onFinish(outcome, t);
      },
      onPreempt: (id, rank, t) => obs.onPreempt?.(id, rank, t),
      // Only wired when someone listens: the core skips the call otherwise.
      onQueued: obs.onQueued && ((id, rank, t) => obs.onQueued!(id, rank, t)),
      onScheduled: obs.onScheduled && ((id, rank, t) => obs.onScheduled!(id, rank, t)),
    });
    this.G = this.core.G;
    if (this.sync === 'independent' && (!this.core.beginRankStep || !this.core.endRankStep)) {
      throw new Error('this engine core has no independent (per-rank) stepping');
    }
    this.rankBusy = new Uint8Array(this.G);
    this.rankBoundaryUs = new Float64Array(this.G);
    this.rankEndUs = new Float64Array(this.G);
    this.rankAborts = Array.from({ length: this.G }, () => []);
    this.wall0 = opts.wall0 ?? performance.now();
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  rankStats(g: number): RankStats {
    return this.core.rankStats(g);
  }

  /** The engine clock now, from the wall clock (integer µs). */
  engineNow(): number {
    return Math.floor((performance.now() - this.wall0) * 1000 * this.speed);
  }

  /** Wall time (performance.now() ms) of engine time tUs. */
  wallAt(tUs: number): number {
    return this.wall0 + tUs / 1000 / this.speed;
  }

  /**
   * Submit a request that arrived at engine time `stampUs` (default: now); returns its id.
   * Events for it go to `sink`.
   */
  submit(req: Omit<CoreRequest, 'arrivalUs'>, sink: RequestSink, stampUs = this.engineNow()): number {
    if (this.stopped) throw new Error('driver stopped');
    let a = stampUs;
    if (a < this.lastArrivalUs) a = this.lastArrivalUs;
    if (a <= this.lastEventUs) a = this.lastEventUs + 1;
    this.lastArrivalUs = a;
    const id = this.core.submit({ ...req, arrivalUs: a });
    this.arrivalUs[id] = a;
    this.sinks[id] = sink;
    this.arrivals?.push({ id, arrivalUs: a, promptTokens: req.promptTokens, outputTokens: req.outputTokens, rank: req.rank });
    if (this.sync === 'barrier') this.pendingArr.push(a);
    else if (this.newArrivals[this.newArrivals.length - 1] !== a) this.newArrivals.push(a);
    // Start idle ranks after the caller has finished its own bookkeeping for this id.
    if (!this.kickQueued) {
      this.kickQueued = true;
      queueMicrotask(this.kick);
    }
    return id;
  }

  /** The client went away: the request leaves at the next step boundary (its KV is freed). */
  abort(id: number): void {
    if (this.sinks[id] === undefined) return;
    this.sinks[id] = undefined;
    if (this.sync === 'barrier') {
      if (this.inStep) this.pendingAborts.push(id);
      else this.core.abort(id, Math.max(this.boundaryUs, this.engineNow()));
      return;
    }
    // Independent: only the request's own rank must be between steps.
    const g = this.routedTo[id] ?? -1;
    if (g >= 0 && this.rankBusy[g]) this.rankAborts[g].push(id);
    else this.core.abort(id, Math.max(g >= 0 ? this.rankBoundaryUs[g] : this.maxRankBoundary(), this.engineNow()));
  }

  /** Stop stepping; returns the ids still in flight (their sinks are dropped). */
  stop(): number[] {
    this.stopped = true;
    this.timer.close();
    const ids: number[] = [];
    this.sinks.forEach((s, id) => {
      if (s !== undefined) ids.push(id);
    });
    this.sinks.length = 0;
    return ids;
  }

  /** Step timing error in wall ms (actual − modelled end) over the last steps. */
  timingErrors(): Float64Array {
    const n = Math.min(this.errCount, ERROR_RING);
    return this.errRing.slice(0, n);
  }

  /** Emission lag in wall ms (modelled step end to the end of its token events), last steps. */
  emissionLags(): Float64Array {
    const n = Math.min(this.lagCount, ERROR_RING);
    return this.lagRing.slice(0, n);
  }

  private recordError(deadline: number): void {
    this.errRing[this.errCount++ % ERROR_RING] = performance.now() - deadline;
  }

  /** Called after a step end's events have all been handed on. */
  recordLag(deadline: number): void {
    this.lagRing[this.lagCount++ % ERROR_RING] = performance.now() - deadline;
  }

  /**
   * Called after each step end's events, with its wall deadline and engine time (by default
   * records the emission lag; the engine worker forwards it, as the HTTP side is elsewhere).
   */
  onStepEvents: (deadline: number, endUs: number) => void = (deadline) => this.recordLag(deadline);

  private readonly kick = (): void => {
    this.kickQueued = false;
    if (this.stopped) return;
    if (this.sync === 'barrier') {
      if (!this.inStep && !this.startScheduled) this.beginBarrier(Math.max(this.boundaryUs, this.nextPending(this.boundaryUs)));
    } else {
      // One event per distinct arrival time since the last kick, each after the step ends
      // before it (as the offline loop visits them).
      for (const a of this.newArrivals) {
        const t = Math.max(a, this.maxRankBoundary());
        this.catchUp(t);
        this.independentEvent(t);
      }
      this.newArrivals.length = 0;
    }
  };

  /** The first pending arrival after dropping those at or before t (Infinity-free: returns t when none). */
  private nextPending(t: number): number {
    while (this.pendingHead < this.pendingArr.length && this.pendingArr[this.pendingHead] <= t) this.pendingHead++;
    if (this.pendingHead > 4096 && this.pendingHead * 2 > this.pendingArr.length) {
      this.pendingArr.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    return this.pendingHead < this.pendingArr.length ? this.pendingArr[this.pendingHead] : t;
  }

  private hasPendingAfter(t: number): boolean {
    return this.nextPending(t) > t;
  }

  private applyAborts(t: number): void {
    for (const id of this.pendingAborts) this.core.abort(id, t);
    this.pendingAborts.length = 0;
  }

  // ---- barrier ----

  private beginBarrier(t: number): void {
    this.boundaryUs = t;
    if (t > this.lastEventUs) this.lastEventUs = t;
    this.applyAborts(t);
    this.nextPending(t); // drop arrivals the core routes now
    const d = this.core.beginStep(t);
    if (d > 0) {
      this.inStep = true;
      const end = t + d;
      const deadline = this.wallAt(end);
      this.timer.at(deadline, () => {
        this.recordError(deadline);
        this.steps++;
        this.core.endStep(end);
        this.inStep = false;
        this.boundaryUs = end;
        if (!this.stopped) this.beginBarrier(end);
        this.onStepEvents(deadline, end);
        this.observers.onStepEnd?.(end);
      });
      return;
    }
    // Idle. Requests submitted with a later arrival start the next step at that arrival.
    if (this.hasPendingAfter(t)) {
      const next = this.nextPending(t);
      this.startScheduled = true;
      this.timer.at(this.wallAt(next), () => {
        this.startScheduled = false;
        if (!this.stopped && !this.inStep) this.beginBarrier(next);
      });
    }
  }

  // ---- independent ----
  //
  // A small discrete-event loop in engine time, in the offline engine's order: at an event time
  // t, the rank steps that end at t are applied (rank order), then arrivals and timeouts due at
  // t are processed, then every free rank with work starts its next step at t. Events are rank
  // step ends (fired by the timer) and arrivals (at submit); an arrival first catches up with
  // step ends at or before it whose timer has not fired yet, so events are never reordered.

  private maxRankBoundary(): number {
    let m = 0;
    for (let g = 0; g < this.G; g++) if (this.rankBoundaryUs[g] > m) m = this.rankBoundaryUs[g];
    return m;
  }

  /** Handle every step-end event at or before t, in time order. */
  private catchUp(t: number): void {
    for (;;) {
      let e = Infinity;
      for (let g = 0; g < this.G; g++) if (this.rankBusy[g] && this.rankEndUs[g] < e) e = this.rankEndUs[g];
      if (e > t) return;
      this.independentEvent(e);
    }
  }

  /** One event at engine time t: step ends at t, what is due, then free ranks start. */
  private independentEvent(t: number): void {
    const core = this.core;
    if (t > this.lastEventUs) this.lastEventUs = t;
    for (let g = 0; g < this.G; g++) {
      if (this.rankBusy[g] && this.rankEndUs[g] === t) {
        this.steps++;
        core.endRankStep!(g, t);
        this.rankBusy[g] = 0;
        this.rankBoundaryUs[g] = t;
      }
    }
    core.process?.(t);
    if (this.stopped) return;
    for (let g = 0; g < this.G; g++) {
      if (this.rankBusy[g]) continue;
      const aborts = this.rankAborts[g];
      for (const id of aborts) core.abort(id, t);
      aborts.length = 0;
      this.rankBoundaryUs[g] = Math.max(this.rankBoundaryUs[g], t);
      const d = core.beginRankStep!(g, t);
      if (d > 0) {
        this.rankBusy[g] = 1;
        this.rankEndUs[g] = t + d;
      }
    }
    this.armIndependent();
  }

  /** One timer for the earliest step end of any rank. */
  private armIndependent(): void {
    let e = Infinity;
    for (let g = 0; g < this.G; g++) if (this.rankBusy[g] && this.rankEndUs[g] < e) e = this.rankEndUs[g];
    if (e === Infinity || e === this.armedUs) return;
    if (this.armed) this.timer.cancel(this.armed);
    this.armedUs = e;
    const deadline = this.wallAt(e);
    this.armed = this.timer.at(deadline, () => {
      this.armed = undefined;
      this.armedUs = -1;
      this.recordError(deadline);
      if (!this.stopped) this.catchUp(e);
      this.onStepEvents(deadline, e);
      this.observers.onStepEnd?.(e);
    });
  }
}
