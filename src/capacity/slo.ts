// A latency SLO: upper bounds on result columns, e.g. `ttft_p95_ms=2000,tpot_p95_ms=100`. Used by
// `capacity` (the largest rate that meets it) and by `sweep --slo` (goodput columns).
import { InputError } from '../errors.ts';
import { METRIC_COLUMNS, type RunMetrics } from '../metrics/types.ts';

/** One bound: `metric` at or below `bound`. */
export interface SloBound {
  metric: string;
  bound: number;
}

export interface Slo {
  bounds: readonly SloBound[];
  /** Canonical text, `metric=bound,...` in the given order (stored in output metadata). */
  text: string;
}

/** Derived metric: failed requests as a fraction of all requests. */
export const FAILED_FRAC = 'failed_frac';

/**
 * Result columns an SLO may bound: request latencies (ms) and the failure fraction. The pd KV
 * transfer times are a part of TTFT, not a latency a client sees (and null when colocated).
 */
export function sloMetrics(): string[] {
  return [...METRIC_COLUMNS.filter((m) => m.endsWith('_ms') && m !== 'wall_ms' && !m.startsWith('kv_transfer_')), FAILED_FRAC];
}

/** Per-request bounds a goodput count can check (DistServe's definition): the metric family of a bound. */
export type RequestMetric = 'ttft' | 'tpot' | 'e2e' | 'queue';

/** Parse `metric=bound[,metric=bound...]`; every problem is an InputError naming `field`. */
export function parseSlo(text: string | undefined, field = 'slo'): Slo {
  if (text === undefined || text.trim() === '') throw new InputError(field, text ?? '', 'expected metric=bound[,metric=bound...], e.g. ttft_p95_ms=2000,tpot_p95_ms=100');
  const allowed = sloMetrics();
  const bounds: SloBound[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z0-9_]+)\s*(?:<=|=)\s*([^\s]+)\s*$/.exec(part);
    if (!m) throw new InputError(field, part, 'expected metric=bound, e.g. ttft_p95_ms=2000');
    const [, metric, boundText] = m;
    if (!allowed.includes(metric)) {
      throw new InputError(`${field}.${metric}`, metric, `is not a result column an SLO can bound; one of ${allowed.join(', ')}`);
    }
    if (!/^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(boundText)) throw new InputError(`${field}.${metric}`, boundText, 'must be a decimal number > 0');
    const bound = Number(boundText);
    if (!(bound > 0) || !Number.isFinite(bound)) throw new InputError(`${field}.${metric}`, boundText, 'must be a finite number > 0');
    if (metric === FAILED_FRAC && bound > 1) throw new InputError(`${field}.${metric}`, boundText, 'is a fraction: must be in (0, 1]');
    if (bounds.some((b) => b.metric === metric)) throw new InputError(`${field}.${metric}`, boundText, 'is given twice');
    bounds.push({ metric, bound });
  }
  return { bounds, text: bounds.map((b) => `${b.metric}=${b.bound}`).join(',') };
}

/** The value an SLO bound is checked against (NaN when undefined, e.g. no completed request). */
export function sloValue(m: RunMetrics, metric: string): number {
  if (metric === FAILED_FRAC) return m.requests > 0 ? m.failed / m.requests : NaN;
  const v = (m as unknown as Record<string, number>)[metric];
  return typeof v === 'number' ? v : NaN;
}

/**
 * True when every bound holds. A latency that is undefined (no request completed) fails: a run
 * that serves nothing does not meet a latency SLO.
 */
export function meetsSlo(m: RunMetrics, slo: Slo): boolean {
  for (const b of slo.bounds) {
    const v = sloValue(m, b.metric);
    if (!(v <= b.bound)) return false;
  }
  return true;
}

/**
 * Per-request latency limits for goodput: for each bounded family (ttft, tpot, e2e, queue) the
 * tightest bound on any of its statistics. A request counts as good when it completed and each of
 * its own latencies is within the limit (DistServe, Zhong et al., OSDI 2024, §2).
 */
export function requestLimits(slo: Slo): Partial<Record<RequestMetric, number>> {
  const out: Partial<Record<RequestMetric, number>> = {};
  for (const b of slo.bounds) {
    const fam = /^(ttft|tpot|e2e|queue)_/.exec(b.metric)?.[1] as RequestMetric | undefined;
    if (!fam) continue;
    out[fam] = Math.min(out[fam] ?? Infinity, b.bound);
  }
  return out;
}
