import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Scenario } from '../../config/scenario.ts';
import { InputError } from '../../errors.ts';
import type { Engine, EngineInfo, EngineProgress, RunResult } from '../types.ts';
import { runScenario } from './runScenario.ts';
import type { FromWorker, ToWorker } from './worker.ts';

/**
 * Below this many simulated requests in a sweep (about 0.4 s of one core), starting worker
 * threads costs more than it saves (docs/performance.md, "Worker pool").
 */
export const MIN_POOL_REQUESTS = 40_000;
/** Stand-in for `requests: 0` (a whole trace) when sizing the pool. */
const TRACE_REQUESTS_GUESS = 10_000;

/**
 * The worker's entry: compiled JavaScript in dist/; from the TypeScript sources (tests, tsx) a
 * small .mjs file that registers tsx before loading worker.ts.
 */
const WORKER_URL = import.meta.url.endsWith('.ts') ? new URL('./workerEntry.mjs', import.meta.url) : new URL('./worker.js', import.meta.url);

export interface CpuEngineOptions {
  /** Worker threads; default: all cores. 1 runs on the calling thread. */
  threads?: number;
  /** Smallest sweep (simulated requests) that uses the pool; default MIN_POOL_REQUESTS. */
  minPoolRequests?: number;
  /**
   * Use at most as many threads as there are cores (the CLI sets this unless --threads-force):
   * more threads than cores only add start-up cost, memory and contention.
   */
  capAtCores?: boolean;
}

/** How many threads a sweep runs on, and why that differs from what was asked. */
export interface ThreadPlan {
  /** Threads asked for (undefined: the default, all cores). */
  requested: number | undefined;
  /** Threads actually used (1 = the calling thread, no worker pool). */
  threads: number;
  /** Why `threads` differs from the request; undefined when it does not. */
  note: string | undefined;
}

/**
 * CPU engine: the reference simulator, spread over worker threads that ask for work in small
 * batches (work stealing). The pool starts on first use and lives until close(). Small sweeps
 * run on the calling thread: starting a worker costs more than a few runs.
 */
export class CpuEngine implements Engine {
  readonly info: EngineInfo;
  private readonly maxThreads: number;
  private readonly minPoolRequests: number;
  private readonly requested: number | undefined;
  private readonly capNote: string | undefined;
  private planned: ThreadPlan | undefined;
  private pool: Worker[] = [];
  private ready: Promise<void> | undefined;

  constructor(opts: CpuEngineOptions = {}) {
    this.requested = opts.threads === undefined ? undefined : Math.max(1, Math.floor(opts.threads));
    const cores = availableParallelism();
    let max = this.requested ?? cores;
    if (opts.capAtCores && max > cores) {
      this.capNote = `capped at the ${cores} available core${cores === 1 ? '' : 's'} (--threads-force to run ${max} threads anyway)`;
      max = cores;
    }
    this.maxThreads = max;
    this.minPoolRequests = opts.minPoolRequests ?? MIN_POOL_REQUESTS;
    this.info = { engine: 'cpu', adapter: '', fallbackAdapter: false, threads: this.maxThreads };
  }

  /**
   * Decide the threads for a whole sweep that will be run in several calls (chunks), so every
   * chunk uses the same number and the number recorded is the one used. Without a plan, each
   * run() decides for its own configurations.
   */
  plan(scenarios: readonly Scenario[]): ThreadPlan {
    this.planned = this.decide(scenarios);
    (this.info as { threads: number }).threads = this.planned.threads;
    return this.planned;
  }

  /** The plan of the last plan() call, if any. */
  get lastPlan(): ThreadPlan | undefined {
    return this.planned;
  }

  private decide(scenarios: readonly Scenario[]): ThreadPlan {
    const total = scenarios.length;
    const requests = scenarios.reduce((a, sc) => a + (sc.workload.requests || TRACE_REQUESTS_GUESS), 0);
    let threads = this.maxThreads;
    let note = this.capNote;
    if (threads > 1 && requests < this.minPoolRequests) {
      threads = 1;
      note =
        `${requests.toLocaleString('en-US')} simulated requests are below the worker-pool threshold of ` +
        `${this.minPoolRequests.toLocaleString('en-US')}: starting workers would cost more than it saves`;
    } else if (threads > Math.ceil(total / 2)) {
      threads = Math.max(1, Math.ceil(total / 2));
      note = `only ${total} configuration${total === 1 ? '' : 's'} (at least 2 per thread)`;
    }
    const asked = this.requested ?? availableParallelism();
    return { requested: this.requested, threads, note: threads === asked ? undefined : note };
  }

  async run(scenarios: readonly Scenario[], onProgress?: (p: EngineProgress) => void): Promise<RunResult[]> {
    const total = scenarios.length;
    const threads = this.planned ? Math.min(this.planned.threads, Math.max(1, Math.ceil(total / 2))) : this.decide(scenarios).threads;
    if (!this.planned) (this.info as { threads: number }).threads = threads;
    if (threads <= 1) {
      const out: RunResult[] = [];
      let yielded = performance.now();
      for (const sc of scenarios) {
        out.push(runScenario(sc));
        onProgress?.({ done: out.length, total });
        // Return to the event loop every ~50 ms: the progress display draws, and a signal
        // handler (Ctrl-C: remove unfinished outputs) runs without waiting for the whole sweep.
        if (performance.now() - yielded > 50) {
          await new Promise((r) => setImmediate(r));
          yielded = performance.now();
        }
      }
      return out;
    }
    await this.startPool(threads);
    return this.runOnPool(scenarios, this.pool.slice(0, threads), onProgress);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = [];
    this.ready = undefined;
    await Promise.all(pool.map((w) => w.terminate()));
  }

  private async startPool(threads: number): Promise<void> {
    if (this.pool.length >= threads && this.ready) return this.ready;
    await this.close();
    const workers = Array.from({ length: threads }, () => new Worker(WORKER_URL));
    this.pool = workers;
    this.ready = Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const onMsg = (m: FromWorker) => {
              if (m.type === 'ready') {
                w.off('message', onMsg);
                w.off('error', reject);
                resolve();
              }
            };
            w.on('message', onMsg);
            w.once('error', reject);
          }),
      ),
    ).then(() => undefined);
    return this.ready;
  }

  private runOnPool(scenarios: readonly Scenario[], workers: Worker[], onProgress?: (p: EngineProgress) => void): Promise<RunResult[]> {
    const total = scenarios.length;
    const threads = workers.length;
    const byIndex = new Map<number, RunResult>();
    let next = 0;
    let done = 0;
    // Batches shrink towards the end so no worker is left with a long tail.
    const batchSize = () => Math.max(1, Math.min(64, Math.floor((total - next) / (threads * 4))));
    return new Promise<RunResult[]>((resolve, reject) => {
      let finished = false;
      const detach = () => {
        for (const w of workers) {
          w.removeAllListeners('message');
          w.removeAllListeners('error');
        }
      };
      const fail = (e: Error) => {
        if (finished) return;
        finished = true;
        detach();
        void this.close(); // a failed batch leaves workers busy: start fresh next time
        reject(e);
      };
      const give = (w: Worker) => {
        if (next >= total) return;
        const n = batchSize();
        const items = scenarios.slice(next, next + n) as Scenario[];
        next += n;
        w.postMessage({ type: 'work', items } satisfies ToWorker);
      };
      for (const w of workers) {
        w.on('message', (msg: FromWorker) => {
          if (finished) return;
          if (msg.type === 'results') {
            for (const r of msg.results) byIndex.set(r.scenario.index, r);
            done += msg.results.length;
            onProgress?.({ done, total });
            if (done === total) {
              finished = true;
              detach();
              resolve(reorder(scenarios, byIndex));
            } else give(w);
          } else if (msg.type === 'error') {
            fail(
              msg.input
                ? new InputError(msg.input.field, msg.input.value, msg.input.reason, { hasValue: msg.input.hasValue, location: msg.input.location })
                : new Error(`configuration ${msg.index}: ${msg.message}`),
            );
          }
        });
        w.on('error', fail);
        give(w);
      }
    });
  }
}

/** Results arrive keyed by scenario index; return them in the order of `scenarios`. */
function reorder(scenarios: readonly Scenario[], byIndex: Map<number, RunResult>): RunResult[] {
  return scenarios.map((s) => {
    const r = byIndex.get(s.index);
    if (!r) throw new Error(`missing result for configuration ${s.index}`);
    return r;
  });
}
