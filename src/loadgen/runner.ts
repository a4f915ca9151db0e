/**
 * Sends a plan on schedule and collects one record per request.
 *
 * Timing: a request due in more than SPIN_MS (1 ms) is waited for with setTimeout (which fires up to a
 * few ms late on a busy machine), the rest with a setImmediate loop that re-reads the clock
 * between turns of the event loop, so responses keep being read (and stamped) while waiting.
 * benches/loadgen-accuracy.ts measures the resulting send error.
 */
import { setMaxListeners } from 'node:events';
import { Agent } from 'undici';
import type { PlannedRequest } from './plan.ts';
import { sendRequest, type FailureKind } from './client.ts';

const SPIN_MS = 1;

/** One request's record, times in µs from the start of the run. */
export interface RequestRecord {
  index: number;
  scheduledUs: number;
  /** Start of the POST (the request's arrival for every latency). */
  sendUs: number;
  /** When the request finished or failed. */
  finishUs: number;
  plannedPrompt: number;
  maxTokens: number;
  promptTokens: number | null;
  outputTokens: number | null;
  ok: boolean;
  ttftMs: number;
  itlMs: number[];
  latencyMs: number;
  rank: number | null;
  httpStatus: number;
  failure: FailureKind | null;
  error: string;
  /** The generated text (vllm bench's `generated_texts`). */
  text: string;
  /** Wait for a --max-concurrency slot, ms (vllm bench's `client_queue_time`). */
  queueMs: number;
}

export interface RunOptions {
  url: URL;
  headers: Record<string, string>;
  timeoutS: number;
  maxConcurrency: number;
  requestIdPrefix: string;
  /** Called after each request finishes. */
  onDone?: (finished: number, total: number) => void;
  /** Aborts the run (Ctrl-C): nothing more is sent, in-flight requests are cancelled. */
  signal: AbortSignal;
}

export interface RunOutput {
  /** Finished requests (completed or failed), in request order. */
  records: RequestRecord[];
  /** performance.now() at the start of the schedule, ms. */
  t0Ms: number;
  /** Wall time of the run, ms. */
  wallMs: number;
  interrupted: boolean;
  /** Requests cancelled in flight and requests never sent, when interrupted. */
  cancelled: number;
  notSent: number;
}

function waitUntil(targetMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const tick = () => {
      if (signal.aborted) return resolve();
      const left = targetMs - performance.now();
      if (left <= 0) return resolve();
      if (left > SPIN_MS) setTimeout(tick, left - SPIN_MS);
      else setImmediate(tick);
    };
    tick();
  });
}

/** A counting semaphore for --max-concurrency (FIFO, as asyncio.Semaphore). */
class Semaphore {
  private free: number;
  private queue: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((r) => this.queue.push(r));
  }
  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.free++;
  }
}

export async function runPlan(plan: readonly PlannedRequest[], o: RunOptions): Promise<RunOutput> {
  setMaxListeners(0, o.signal); // one abort listener per request in flight
  const agent = new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0, connectTimeout: 10_000 });
  const sem = o.maxConcurrency > 0 ? new Semaphore(o.maxConcurrency) : null;
  const records: (RequestRecord | undefined)[] = new Array(plan.length);
  const pending = new Set<Promise<void>>();
  let finished = 0;
  let cancelled = 0;
  let sent = 0;
  const t0 = performance.now();

  const one = async (p: PlannedRequest) => {
    const waitFrom = performance.now();
    if (sem) await sem.acquire();
    const queueMs = performance.now() - waitFrom;
    try {
      if (o.signal.aborted) {
        cancelled++;
        return;
      }
      const r = await sendRequest({
        dispatcher: agent,
        url: o.url,
        body: p.body,
        headers: { ...o.headers, 'x-request-id': `${o.requestIdPrefix}${p.index}` },
        timeoutMs: o.timeoutS * 1000,
        signal: o.signal,
      });
      if (r.failure === 'interrupted') {
        cancelled++;
        return;
      }
      records[p.index] = {
        index: p.index,
        scheduledUs: p.offsetUs,
        sendUs: (r.startMs - t0) * 1000,
        finishUs: (performance.now() - t0) * 1000,
        plannedPrompt: p.promptTokens,
        maxTokens: p.maxTokens,
        promptTokens: r.promptTokens,
        outputTokens: r.ok ? r.outputTokens : null,
        ok: r.ok,
        ttftMs: r.ttftMs,
        itlMs: r.itlMs,
        latencyMs: r.latencyMs,
        rank: r.rank,
        httpStatus: r.status,
        failure: r.failure,
        error: r.error,
        text: r.text,
        queueMs,
      };
      finished++;
      o.onDone?.(finished, plan.length);
    } finally {
      sem?.release();
    }
  };

  for (const p of plan) {
    await waitUntil(t0 + p.offsetUs / 1000, o.signal);
    if (o.signal.aborted) break;
    sent++;
    const pr = one(p);
    pending.add(pr);
    void pr.finally(() => pending.delete(pr));
  }
  await Promise.all(pending);
  const wallMs = performance.now() - t0;
  await agent.destroy().catch(() => {});
  return {
    records: records.filter((r): r is RequestRecord => r !== undefined),
    t0Ms: t0,
    wallMs,
    interrupted: o.signal.aborted,
    cancelled,
    notSent: plan.length - sent,
  };
}
