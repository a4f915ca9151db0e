// The columns of a result file: one row per configuration. Column meanings and units:
// docs/output.md.
import type { Scenario } from '../config/scenario.ts';
import type { EngineInfo, RunResult } from '../engine/types.ts';
import { INTEGER_METRICS, METRIC_COLUMNS, type RunMetrics } from '../metrics/types.ts';
import { ROUTERS } from '../routers/index.ts';
import type { KnobValue } from '../routers/types.ts';
import type { CellValue, ColumnKind } from '../formats/arrowTable.ts';
import { resolveStepModel } from '../model/presets.ts';
import { resolvePdSetup, type PdSetup } from '../engine/pd/simulatePd.ts';

/** One result column: its name, Arrow kind, unit ('' = none) and how to read it from a result. */
export interface ResultColumn {
  name: string;
  kind: ColumnKind;
  unit: string;
  get(r: RunResult, engine: EngineInfo): CellValue;
}

/** Prefix of knob columns: router knob `b` becomes column `knob_b`. */
export const KNOB_PREFIX = 'knob_';

/** Identifies balanceroute result files in the schema metadata (`format` key). */
export const RESULTS_FORMAT = 'balanceroute-results/1';

/**
 * Integer metrics that may exceed 2^31 on long sweeps (tokens and steps of a long trace replay):
 * written as Float64, exact up to 2^53.
 */
export const WIDE_INTEGER_METRICS: ReadonlySet<keyof RunMetrics> = new Set<keyof RunMetrics>(['output_tokens', 'steps']);

const col = (name: string, kind: ColumnKind, unit: string, get: ResultColumn['get']): ResultColumn => ({ name, kind, unit, get });

const jsonOrNull = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

/** Configuration columns before the knob columns. */
const HEAD: ResultColumn[] = [
  col('config_index', 'int32', '', (r) => r.scenario.index),
  col('router', 'dictionary', '', (r) => r.scenario.router),
  col('router_params', 'dictionary', '', (r) => JSON.stringify(r.scenario.routerParams)),
];

/** Configuration columns after the knob columns. */
const TAIL: ResultColumn[] = [
  col('dp', 'int32', 'ranks', (r) => r.scenario.dp),
  col('seed', 'int32', '', (r) => r.scenario.workload.seed),
  // The stream's actual size (a trace may hold fewer requests than asked; 0 = all).
  col('requests', 'int32', 'requests', (r) => r.metrics.requests),
  col('max_num_seqs', 'int32', 'sequences', (r) => r.scenario.maxNumSeqs),
  col('kv_capacity', 'int32', 'tokens', (r) => r.scenario.kvCapacity),
  col('block_size', 'int32', 'tokens', (r) => r.scenario.blockSize),
  col('max_batched_tokens', 'int32', 'tokens', (r) => r.scenario.maxBatchedTokens),
  col('max_model_len', 'int32', 'tokens', (r) => r.scenario.maxModelLen),
  col('rate', 'float64', 'req/s', (r) => r.scenario.workload.rate),
  col('cv', 'float64', '', (r) => r.scenario.workload.cv),
  col('stats_interval_ms', 'float64', 'ms', (r) => r.scenario.statsIntervalMs),
  col('timeout_s', 'float64', 's', (r) => r.scenario.timeoutS),
  col('workload', 'dictionary', '', (r) => r.scenario.workload.source),
  col('trace', 'dictionary', '', (r) => r.scenario.workload.tracePath ?? null),
  col('arrival', 'dictionary', '', (r) => r.scenario.workload.arrival),
  col('dispatch', 'dictionary', '', (r) => r.scenario.dispatch),
  col('assign_order', 'dictionary', '', (r) => r.scenario.assignOrder),
  col('sync', 'dictionary', '', (r) => r.scenario.sync ?? 'barrier'),
  col('ranks_per_node', 'int32', 'ranks', (r) => r.scenario.ranksPerNode ?? 8),
  col('admission', 'dictionary', '', (r) => r.scenario.admission ?? 'none'),
  col('adp_timeout_iters', 'int32', 'steps', (r) => ((r.scenario.admission ?? 'none') === 'adp_balance' ? (r.scenario.adpTimeoutIters ?? 50) : null)),
  col('adp_batching_wait_iters', 'int32', 'steps', (r) => ((r.scenario.admission ?? 'none') === 'adp_balance' ? (r.scenario.adpBatchingWaitIters ?? 10) : null)),
  col('wave_timeout_ms', 'float64', 'ms', (r) => (r.scenario.dispatch === 'wave' ? (r.scenario.waveTimeoutMs ?? 100) : null)),
  col('topology', 'dictionary', '', (r) => r.scenario.topology ?? 'colocated'),
  // pd only (null with topology colocated): the values the run resolved (src/engine/pd).
  col('prefill_instances', 'int32', 'instances', (r) => pdSetupOf(r)?.prefillInstances ?? null),
  col('kv_link', 'dictionary', '', (r) => pdSetupOf(r)?.link.name ?? null),
  col('kv_link_gbps', 'float64', 'Gb/s', (r) => pdSetupOf(r)?.link.gbps ?? null),
  col('kv_link_latency_us', 'float64', 'µs', (r) => pdSetupOf(r)?.link.latencyUs ?? null),
  col('kv_bytes_per_token', 'int32', 'bytes', (r) => pdSetupOf(r)?.kvBytesPerToken ?? null),
  col('model', 'dictionary', '', (r) => r.scenario.model),
  col('engine', 'dictionary', '', (_r, e) => e.engine),
  col('max_output', 'int32', 'tokens', (r) => r.scenario.workload.maxOutput),
  col('prompt_dist', 'dictionary', '', (r) => jsonOrNull(r.scenario.workload.prompt)),
  col('output_dist', 'dictionary', '', (r) => jsonOrNull(r.scenario.workload.output)),
];

/** What a pd run resolved (prefill pool size, link, KV bytes per token); undefined when colocated. */
function pdSetupOf(r: RunResult): PdSetup | undefined {
  const sc = r.scenario;
  return (sc.topology ?? 'colocated') === 'pd' ? resolvePdSetup(sc, resolveStepModel(sc.model)) : undefined;
}

/** Metric columns, in METRIC_COLUMNS order; `requests` is already among the configuration columns. */
const METRICS: ResultColumn[] = METRIC_COLUMNS.filter((m) => m !== 'requests').map((m) =>
  col(m, INTEGER_METRICS.has(m) && !WIDE_INTEGER_METRICS.has(m) ? 'int32' : 'float64', metricUnit(m), (r) => r.metrics[m]),
);

/** The unit of a metric, from its name (docs/output.md lists them). */
export function metricUnit(m: keyof RunMetrics): string {
  if (m.endsWith('_ms')) return 'ms';
  if (m === 'throughput_tok_s') return 'tokens/s';
  if (m === 'req_per_s') return 'req/s';
  if (m.endsWith('_s')) return 's';
  if (m === 'output_tokens') return 'tokens';
  if (m === 'steps') return 'steps';
  if (m === 'mean_in_system') return 'requests';
  if (m === 'preempted') return 'preemptions';
  if (m === 'async_scheduling') return '';
  if (INTEGER_METRICS.has(m)) return 'requests';
  return '';
}

/**
 * A knob column: Float64 for numeric knobs, dictionary strings for enums and for numeric knobs
 * that also take a word (br0 `b = G`, fast_phi `K = full`); null where absent.
 */
export interface KnobColumn {
  knob: string;
  kind: 'float64' | 'dictionary';
}

/**
 * Knob columns for a set of routers, in a canonical order (registry order of routers, then each
 * router's declared knob order) so that shards of one sweep agree on column order. A knob name
 * that is numeric in one router and an enum in another becomes a string column.
 */
export function knobColumnsFor(routers: Iterable<string>, paramsOf?: (router: string) => Record<string, KnobValue> | undefined): KnobColumn[] {
  const present = new Set(routers);
  // Kinds come from every registered router, present or not, so shards always agree on them.
  const kinds = new Map<string, KnobColumn['kind']>();
  const addKind = (knob: string, kind: KnobColumn['kind']) => {
    const had = kinds.get(knob);
    kinds.set(knob, had && had !== kind ? 'dictionary' : kind);
  };
  for (const def of Object.values(ROUTERS)) {
    for (const k of def.knobs) addKind(k.name, k.kind === 'enum' || (k.values?.length ?? 0) > 0 ? 'dictionary' : 'float64');
  }
  const names: string[] = [];
  const add = (knob: string) => {
    if (!names.includes(knob)) names.push(knob);
  };
  for (const [name, def] of Object.entries(ROUTERS)) if (present.has(name)) for (const k of def.knobs) add(k.name);
  // Routers unknown to this registry (a file from another version): knobs by value type.
  for (const name of [...present].filter((n) => !Object.hasOwn(ROUTERS, n)).sort()) {
    for (const [knob, v] of Object.entries(paramsOf?.(name) ?? {})) {
      if (!kinds.has(knob)) kinds.set(knob, typeof v === 'number' ? 'float64' : 'dictionary');
      add(knob);
    }
  }
  return names.map((knob) => ({ knob, kind: kinds.get(knob)! }));
}

/** All result columns for these results. */
export function resultColumns(results: readonly RunResult[]): ResultColumn[] {
  return resultColumnsFor(results.map((r) => r.scenario));
}

/**
 * All result columns for these configurations (known before they are simulated). Dictionary
 * columns read only the configuration and the engine, so a writer can collect their values
 * up front (see dictionaryValues).
 */
export function resultColumnsFor(scenarios: readonly Scenario[]): ResultColumn[] {
  const params = new Map<string, Record<string, KnobValue>>();
  for (const sc of scenarios) if (!params.has(sc.router)) params.set(sc.router, sc.routerParams);
  const knobs = knobColumnsFor(params.keys(), (n) => params.get(n)).map(({ knob, kind }) =>
    col(`${KNOB_PREFIX}${knob}`, kind, '', (r) => {
      const v = Object.hasOwn(r.scenario.routerParams, knob) ? r.scenario.routerParams[knob] : undefined;
      if (v === undefined) return null;
      return kind === 'dictionary' ? String(v) : (v as number);
    }),
  );
  const goodput = scenarios.some((sc) => sc.goodput) ? GOODPUT : [];
  return [...HEAD, ...knobs, ...TAIL, ...METRICS, ...goodput];
}

/** The values a dictionary column will hold for these configurations (before simulating them). */
export function dictionaryValues(c: ResultColumn, scenarios: readonly Scenario[], engine: EngineInfo): Set<string | null> {
  if (c.kind !== 'dictionary') throw new Error(`column ${c.name} is not a dictionary column`);
  const out = new Set<string | null>();
  // Dictionary columns never read metrics: a result with only the configuration is enough.
  const probe = { scenario: undefined as unknown as Scenario } as RunResult;
  for (const sc of scenarios) {
    probe.scenario = sc;
    const v = cell(c, probe, engine);
    out.add(v === null ? null : String(v));
  }
  return out;
}

/** Goodput columns, present when the sweep was run with `--slo` (docs/output.md). */
const GOODPUT: ResultColumn[] = [
  col('goodput_req_s', 'float64', 'req/s', (r) => r.goodput?.goodput_req_s ?? null),
  col('slo_attainment', 'float64', '', (r) => r.goodput?.slo_attainment ?? null),
];

/**
 * One result as a plain object with the column names as keys (for `run --json`). Only this
 * row's router knobs appear; non-finite numbers become null, as in the Arrow file.
 */
export function resultRow(r: RunResult, engine: EngineInfo): Record<string, CellValue> {
  const row: Record<string, CellValue> = {};
  for (const c of resultColumns([r])) row[c.name] = cell(c, r, engine);
  return row;
}

/** A column's value for one result, normalised for Arrow: non-finite numbers are null. */
export function cell(c: ResultColumn, r: RunResult, engine: EngineInfo): CellValue {
  const v = c.get(r, engine);
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}
