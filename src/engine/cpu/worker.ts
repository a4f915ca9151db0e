/**
 * Worker thread of the CPU engine: asks the main thread for work, simulates it, sends results.
 * Asking (rather than being handed a fixed share) is what makes the pool work-stealing.
 */
import { parentPort } from 'node:worker_threads';
import type { Scenario } from '../../config/scenario.ts';
import { runScenario } from './runScenario.ts';

export type ToWorker = { type: 'work'; items: Scenario[] } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'results'; results: ReturnType<typeof runScenario>[] }
  | { type: 'error'; message: string; name: string; field?: string; index: number };

const port = parentPort!;
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'stop') {
    port.close();
    return;
  }
  const results = [];
  for (const sc of msg.items) {
    try {
      results.push(runScenario(sc));
    } catch (e) {
      const err = e as Error & { field?: string };
      port.postMessage({ type: 'error', message: err.message, name: err.name, field: err.field, index: sc.index } satisfies FromWorker);
      return;
    }
  }
  const transfer: ArrayBuffer[] = [];
  for (const r of results) {
    if (r.timeseries) for (const a of Object.values(r.timeseries)) transfer.push((a as Float64Array).buffer as ArrayBuffer);
    if (r.requests) for (const a of Object.values(r.requests)) transfer.push((a as Float64Array).buffer as ArrayBuffer);
  }
  port.postMessage({ type: 'results', results } satisfies FromWorker, transfer);
});
port.postMessage({ type: 'ready' } satisfies FromWorker);
