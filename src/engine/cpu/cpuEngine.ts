import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Scenario } from '../../config/scenario.ts';
import { InputProblem } from '../../config/inputError.ts';
import type { Engine, EngineInfo, EngineProgress, RunResult } from '../types.ts';
import { runScenario } from './runScenario.ts';
import type { FromWorker, ToWorker } from './worker.ts';

export interface CpuEngineOptions {
  /** Worker threads; default: all cores. 1 runs on the calling thread. */
  threads?: number;
}

/**
 * CPU engine: the reference simulator, spread over worker threads. Small sweeps run on the
 * calling thread (starting a worker costs more than a few runs).
 */
export class CpuEngine implements Engine {
  readonly info: EngineInfo;
  private readonly threads: number;

  constructor(opts: CpuEngineOptions = {}) {
    this.threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
    this.info = { engine: 'cpu', adapter: '', fallbackAdapter: false, threads: this.threads };
  }

  async run(scenarios: readonly Scenario[], onProgress?: (p: EngineProgress) => void): Promise<RunResult[]> {
    const total = scenarios.length;
    const threads = Math.min(this.threads, Math.ceil(total / 2));
    if (threads <= 1) {
      const out: RunResult[] = [];
      for (const sc of scenarios) {
        out.push(runScenario(sc));
        onProgress?.({ done: out.length, total });
        if (out.length % 16 === 0) await new Promise((r) => setImmediate(r)); // let the progress bar draw
      }
      (this.info as { threads: number }).threads = 1;
      return out;
    }
    (this.info as { threads: number }).threads = threads;
    return runPool(scenarios, threads, onProgress);
  }

  async close(): Promise<void> {}
}

function runPool(scenarios: readonly Scenario[], threads: number, onProgress?: (p: EngineProgress) => void): Promise<RunResult[]> {
  const total = scenarios.length;
  const byIndex = new Map<number, RunResult>();
  // Batches shrink towards the end so no worker is left with a long tail.
  let next = 0;
  let done = 0;
  const batchSize = () => Math.max(1, Math.min(64, Math.floor((total - next) / (threads * 4))));
  const workers: Worker[] = [];
  return new Promise<RunResult[]>((resolve, reject) => {
    let failed = false;
    const stopAll = () => {
      for (const w of workers) void w.terminate();
    };
    const give = (w: Worker) => {
      if (next >= total) {
        w.postMessage({ type: 'stop' } satisfies ToWorker);
        return;
      }
      const n = batchSize();
      const items = scenarios.slice(next, next + n) as Scenario[];
      next += n;
      w.postMessage({ type: 'work', items } satisfies ToWorker);
    };
    for (let i = 0; i < threads; i++) {
      const w = new Worker(new URL('./workerEntry.mjs', import.meta.url));
      workers.push(w);
      w.on('message', (msg: FromWorker) => {
        if (failed) return;
        if (msg.type === 'ready') give(w);
        else if (msg.type === 'results') {
          for (const r of msg.results) byIndex.set(r.scenario.index, r);
          done += msg.results.length;
          onProgress?.({ done, total });
          if (done === total) {
            stopAll();
            resolve(reorder(scenarios, byIndex));
          } else give(w);
        } else {
          failed = true;
          stopAll();
          reject(
            msg.name === 'InputError' && msg.field
              ? Object.assign(new InputProblem(msg.field, msg.message.replace(`${msg.field}: `, '')), { field: msg.field })
              : new Error(`configuration ${msg.index}: ${msg.message}`),
          );
        }
      });
      w.on('error', (e) => {
        if (failed) return;
        failed = true;
        stopAll();
        reject(e);
      });
    }
  });
}

/** Results arrive keyed by scenario index; return them in the order of `scenarios`. */
function reorder(scenarios: readonly Scenario[], byIndex: Map<number, RunResult>): RunResult[] {
  return scenarios.map((s) => {
    const r = byIndex.get(s.index);
    if (!r) throw new Error(`missing result for configuration ${s.index}`);
    return r;
  });
}
