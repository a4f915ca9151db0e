/**
 * The HTTP thread's handle on the engine worker (engineWorker.ts): submits and aborts go to the
 * worker as messages; the worker's core events come back in batches and reach the request sinks
 * and observers in the order the core produced them, as with the in-thread RealTimeDriver.
 *
 * Arrivals are stamped here, when HTTP hands the request over; the worker keeps that time unless
 * the step boundary it would have joined has already begun, in which case the request is routed at
 * the next boundary and its arrival is recorded as 1 µs after the boundary (ARRIVE events carry
 * the time the core got, which is what the arrival log and the offline replay use).
 */
import { Worker } from 'node:worker_threads';
import type { Scenario } from '../../config/scenario.ts';
import type { CoreEvents, CoreRequest, RankStats, Sync } from './coreApi.ts';
import type { ArrivalRecord, EngineDriver, RequestSink } from './driver.ts';
import { EV, OUTCOMES, RECORD, STATS_FIELDS, type FromWorker, type ToWorker, type WorkerInit } from './workerProtocol.ts';

/** Compiled JavaScript in dist/; from the TypeScript sources a small .mjs that registers tsx first. */
const WORKER_URL = import.meta.url.endsWith('.ts') ? new URL('./engineWorkerEntry.mjs', import.meta.url) : new URL('./engineWorker.js', import.meta.url);

const LAG_RING = 1 << 16;

export interface WorkerDriverOptions {
  scenario: Scenario;
  speed: number;
  sync: Sync;
  record?: boolean;
  observers?: CoreEvents;
  /** The worker failed (it cannot step any more); default: print to stderr. */
  onFatal?: (e: Error) => void;
}

export class WorkerDriver implements EngineDriver {
  readonly G: number;
  readonly arrivalUs: number[] = [];
  readonly arrivals: ArrivalRecord[] | undefined;
  private readonly worker: Worker;
  private readonly wall0: number;
  private readonly speed: number;
  private readonly stats: Float64Array;
  private readonly sinks: (RequestSink | undefined)[] = [];
  private readonly pending: Omit<CoreRequest, 'arrivalUs'>[] = [];
  private readonly observers: CoreEvents;
  private nextId = 0;
  private stopped = false;
  private failed: Error | undefined;
  private readonly readyP: Promise<void>;
  private stoppedP: Promise<void> | undefined;
  private resolveStopped: (() => void) | undefined;
  private finalErrors: Float64Array = new Float64Array(0);
  private readonly lagRing = new Float64Array(LAG_RING);
  private lagCount = 0;

  constructor(G: number, private readonly opts: WorkerDriverOptions) {
    this.G = G;
    this.speed = opts.speed;
    this.observers = opts.observers ?? {};
    this.arrivals = opts.record ? [] : undefined;
    const sab = new SharedArrayBuffer((G * STATS_FIELDS + 1) * 8);
    this.stats = new Float64Array(sab);
    const hrtime0 = process.hrtime.bigint();
    this.wall0 = performance.now();
    const init: WorkerInit = { scenario: opts.scenario, speed: opts.speed, sync: opts.sync, hrtime0, stats: sab };
    this.worker = new Worker(WORKER_URL, { workerData: init });
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    this.readyP = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    this.readyP.catch(() => undefined); // reported through onFatal too
    this.worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'ready':
          onReady();
          return;
        case 'events':
          this.dispatch(m.records);
          return;
        case 'stopped':
          this.finalErrors = m.timingErrors;
          this.resolveStopped?.();
          return;
        case 'failed': {
          const e = new Error(`engine worker: ${m.message}`);
          onFail(e);
          this.fail(e);
          return;
        }
      }
    });
    this.worker.on('error', (e) => {
      onFail(e);
      this.fail(e);
    });
    this.worker.on('exit', () => {
      this.resolveStopped?.();
      if (!this.stopped) {
        const e = new Error('engine worker exited');
        onFail(e);
        this.fail(e);
      }
    });
  }

  ready(): Promise<void> {
    return this.readyP;
  }

  get steps(): number {
    return this.stats[this.G * STATS_FIELDS];
  }

  engineNow(): number {
    return Math.floor((performance.now() - this.wall0) * 1000 * this.speed);
  }

  submit(req: Omit<CoreRequest, 'arrivalUs'>, sink: RequestSink, stampUs = this.engineNow()): number {
    if (this.stopped) throw new Error(this.failed ? this.failed.message : 'driver stopped');
    const id = this.nextId++;
    this.arrivalUs[id] = stampUs; // until the worker says which time the core took
    this.sinks[id] = sink;
    this.pending[id] = req;
    this.send({ type: 'submit', id, stampUs, promptTokens: req.promptTokens, outputTokens: req.outputTokens, rank: req.rank });
    return id;
  }

  abort(id: number): void {
    if (this.sinks[id] === undefined) return;
    this.sinks[id] = undefined;
    if (!this.stopped) this.send({ type: 'abort', id });
  }

  /** Stop stepping and wait for the worker's final figures; in-flight sinks are dropped. */
  stop(): Promise<void> {
    if (this.stoppedP) return this.stoppedP;
    const wasStopped = this.stopped;
    this.stopped = true;
    this.sinks.length = 0;
    this.stoppedP = new Promise<void>((resolve) => (this.resolveStopped = resolve)).then(() => {
      void this.worker.terminate();
    });
    if (wasStopped) this.resolveStopped!(); // it failed: nothing to wait for
    else this.send({ type: 'stop' });
    return this.stoppedP;
  }

  timingErrors(): Float64Array {
    return this.finalErrors;
  }

  emissionLags(): Float64Array {
    return this.lagRing.slice(0, Math.min(this.lagCount, LAG_RING));
  }

  rankStats(g: number): RankStats {
    const s = this.stats;
    const o = g * STATS_FIELDS;
    return {
      running: s[o],
      waiting: s[o + 1],
      kvBlocksUsed: s[o + 2],
      kvBlocksTotal: s[o + 3],
      preemptions: s[o + 4],
      promptTokens: s[o + 5],
      generationTokens: s[o + 6],
    };
  }

  private send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private fail(e: Error): void {
    if (this.failed || this.stoppedP) return;
    this.failed = e;
    this.stopped = true;
    (this.opts.onFatal ?? ((err: Error) => process.stderr.write(`emulate: ${err.message}\n`)))(e);
  }

  /** Hand a batch of core events to observers and sinks, in order. */
  private dispatch(r: Float64Array): void {
    const obs = this.observers;
    const sinks = this.sinks;
    for (let i = 0; i < r.length; i += RECORD) {
      const kind = r[i];
      const id = r[i + 1];
      const x = r[i + 2];
      const t = r[i + 3];
      switch (kind) {
        case EV.TOKEN:
          obs.onToken?.(id, x, t);
          sinks[id]?.onToken(x, t);
          break;
        case EV.ROUTE:
          obs.onRoute?.(id, x, t);
          sinks[id]?.onRoute?.(x, t);
          break;
        case EV.FINISH: {
          const outcome = OUTCOMES[x];
          obs.onFinish?.(id, outcome, t);
          const s = sinks[id];
          sinks[id] = undefined;
          s?.onFinish(outcome, t);
          break;
        }
        case EV.PREEMPT:
          obs.onPreempt?.(id, x, t);
          break;
        case EV.ARRIVE: {
          this.arrivalUs[id] = x;
          const q = this.pending[id];
          this.pending[id] = undefined as never;
          this.arrivals?.push({ id, arrivalUs: x, promptTokens: q.promptTokens, outputTokens: q.outputTokens, rank: q.rank });
          break;
        }
        case EV.QUEUED:
          obs.onQueued?.(id, x, t);
          break;
        case EV.SCHEDULED_AT:
          obs.onScheduled?.(id, x, t);
          break;
        case EV.STEP:
          this.lagRing[this.lagCount++ % LAG_RING] = performance.now() - (this.wall0 + x / 1000 / this.speed);
          obs.onStepEnd?.(x);
          break;
      }
    }
  }
}
