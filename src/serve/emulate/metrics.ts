/**
 * `/metrics` in vLLM's Prometheus exposition (names, help texts, label names and histogram
 * bucket bounds of vLLM's v1 PrometheusStatLogger, vllm/v1/metrics/loggers.py): one series per
 * engine (DP rank) with labels `model_name` and `engine`. Internal-LB mode exports every engine
 * on one port; external-LB mode exports only the port's own engine.
 *
 * Gauges and the token/preemption counters are read from the core at scrape time; latency
 * histograms are observed on the core's events, in modelled (engine-clock) seconds, which equal
 * wall seconds at --speed 1.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CoreOutcome, RankStats } from './coreApi.ts';

export const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
/** vllm:iteration_tokens_total's buckets (vLLM v1 metrics loggers). */
export const ITERATION_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
export const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
export const REQUEST_LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

const LABELS = ['model_name', 'engine'] as const;

/** vLLM's build_1_2_5_buckets(max_model_len): 1, 2, 5, 10, 20, 50, ... up to the bound. */
export function buckets125(max: number): number[] {
  const out: number[] = [];
  for (let e = 1; ; e *= 10) for (const m of [1, 2, 5]) {
    if (m * e > max) return out;
    out.push(m * e);
  }
}

/** What vLLM's FinishedRequestStats holds beyond the latencies (per finished request). */
export interface FinishedCounts {
  promptTokens: number;
  generationTokens: number;
  /** The request's max_tokens (vllm:request_params_max_tokens, request_max_num_generation_tokens). */
  maxTokens: number;
  /** Last token minus first token, s (vllm:request_decode_time_seconds); undefined without a first token. */
  decodeSeconds?: number;
}

export interface MetricsSource {
  rankStats(g: number): RankStats;
}

interface EngineSeries {
  counts: { observe(v: number): void }[];
  decode: { observe(v: number): void };
  tpot: { observe(v: number): void };
  ttft: { observe(v: number): void };
  itl: { observe(v: number): void };
  e2e: { observe(v: number): void };
  queue: { observe(v: number): void };
  prefill: { observe(v: number): void };
  inference: { observe(v: number): void };
  iteration: { observe(v: number): void };
}

/** The metrics of one HTTP endpoint, covering `engines` (global DP ranks). */
export class EndpointMetrics {
  readonly registry = new Registry();
  private readonly series = new Map<number, EngineSeries>();
  private readonly success: Counter<'model_name' | 'engine' | 'finished_reason'>;

  // Long on purpose: declares every vLLM family the endpoint serves, in vLLM's order.
  constructor(
    readonly modelName: string,
    readonly engines: readonly number[],
    source: MetricsSource,
    cache: { blockSize: number; numGpuBlocks: number },
    maxModelLen = 1 << 20,
  ) {
    const reg = [this.registry];
    const model = modelName;
    const each = (fn: (labels: { model_name: string; engine: string }, g: number) => void) => {
      for (const g of engines) fn({ model_name: model, engine: String(g) }, g);
    };
    new Gauge({
      name: 'vllm:num_requests_running',
      help: 'Number of requests in model execution batches.',
      labelNames: LABELS,
      registers: reg,
      collect() {
        each((l, g) => this.set(l, source.rankStats(g).running));
      },
    });
    new Gauge({
      name: 'vllm:num_requests_waiting',
      help: 'Number of requests waiting to be processed.',
      labelNames: LABELS,
      registers: reg,
      collect() {
        each((l, g) => this.set(l, source.rankStats(g).waiting));
      },
    });
    new Gauge({
      name: 'vllm:kv_cache_usage_perc',
      help: 'KV-cache usage. 1 means 100 percent usage.',
      labelNames: LABELS,
      registers: reg,
      collect() {
        each((l, g) => {
          const s = source.rankStats(g);
          this.set(l, s.kvBlocksTotal > 0 ? s.kvBlocksUsed / s.kvBlocksTotal : 0);
        });
      },
    });
    const info = new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Information of the LLMEngine CacheConfig',
      labelNames: ['block_size', 'num_gpu_blocks', 'model_name', 'engine'],
      registers: reg,
    });
    each((l) => info.set({ ...l, block_size: String(cache.blockSize), num_gpu_blocks: String(cache.numGpuBlocks) }, 1));
    // Counters that mirror the core's running totals: add what is new since the last scrape.
    const mirror = (name: string, help: string, pick: (s: RankStats) => number) => {
      const seen = new Map<number, number>();
      const c: Counter<'model_name' | 'engine'> = new Counter({
        name,
        help,
        labelNames: LABELS,
        registers: reg,
        collect() {
          each((l, g) => {
            const v = pick(source.rankStats(g));
            const d = v - (seen.get(g) ?? 0);
            if (d > 0) c.inc(l, d);
            seen.set(g, v);
          });
        },
      });
      each((l) => c.inc(l, 0));
    };
    mirror('vllm:num_preemptions_total', 'Cumulative number of preemption from the engine.', (s) => s.preemptions);
    mirror('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', (s) => s.promptTokens);
    mirror('vllm:generation_tokens_total', 'Number of generation tokens processed.', (s) => s.generationTokens);
    // No prefix caching is modelled: every prompt token is a query and none is a hit.
    mirror('vllm:prefix_cache_queries_total', 'Prefix cache queries, in terms of number of queried tokens.', (s) => s.promptTokens);
    mirror('vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.', () => 0);
    this.success = new Counter({
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      labelNames: ['model_name', 'engine', 'finished_reason'],
      registers: reg,
    });
    const hist = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, labelNames: LABELS, buckets, registers: reg });
    const ttft = hist('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT_BUCKETS);
    const itl = hist('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', ITL_BUCKETS);
    const e2e = hist('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', REQUEST_LATENCY_BUCKETS);
    const queue = hist('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', REQUEST_LATENCY_BUCKETS);
    const prefill = hist('vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.', REQUEST_LATENCY_BUCKETS);
    const inference = hist('vllm:request_inference_time_seconds', 'Histogram of time spent in RUNNING phase for request.', REQUEST_LATENCY_BUCKETS);
    const decode = hist('vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.', REQUEST_LATENCY_BUCKETS);
    // Tokens an engine step produced: prompt tokens of requests whose prefill completed in it plus
    // the tokens generated (vLLM's IterationStats), once per engine per step with any.
    const iteration = hist('vllm:iteration_tokens_total', 'Histogram of number of tokens per engine_step.', ITERATION_TOKEN_BUCKETS);
    const tpot = hist('vllm:request_time_per_output_token_seconds', 'Histogram of time_per_output_token_seconds per request.', ITL_BUCKETS);
    // Per-request counts, as vLLM's loggers.py defines them (1-2-5 buckets up to max_model_len).
    const b125 = buckets125(maxModelLen);
    const counts = [
      hist('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', b125),
      hist('vllm:request_generation_tokens', 'Number of generation tokens processed.', b125),
      hist('vllm:request_params_max_tokens', 'Histogram of the max_tokens request parameter.', b125),
      hist('vllm:request_max_num_generation_tokens', 'Histogram of maximum number of requested generation tokens.', b125),
      hist('vllm:request_params_n', 'Histogram of the n request parameter.', [1, 2, 5, 10, 20]),
    ];
    // Like vLLM (its per-engine `.labels()` children), every series exists from the start at 0.
    for (const reason of ['stop', 'length', 'abort']) each((l) => this.success.inc({ ...l, finished_reason: reason }, 0));
    for (const h of [ttft, itl, e2e, queue, prefill, inference, decode, tpot, iteration, ...counts]) each((l) => h.zero(l));
    each((l, g) => {
      this.series.set(g, {
        counts: counts.map((h) => h.labels(l)),
        decode: decode.labels(l),
        tpot: tpot.labels(l),
        ttft: ttft.labels(l),
        itl: itl.labels(l),
        e2e: e2e.labels(l),
        queue: queue.labels(l),
        prefill: prefill.labels(l),
        inference: inference.labels(l),
        iteration: iteration.labels(l),
      });
    });
  }

  has(g: number): boolean {
    return this.series.has(g);
  }

  firstToken(g: number, seconds: number): void {
    this.series.get(g)?.ttft.observe(seconds);
  }

  /** Engine g's tokens of one step (vllm:iteration_tokens_total). */
  iterationTokens(g: number, tokens: number): void {
    this.series.get(g)?.iteration.observe(tokens);
  }

  interToken(g: number, seconds: number): void {
    this.series.get(g)?.itl.observe(seconds);
  }

  /** A request ended (as vLLM, latency histograms only count finished requests). */
  finished(
    g: number,
    outcome: CoreOutcome,
    finishReason: string,
    e2eSeconds: number,
    queueSeconds: number | undefined,
    inferenceSeconds: number | undefined,
    prefillSeconds?: number,
    c?: FinishedCounts,
  ): void {
    const s = this.series.get(g);
    if (!s) return;
    if (outcome === 'completed') {
      if (c) {
        [c.promptTokens, c.generationTokens, c.maxTokens, c.maxTokens, 1].forEach((v, k) => s.counts[k].observe(v));
        if (c.decodeSeconds !== undefined) {
          s.decode.observe(c.decodeSeconds);
          // vLLM: decode time / (generated - 1), 0 for a one-token output.
          s.tpot.observe(c.generationTokens > 1 ? c.decodeSeconds / (c.generationTokens - 1) : 0);
        }
      }
      s.e2e.observe(e2eSeconds);
      if (queueSeconds !== undefined) s.queue.observe(queueSeconds);
      if (prefillSeconds !== undefined) s.prefill.observe(prefillSeconds);
      if (inferenceSeconds !== undefined) s.inference.observe(inferenceSeconds);
    }
    this.success.inc({ model_name: this.modelName, engine: String(g), finished_reason: finishReason });
  }

  async exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
