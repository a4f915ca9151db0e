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
  private pool: Worker[] = [];
  private ready: Promise<void> | undefined;

  constructor(opts: CpuEngineOptions = {}) {
    this.maxThreads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
    this.minPoolRequests = opts.minPoolRequests ?? MIN_POOL_REQUESTS;
    this.info = { engine: 'cpu', adapter: '', fallbackAdapter: false, threads: this.maxThreads };
  }

  async run(scenarios: readonly Scenario[], onProgress?: (p: EngineProgress) => void): Promise<RunResult[]> {
    const total = scenarios.length;
    const requests = scenarios.reduce((a, sc) => a + (sc.workload.requests || TRACE_REQUESTS_GUESS), 0);
    const threads = requests < this.minPoolRequests ? 1 : Math.min(this.maxThreads, Math.ceil(total / 2));
    (this.info as { threads: number }).threads = Math.max(1, threads);
    if (threads <= 1) {
      const out: RunResult[] = [];
      for (const sc of scenarios) {
        out.push(runScenario(sc));
        onProgress?.({ done: out.length, total });
        if (out.length % 16 === 0) await new Promise((r) => setImmediate(r)); // let the progress bar draw
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
