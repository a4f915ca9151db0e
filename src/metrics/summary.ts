/**
 * Turns a run's counters and latency histograms into the metrics row (docs/model.md §8).
 * Shared by every engine so that the same raw results always give the same row.
 */
import { Histogram } from './histogram.ts';
import type { FrontendTerms } from '../model/types.ts';
import type { RunMetrics } from './types.ts';

/** Raw totals an engine accumulates while simulating one configuration. Times in µs. */
export interface RunCounters {
  requests: number;
  completed: number;
  failedRejected: number;
  failedTimeout: number;
  preemptions: number;
  outputTokens: number;
  steps: number;
  busyUs: number;
  /** Sum over busy steps of T * (max - mean) / mean of rank KV load. */
  imbalanceAcc: number;
  /** Sum over busy steps of T * mean / max of rank KV load. */
  balanceAcc: number;
  /**
   * Sum over busy group steps of mean / max tokens scheduled per rank (TensorRT-LLM's balance
   * ratio); NaN when not recorded (rank steps of sync: independent, the GPU engine).
   */
  tokenBalanceAcc: number;
  /** Sum of T over steps where some rank holds KV. */
  loadWeightUs: number;
  /** Sum over steps of sum_g t_g. */
  sumRankUs: number;
  /** Sum over steps of G * max_g t_g. */
  sumMaxRankUs: number;
  /** Sum over steps of (requests in system at step start) * T. */
  inSystemAreaUs: number;
  firstArrivalUs: number;
  lastEventUs: number;
  /** The run used async scheduling (docs/model.md §3). */
  asyncScheduling: boolean;
}

export function newCounters(requests: number): RunCounters {
  return {
    requests, completed: 0, failedRejected: 0, failedTimeout: 0, preemptions: 0, outputTokens: 0,
    steps: 0, busyUs: 0, imbalanceAcc: 0, balanceAcc: 0, tokenBalanceAcc: NaN, loadWeightUs: 0, sumRankUs: 0,
    sumMaxRankUs: 0, inSystemAreaUs: 0, firstArrivalUs: 0, lastEventUs: 0, asyncScheduling: false,
  };
}

/**
 * Latency histograms of completed requests (µs), both anchors (docs/model.md §8): the
 * client-anchored ones (ttft, tpot, e2e; from arrival, plus the model's front-end terms) and the
 * engine-anchored ones (from queued_us, the boundary at which the engine took the request).
 */
export class LatencyHistograms {
  readonly ttft = new Histogram();
  readonly tpot = new Histogram();
  readonly e2e = new Histogram();
  readonly queue = new Histogram();
  readonly ttftEngine = new Histogram();
  readonly e2eEngine = new Histogram();
  /** scheduled_us - queued_us (vLLM vllm:request_queue_time_seconds). */
  readonly requestQueue = new Histogram();
  /** first token - scheduled_us (vLLM vllm:request_prefill_time_seconds). */
  readonly requestPrefill = new Histogram();
  private ingressUs = 0;
  private egressUs = 0;
  private perTokenUs = 0;

  /** Empty every histogram; `frontend` sets the front-end terms of the client anchor (absent = 0). */
  reset(frontend?: FrontendTerms): void {
    this.ttft.reset();
    this.tpot.reset();
    this.e2e.reset();
    this.queue.reset();
    this.ttftEngine.reset();
    this.e2eEngine.reset();
    this.requestQueue.reset();
    this.requestPrefill.reset();
    this.ingressUs = frontend?.ingressUs ?? 0;
    this.egressUs = frontend?.egressUs ?? 0;
    this.perTokenUs = frontend?.perTokenUs ?? 0;
  }

  /** Client-anchored TTFT of a request whose first token is at `firstTokenUs` (as recorded). */
  ttftUs(arrivalUs: number, firstTokenUs: number): number {
    return firstTokenUs - arrivalUs + this.ingressUs + this.perTokenUs;
  }

  /**
   * Record one completed request. Client anchor: TTFT = first - arrival + ingress + perToken,
   * E2E = end - arrival + ingress + egress + perToken * output, TPOT = floor((E2E - TTFT) /
   * (output - 1)) µs for output > 1. Engine anchor (when queuedUs >= 0): from queuedUs, no
   * front-end terms; queue and prefill time split at scheduledUs.
   */
  recordCompleted(arrivalUs: number, admitUs: number, firstTokenUs: number, endUs: number, output: number, queuedUs = -1, scheduledUs = -1): void {
    const ttft = this.ttftUs(arrivalUs, firstTokenUs);
    const e2e = endUs - arrivalUs + this.ingressUs + this.egressUs + this.perTokenUs * output;
    this.ttft.record(ttft);
    this.e2e.record(e2e);
    this.queue.record(admitUs - arrivalUs);
    if (output > 1) this.tpot.record(Math.floor((e2e - ttft) / (output - 1)));
    if (queuedUs >= 0) {
      this.ttftEngine.record(firstTokenUs - queuedUs);
      this.e2eEngine.record(endUs - queuedUs);
      if (scheduledUs >= 0) {
        this.requestQueue.record(scheduledUs - queuedUs);
        this.requestPrefill.record(firstTokenUs - scheduledUs);
      }
    }
  }
}

export function summarize(c: RunCounters, h: LatencyHistograms, wallMs: number): RunMetrics {
  const makespanUs = Math.max(1, c.lastEventUs - c.firstArrivalUs);
  const seconds = makespanUs / 1e6;
  const ms = (us: number): number => us / 1000;
  return {
    requests: c.requests,
    completed: c.completed,
    failed: c.failedRejected + c.failedTimeout,
    failed_rejected: c.failedRejected,
    failed_timeout: c.failedTimeout,
    preempted: c.preemptions,
    output_tokens: c.outputTokens,
    makespan_s: seconds,
    throughput_tok_s: c.outputTokens / seconds,
    req_per_s: c.completed / seconds,
    ttft_mean_ms: ms(h.ttft.mean()),
    ttft_p50_ms: ms(h.ttft.percentile(50)),
    ttft_p90_ms: ms(h.ttft.percentile(90)),
    ttft_p95_ms: ms(h.ttft.percentile(95)),
    ttft_p99_ms: ms(h.ttft.percentile(99)),
    tpot_mean_ms: ms(h.tpot.mean()),
    tpot_p50_ms: ms(h.tpot.percentile(50)),
    tpot_p90_ms: ms(h.tpot.percentile(90)),
    tpot_p95_ms: ms(h.tpot.percentile(95)),
    tpot_p99_ms: ms(h.tpot.percentile(99)),
    e2e_mean_ms: ms(h.e2e.mean()),
    e2e_p50_ms: ms(h.e2e.percentile(50)),
    e2e_p90_ms: ms(h.e2e.percentile(90)),
    e2e_p95_ms: ms(h.e2e.percentile(95)),
    e2e_p99_ms: ms(h.e2e.percentile(99)),
    queue_mean_ms: ms(h.queue.mean()),
    queue_p50_ms: ms(h.queue.percentile(50)),
    queue_p90_ms: ms(h.queue.percentile(90)),
    queue_p95_ms: ms(h.queue.percentile(95)),
    queue_p99_ms: ms(h.queue.percentile(99)),
    ttft_engine_mean_ms: ms(h.ttftEngine.mean()),
    ttft_engine_p50_ms: ms(h.ttftEngine.percentile(50)),
    ttft_engine_p90_ms: ms(h.ttftEngine.percentile(90)),
    ttft_engine_p95_ms: ms(h.ttftEngine.percentile(95)),
    ttft_engine_p99_ms: ms(h.ttftEngine.percentile(99)),
    e2e_engine_mean_ms: ms(h.e2eEngine.mean()),
    e2e_engine_p50_ms: ms(h.e2eEngine.percentile(50)),
    e2e_engine_p90_ms: ms(h.e2eEngine.percentile(90)),
    e2e_engine_p95_ms: ms(h.e2eEngine.percentile(95)),
    e2e_engine_p99_ms: ms(h.e2eEngine.percentile(99)),
    request_queue_time_mean_ms: ms(h.requestQueue.mean()),
    request_queue_time_p50_ms: ms(h.requestQueue.percentile(50)),
    request_queue_time_p90_ms: ms(h.requestQueue.percentile(90)),
    request_queue_time_p95_ms: ms(h.requestQueue.percentile(95)),
    request_queue_time_p99_ms: ms(h.requestQueue.percentile(99)),
    request_prefill_time_mean_ms: ms(h.requestPrefill.mean()),
    request_prefill_time_p50_ms: ms(h.requestPrefill.percentile(50)),
    request_prefill_time_p90_ms: ms(h.requestPrefill.percentile(90)),
    request_prefill_time_p95_ms: ms(h.requestPrefill.percentile(95)),
    request_prefill_time_p99_ms: ms(h.requestPrefill.percentile(99)),
    imbalance: c.loadWeightUs > 0 ? c.imbalanceAcc / c.loadWeightUs : 0,
    idle_frac: c.sumMaxRankUs > 0 ? 1 - c.sumRankUs / c.sumMaxRankUs : 0,
    balance_ratio: c.loadWeightUs > 0 ? c.balanceAcc / c.loadWeightUs : 1,
    token_balance_ratio: c.steps > 0 ? c.tokenBalanceAcc / c.steps : Number.isNaN(c.tokenBalanceAcc) ? NaN : 1,
    steps: c.steps,
    busy_s: c.busyUs / 1e6,
    mean_in_system: c.inSystemAreaUs / makespanUs,
    async_scheduling: c.asyncScheduling ? 1 : 0,
    // Prefill/decode disaggregation only (src/engine/pd fills them in).
    prefill_util: NaN,
    decode_util: NaN,
    kv_transfer_mean_ms: NaN,
    kv_transfer_p95_ms: NaN,
    wall_ms: wallMs,
  };
}
