// vLLM /metrics samples -> per-engine load statistics. vLLM labels its engine metrics with
// `engine` (the global DP rank) and `model_name`; other labels (`pid` in Prometheus multiprocess
// mode, future ones) are tolerated. Names follow vLLM's PrometheusStatLogger
// (vllm/v1/metrics/loggers.py); `vllm:gpu_cache_usage_perc` is the name the KV-usage gauge had
// before vLLM 0.9 renamed it `vllm:kv_cache_usage_perc`.
import type { Sample } from './exposition.ts';

export interface EngineStats {
  /** Value of the `engine` label ('0' when the server does not label engines). */
  readonly engine: string;
  running: number;
  waiting: number;
  /** Fraction of KV blocks in use, [0, 1]; NaN when the server exports no KV-usage gauge. */
  kvUsage: number;
  /** KV capacity in tokens (num_gpu_blocks * block_size of vllm:cache_config_info); NaN if unknown. */
  kvCapacityTokens: number;
}

/** Accepted names, newest first. */
export const METRIC_NAMES = {
  running: ['vllm:num_requests_running'],
  waiting: ['vllm:num_requests_waiting'],
  kvUsage: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
  cacheConfig: ['vllm:cache_config_info'],
} as const;

type Field = 'running' | 'waiting' | 'kvUsage';

/**
 * Per-engine stats of one scrape, ordered by engine number. Several samples for one engine and
 * metric (multiprocess mode adds a `pid` label per API-server process) are combined with max:
 * each is a full reading of the same gauge, and max never under-reports load. When both KV names
 * are present the newer one wins.
 */
export function engineStats(samples: readonly Sample[]): EngineStats[] {
  const byEngine = new Map<string, EngineStats>();
  // Priority of the name that set kvUsage per engine (0 = newest name).
  const kvRank = new Map<string, number>();
  const get = (engine: string): EngineStats => {
    let e = byEngine.get(engine);
    if (!e) {
      e = { engine, running: NaN, waiting: NaN, kvUsage: NaN, kvCapacityTokens: NaN };
      byEngine.set(engine, e);
    }
    return e;
  };
  const setMax = (e: EngineStats, f: Field, v: number): void => {
    if (Number.isFinite(v) && !(e[f] >= v)) e[f] = v;
  };
  for (const s of samples) {
    const engine = s.labels.engine ?? '0';
    if ((METRIC_NAMES.running as readonly string[]).includes(s.name)) setMax(get(engine), 'running', s.value);
    else if ((METRIC_NAMES.waiting as readonly string[]).includes(s.name)) setMax(get(engine), 'waiting', s.value);
    else {
      const k = (METRIC_NAMES.kvUsage as readonly string[]).indexOf(s.name);
      if (k >= 0) {
        const e = get(engine);
        const prev = kvRank.get(engine);
        if (prev === undefined || k < prev) {
          kvRank.set(engine, k);
          e.kvUsage = NaN;
        }
        if (k === kvRank.get(engine)) setMax(e, 'kvUsage', Math.min(1, Math.max(0, s.value)));
      } else if ((METRIC_NAMES.cacheConfig as readonly string[]).includes(s.name)) {
        const blocks = Number(s.labels.num_gpu_blocks);
        const bs = Number(s.labels.block_size);
        if (blocks > 0 && bs > 0) get(engine).kvCapacityTokens = blocks * bs;
      }
    }
  }
  // An engine known only from cache_config_info (no load gauges) is not a live reading.
  const out = [...byEngine.values()].filter((e) => Number.isFinite(e.running) || Number.isFinite(e.waiting));
  for (const e of out) {
    if (!Number.isFinite(e.running)) e.running = 0;
    if (!Number.isFinite(e.waiting)) e.waiting = 0;
  }
  return out.sort((a, b) => engineOrder(a.engine) - engineOrder(b.engine) || (a.engine < b.engine ? -1 : 1));
}

function engineOrder(engine: string): number {
  const n = Number(engine);
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER;
}
