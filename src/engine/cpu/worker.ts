/**
 * Worker thread of the CPU engine: asks the main thread for work, simulates it, sends results.
 * Asking (rather than being handed a fixed share) is what makes the pool work-stealing.
 */
import { parentPort } from 'node:worker_threads';
import type { Scenario } from '../../config/scenario.ts';
import { runScenario } from './runScenario.ts';
import { InputError, type SourceLocation } from '../../errors.ts';

export type ToWorker = { type: 'work'; items: Scenario[] } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'results'; results: ReturnType<typeof runScenario>[] }
  | { type: 'error'; message: string; index: number; input?: InputErrorParts };

/** An InputError's structured parts, rebuilt as the same InputError on the main thread. */
export interface InputErrorParts {
  field: string;
  value: unknown;
  reason: string;
  hasValue: boolean;
  location?: SourceLocation;
}

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
      const err = e as Error;
      const input =
        e instanceof InputError
          ? { field: e.field, value: cloneable(e.value), reason: e.reason, hasValue: e.hasValue, location: e.location }
          : undefined;
      port.postMessage({ type: 'error', message: err.message, index: sc.index, input } satisfies FromWorker);
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

/** A value that survives postMessage (user input is plain data; anything else is shown as text). */
function cloneable(v: unknown): unknown {
  try {
    return structuredClone(v);
  } catch {
    return String(v);
  }
}
