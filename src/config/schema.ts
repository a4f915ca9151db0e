// The one description of a configuration: every key of a sweep file (`base`, `axes`, `configs`)
// and of `balanceroute run`, with its value schema (zod), default, documentation and command-line
// flag. The Scenario type, the `run` options and their help, the sweep validation and the option
// tables of docs/sweeps.md (scripts/docs-tables.ts; test/config/docs.test.ts) all come from KEYS.
//
// Adding a key is one entry in KEYS. For example the engine's `sync: barrier|independent`:
//   sync: key({
//     schema: oneOf(['barrier', 'independent']),
//     default: 'barrier',
//     scenario: 'sync', // Scenario gets `sync: 'barrier' | 'independent'`, typed from the schema
//     flag: { arg: '<mode>', help: 'barrier: ranks step in lockstep (DP+EP); independent: each rank on its own clock' },
//     doc: { meaning: 'step synchronisation of the DP ranks' },
//   }),
// gives the sweep key, the `run --sync` flag with its choices, help and default, validation,
// defaulting and the docs row (regenerate with `npx tsx scripts/docs-tables.ts`). A rule that
// ties it to another key (sync: independent needs dispatch: on_arrival) goes in checkScenario
// (validate.ts). Router knobs need no entry here: they are checked from each router's KnobSpec.
import { z } from 'zod';
import { InputError } from '../errors.ts';
import { describeRange, numberIn, oneOf, unknownKeyError } from '../zodRules.ts';

export { describeRange, numberIn, oneOf };
import { parseDecimal } from '../decimal.ts';
import { MAX_REQUESTS } from '../workload/build.ts';
import { MAX_TOKENS } from '../workload/lengths.ts';
import { PROFILE_NAMES } from '../workload/profiles.ts';
import { MAX_TRACE_SPAN_S } from '../workload/traceReader.ts';
import type { LengthDist, WorkloadSpec } from '../workload/types.ts';
import { KV_LINK_NAMES } from '../model/kvLink.ts';

/** Largest DP size accepted (far beyond any deployment; keeps per-rank arrays sane). */
export const MAX_DP = 4096;
/**
 * Largest request rate, req/s. Arrival times are whole microseconds, so at higher rates most
 * gaps would round to 0 and requests would arrive together.
 */
export const MAX_RATE = 1_000_000;
/** Largest coefficient of variation of gamma inter-arrival gaps. */
export const MAX_CV = 100;
/** Largest scheduler limit (max_num_seqs, kv_capacity, ...): the int32 range of the engines. */
export const MAX_INT32 = 2 ** 31 - 1;
/** Longest router snapshot interval (one day), ms. */
export const MAX_STATS_INTERVAL_MS = 86_400_000;
/** Longest client timeout (one day), s. */
export const MAX_TIMEOUT_S = 86_400;
/** Largest time in a trace window, s of the trace's own clock: the longest trace span. */
export const MAX_TRACE_TIME_S = MAX_TRACE_SPAN_S;
/** Seeds are u32. */
export const SEED_LIMIT = 2 ** 32;

/** `workload` value that selects trace replay (with `trace: FILE`). */
export const TRACE_WORKLOAD = 'trace';

export const DISPATCH_VALUES = ['on_arrival', 'per_step', 'wave'] as const;
/** Longest wave timeout (one hour), ms. */
export const MAX_WAVE_TIMEOUT_MS = 3_600_000;
export const ASSIGN_ORDER_VALUES = ['fcfs', 'lpt'] as const;
export const SYNC_VALUES = ['barrier', 'independent'] as const;
export const ASYNC_SCHEDULING_VALUES = ['auto', 'on', 'off'] as const;
export const ADMISSION_VALUES = ['none', 'adp_balance'] as const;
export const TOPOLOGY_VALUES = ['colocated', 'pd'] as const;
/** Largest KV link bandwidth accepted, Gb/s (100 Tb/s: far beyond any link). */
export const MAX_LINK_GBPS = 100_000;
/** Largest KV link latency accepted, µs (one second). */
export const MAX_LINK_LATENCY_US = 1_000_000;
/** Largest KV size per token accepted, bytes (16 MiB). */
export const MAX_KV_BYTES_PER_TOKEN = 16 * 1024 * 1024;
/** Largest ADP Balance wait, in group steps (iterations). */
export const MAX_ADP_ITERS = 1_000_000;
export const ARRIVAL_VALUES = ['poisson', 'gamma'] as const;
export const TRACE_TIME_UNITS = ['s', 'ms', 'us', 'ns'] as const;
export const TRACE_COLUMN_KEYS = ['arrival', 'prompt', 'output'] as const;
export const LENGTH_DIST_KINDS = ['lognormal', 'fixed', 'uniform', 'empirical'] as const;

export type Dispatch = (typeof DISPATCH_VALUES)[number];
/** Order in which `per_step` dispatch assigns the requests of its global queue. */
export type AssignOrder = (typeof ASSIGN_ORDER_VALUES)[number];
export type Sync = (typeof SYNC_VALUES)[number];
export type AsyncScheduling = (typeof ASYNC_SCHEDULING_VALUES)[number];
/** Group-level context admission policy (docs/model.md §3.2). */
export type Admission = (typeof ADMISSION_VALUES)[number];
/** Prefill and decode on the same ranks, or disaggregated (docs/pd.md). */
export type Topology = (typeof TOPOLOGY_VALUES)[number];

// ---- value schemas: messages say the rule; the caller adds the field and the value ----

const text = (what: string) =>
  z.string({ error: `must be ${what}` }).refine((s) => s.trim() !== '', { error: `must be ${what}` });

const tokens = numberIn({ min: 1, max: MAX_TOKENS, int: true, rule: `an integer number of tokens in [1, ${MAX_TOKENS}]` });

function lengthKind<K extends string, S extends z.ZodRawShape>(kind: K, shape: S) {
  const keys = ['kind', ...Object.keys(shape)];
  return z.strictObject({ kind: z.literal(kind), ...shape }, { error: unknownKeyError(keys, 'a mapping', `unknown key for kind ${kind}`) });
}

/** A prompt or output length distribution, in tokens (docs/workloads.md). */
export const lengthDistSchema: z.ZodType<LengthDist> = z
  .discriminatedUnion(
    'kind',
    [
      lengthKind('lognormal', {
        median: numberIn({ min: 0, max: MAX_TOKENS, minExclusive: true, rule: `a number of tokens in (0, ${MAX_TOKENS}]` }),
        sigma: numberIn({ min: 0, max: 10, rule: 'a number in [0, 10] (the standard deviation of ln(length))' }),
        min: tokens.optional(),
        max: tokens.optional(),
      }),
      lengthKind('fixed', { value: tokens }),
      lengthKind('uniform', { min: tokens, max: tokens }),
      lengthKind('empirical', { profile: z.enum(PROFILE_NAMES, { error: `unknown workload profile; known: ${PROFILE_NAMES.join(', ')}` }) }),
    ],
    {
      error: (iss) =>
        iss.code === 'invalid_union'
          ? `must be one of ${LENGTH_DIST_KINDS.join(', ')}`
          : `must be a length distribution {kind: ${LENGTH_DIST_KINDS.join('|')}, ...}`,
    },
  )
  .check((ctx) => {
    const d = ctx.value as { min?: number; max?: number };
    if (d.min !== undefined && d.max !== undefined && d.max < d.min) {
      ctx.issues.push({ code: 'custom', message: `must be >= min (${d.min})`, input: d.max, path: ['max'] });
    }
  }) as z.ZodType<LengthDist>;

const traceWindowSchema = z
  .strictObject(
    {
      start_s: numberIn({ min: 0, max: MAX_TRACE_TIME_S, rule: `a time in [0, ${MAX_TRACE_TIME_S}] s` }).optional(),
      end_s: numberIn({ min: 0, max: MAX_TRACE_TIME_S, rule: `a time in [0, ${MAX_TRACE_TIME_S}] s` }).optional(),
    },
    { error: unknownKeyError(['start_s', 'end_s'], "a mapping {start_s, end_s} (seconds from the trace's first row)") },
  )
  .check((ctx) => {
    const start = ctx.value.start_s ?? 0;
    if (ctx.value.end_s !== undefined && !(ctx.value.end_s > start)) {
      ctx.issues.push({ code: 'custom', message: `must be after start_s (${start})`, input: ctx.value.end_s, path: ['end_s'] });
    }
  })
  .transform((w): NonNullable<WorkloadSpec['traceWindow']> => (w.end_s === undefined ? { startS: w.start_s ?? 0 } : { startS: w.start_s ?? 0, endS: w.end_s }));

const traceColumnsSchema = z.strictObject(
  {
    arrival: text('a column name').optional(),
    prompt: text('a column name').optional(),
    output: text('a column name').optional(),
  },
  { error: unknownKeyError(TRACE_COLUMN_KEYS, `a mapping with keys ${TRACE_COLUMN_KEYS.join(', ')} (column names in the trace)`) },
);

/**
 * A router as written: a name, or `{name: ROUTER, knob: value, ...}` (a knob value may be a list
 * in sweep files). Knobs are checked against the router's own KnobSpec list (src/routers), so a
 * new knob needs no change here.
 */
export interface RouterValue {
  name: string;
  knobs: Record<string, unknown>;
}

const routerSchema = z.unknown().transform((v, ctx): RouterValue => {
  if (typeof v === 'string' && v !== '') return { name: v, knobs: {} };
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const { name, ...knobs } = v as Record<string, unknown>;
    if (typeof name === 'string' && name !== '') return { name, knobs };
    ctx.issues.push({ code: 'custom', message: 'a router given as a mapping needs name: ROUTER (e.g. {name: br0, b: 8})', input: name, path: ['name'] });
    return z.NEVER;
  }
  ctx.issues.push({ code: 'custom', message: 'must be a router name or a mapping {name: ROUTER, knob: value, ...}', input: v });
  return z.NEVER;
});

// ---- the keys ----

/** How a `run` flag is written and read. The flag name is the key in kebab case. */
export interface FlagDef {
  /** Argument placeholder, e.g. '<n>'. */
  arg: string;
  help: string;
  /** From the flag's text to the value as a sweep file would hold it (default: as is). */
  parse?: 'decimal' | ((raw: string, field: string) => unknown);
}

interface KeyDef<S extends z.ZodType, F extends string | undefined = undefined, W extends string | undefined = undefined> {
  schema: S;
  /** The default when it does not depend on other keys (see doc.default otherwise). */
  default?: z.output<S>;
  /** Scenario field the value lands in (typed from the schema), when it is a plain copy. */
  scenario?: F;
  /** WorkloadSpec field the value lands in, when it is a plain copy. */
  workload?: W;
  flag?: FlagDef;
  doc: {
    /** What may be written, for the docs' Value column (default: from the schema's range or choices). */
    value?: string;
    /** Default as documented, when it is not `default` itself (depends on other keys). */
    default?: string;
    meaning: string;
  };
}

function key<S extends z.ZodType, const F extends string | undefined = undefined, const W extends string | undefined = undefined>(d: KeyDef<S, F, W>) {
  return d;
}

const decimal = 'decimal' as const;

/** Every configuration key, in the order the docs list them. */
export const KEYS = {
  router: key({
    schema: routerSchema,
    default: { name: 'vllm_default', knobs: {} },
    flag: { arg: '<name>', help: 'routing policy (see `balanceroute routers`); knobs with -k' },
    doc: { value: 'name or `{name, knob: value}`', default: '`vllm_default`', meaning: 'routing policy and its knobs (docs/routers.md)' },
  }),
  dp: key({
    schema: numberIn({ min: 1, max: MAX_DP, int: true }),
    default: 8,
    scenario: 'dp',
    flag: { arg: '<n>', help: 'number of DP ranks G', parse: decimal },
    doc: { meaning: 'number of DP ranks G' },
  }),
  rate: key({
    schema: numberIn({
      min: 0,
      max: MAX_RATE,
      tooSmall: `must be > 0 req/s (0 only with workload: ${TRACE_WORKLOAD}, to keep the trace's own timing)`,
      tooBig: `must be at most ${MAX_RATE} req/s (arrival times are whole microseconds)`,
    }),
    default: 3,
    workload: 'rate',
    flag: { arg: '<req/s>', help: 'mean request rate (for --trace: rescale to this rate; 0 keeps the trace timing)', parse: decimal },
    doc: {
      default: '3 (profiles), 0 (traces)',
      meaning: "mean request rate, req/s. For a trace: rescale to this rate; 0 keeps the trace's own timing (only for traces)",
    },
  }),
  seed: key({
    schema: numberIn({ min: 0, max: SEED_LIMIT - 1, int: true, rule: 'an integer in [0, 2^32)' }),
    default: 1,
    workload: 'seed',
    flag: { arg: '<n>', help: 'workload and router seed', parse: decimal },
    doc: { meaning: 'workload seed (also seeds randomised routers)' },
  }),
  requests: key({
    schema: numberIn({ min: 0, max: MAX_REQUESTS, int: true, rule: `an integer in [1, ${MAX_REQUESTS}] (0 = the whole trace, only with workload: ${TRACE_WORKLOAD})` }),
    default: 500,
    workload: 'requests',
    flag: { arg: '<n>', help: 'number of requests (for --trace: the first n; 0 = all)', parse: decimal },
    doc: {
      default: '500 (profiles), 0 (traces)',
      meaning: 'requests per configuration; for a trace the first n rows, 0 = all (only for traces)',
    },
  }),
  workload: key({
    schema: z.enum([...PROFILE_NAMES, TRACE_WORKLOAD], {
      error: (iss) =>
        typeof iss.input === 'string' && iss.input !== ''
          ? `unknown workload profile; known: ${PROFILE_NAMES.join(', ')} (or '${TRACE_WORKLOAD}' together with trace: FILE)`
          : `must be a workload profile name, or '${TRACE_WORKLOAD}' together with trace: FILE`,
    }),
    default: 'sharegpt',
    workload: 'source',
    flag: { arg: '<profile>', help: `built-in workload profile (${PROFILE_NAMES.join(', ')})` },
    doc: {
      value: 'profile name or `trace`',
      meaning: `built-in profile (${PROFILE_NAMES.map((p) => `\`${p}\``).join(', ')}) or trace replay`,
    },
  }),
  trace: key({
    schema: text('a trace file path'),
    workload: 'tracePath',
    flag: { arg: '<file>', help: 'replay a trace file (CSV, JSONL, or Arrow such as a gateway decision log) instead of a profile' },
    doc: { value: 'path', default: '', meaning: 'trace file (CSV, JSONL, or Arrow such as a gateway decision log) to replay; given alone it implies `workload: trace`' },
  }),
  trace_columns: key({
    schema: traceColumnsSchema,
    workload: 'traceColumns',
    flag: { arg: '<arrival,prompt,output>', help: 'trace column names, comma-separated, in this order', parse: parseTraceColumns },
    doc: { value: '`{arrival, prompt, output}`', default: 'detected', meaning: 'column names in the trace' },
  }),
  trace_time_unit: key({
    schema: oneOf(TRACE_TIME_UNITS),
    workload: 'traceTimeUnit',
    flag: { arg: '<unit>', help: 'unit of the trace arrival column' },
    doc: { default: 'from the column name', meaning: "unit of the trace's arrival column" },
  }),
  trace_window: key({
    schema: traceWindowSchema,
    workload: 'traceWindow',
    flag: { arg: '<start_s,end_s>', help: 'replay only trace rows arriving in [start_s, end_s) seconds of the trace clock', parse: parseTraceWindow },
    doc: {
      value: `\`{start_s, end_s}\` (either optional), seconds 0 … ${MAX_TRACE_TIME_S.toLocaleString('en-US')}`,
      default: 'the whole trace',
      meaning: "replay only rows arriving in `[start_s, end_s)` seconds of the trace's own clock (docs/workloads.md)",
    },
  }),
  arrival: key({
    schema: oneOf(ARRIVAL_VALUES),
    default: 'poisson',
    workload: 'arrival',
    flag: { arg: '<process>', help: 'arrival process' },
    doc: { meaning: 'arrival process (profiles)' },
  }),
  cv: key({
    schema: numberIn({ min: 0, max: MAX_CV, minExclusive: true }),
    default: 1,
    workload: 'cv',
    flag: { arg: '<x>', help: 'coefficient of variation of inter-arrival gaps (gamma)', parse: decimal },
    doc: { meaning: 'coefficient of variation of inter-arrival gaps for `gamma` (1 = Poisson)' },
  }),
  max_output: key({
    schema: numberIn({ min: 1, max: MAX_TOKENS, int: true }),
    default: 1024,
    workload: 'maxOutput',
    flag: { arg: '<n>', help: 'cap on output length in tokens', parse: decimal },
    doc: { meaning: 'cap on output length, tokens (longer outputs are truncated)' },
  }),
  prompt: key({
    schema: lengthDistSchema,
    workload: 'prompt',
    doc: { value: 'length distribution (below)', default: "the profile's own", meaning: "override a profile's prompt lengths" },
  }),
  output: key({
    schema: lengthDistSchema,
    workload: 'output',
    doc: { value: 'length distribution (below)', default: "the profile's own", meaning: "override a profile's output lengths" },
  }),
  model: key({
    schema: text('a step-time preset name or a .json model file'),
    default: 'qwen3-30b-a3b-h100',
    flag: { arg: '<preset|file.json>', help: 'step-time preset or model file' },
    doc: { value: 'preset name or `.json` file', meaning: 'step-time model (docs/model.md, `balanceroute presets`)' },
  }),
  max_num_seqs: key({
    schema: numberIn({ min: 1, max: MAX_INT32, int: true }),
    default: 256,
    scenario: 'maxNumSeqs',
    flag: { arg: '<n>', help: 'max running requests per rank (B)', parse: decimal },
    doc: { meaning: 'B: max running requests per rank' },
  }),
  kv_capacity: key({
    schema: numberIn({ min: 1, max: MAX_INT32, int: true }),
    flag: { arg: '<tokens>', help: 'KV capacity per rank in tokens', parse: decimal },
    doc: { value: 'integer, a multiple of `block_size`', default: 'from the model at this `dp`', meaning: 'K: KV capacity per rank, tokens' },
  }),
  block_size: key({
    schema: numberIn({ min: 1, max: MAX_INT32, int: true }),
    default: 16,
    scenario: 'blockSize',
    flag: { arg: '<tokens>', help: 'KV block size in tokens', parse: decimal },
    doc: { meaning: 'KV block size, tokens' },
  }),
  max_batched_tokens: key({
    schema: numberIn({ min: 1, max: MAX_INT32, int: true }),
    default: 8192,
    scenario: 'maxBatchedTokens',
    flag: { arg: '<n>', help: 'token budget per rank per step (M)', parse: decimal },
    doc: { meaning: 'M: token budget per rank per step (chunked prefill)' },
  }),
  max_model_len: key({
    schema: numberIn({ min: 1, max: MAX_INT32, int: true }),
    flag: { arg: '<n>', help: 'longest request accepted, tokens', parse: decimal },
    doc: { default: 'from the model', meaning: 'longest request (prompt + output) accepted' },
  }),
  stats_interval_ms: key({
    schema: numberIn({ min: 0, max: MAX_STATS_INTERVAL_MS }),
    default: 100,
    scenario: 'statsIntervalMs',
    flag: { arg: '<ms>', help: 'router snapshot refresh interval (0 = exact view)', parse: decimal },
    doc: { meaning: 'router snapshot refresh interval, ms (0 = exact view; vLLM: 100)' },
  }),
  dispatch: key({
    schema: oneOf(DISPATCH_VALUES),
    default: 'on_arrival',
    scenario: 'dispatch',
    flag: { arg: '<mode>', help: 'when requests are routed' },
    doc: {
      meaning:
        'route each request on arrival (vLLM), hold a global queue and assign it at step boundaries (BalanceRoute), or release requests in waves of one per rank (`gateway --admission wave`; docs/model.md §4)',
    },
  }),
  wave_timeout_ms: key({
    schema: numberIn({ min: 0, max: MAX_WAVE_TIMEOUT_MS }),
    default: 100,
    scenario: 'waveTimeoutMs',
    flag: { arg: '<ms>', help: 'wave dispatch: longest a request is held waiting for its wave to fill', parse: decimal },
    doc: { meaning: 'dispatch: wave — the longest a request is held for its wave to fill (G requests) before a partial wave is released, ms (`gateway --wave-timeout-ms`)' },
  }),
  sync: key({
    schema: oneOf(SYNC_VALUES),
    default: 'barrier',
    scenario: 'sync',
    flag: { arg: '<mode>', help: 'barrier: ranks step in lockstep (DP+EP); independent: each rank on its own clock' },
    doc: { meaning: 'step synchronisation of the DP ranks: lockstep with the EP barrier (MoE), or independent replicas (dense DP behind a proxy; idle_frac is 0)' },
  }),
  async_scheduling: key({
    schema: oneOf(ASYNC_SCHEDULING_VALUES),
    default: 'auto',
    scenario: 'asyncScheduling',
    flag: { arg: '<mode>', help: "async scheduling: admission and slot/KV reuse lag one step (auto: the model's asyncScheduling)" },
    doc: { meaning: "vLLM's async scheduling (the scheduler runs one step ahead: admission and freed slots and KV blocks lag one step; docs/model.md §3.1); `auto` takes the model's `asyncScheduling` (vLLM presets: on)" },
  }),
  ranks_per_node: key({
    schema: numberIn({ min: 1, max: MAX_DP, int: true }),
    default: 8,
    scenario: 'ranksPerNode',
    flag: { arg: '<n>', help: 'DP ranks per node (picks the intra- or inter-node DP sync term)', parse: decimal },
    doc: { meaning: "DP ranks per node: the step's DP synchronisation is the model's `dpSyncIntraNode` while `dp` <= this, `dpSyncInterNode` beyond (docs/model.md §5)" },
  }),
  assign_order: key({
    schema: oneOf(ASSIGN_ORDER_VALUES),
    default: 'fcfs',
    scenario: 'assignOrder',
    flag: { arg: '<order>', help: 'per_step assignment order' },
    doc: { meaning: 'order in which `per_step` assigns its queue: arrival order or largest prompt first' },
  }),
  admission: key({
    schema: oneOf(ADMISSION_VALUES),
    default: 'none',
    scenario: 'admission',
    flag: { arg: '<policy>', help: "group context admission: none, or TensorRT-LLM's ADP Balance (hold prefills until every rank has one)" },
    doc: {
      meaning:
        "group context admission (docs/model.md §3.2): `none`, or `adp_balance` (TensorRT-LLM's ADP Balance: a rank's context work waits until every rank has some, up to `adp_timeout_iters` steps; `adp_batching_wait_iters` more steps even out the batches; needs sync: barrier)",
    },
  }),
  adp_timeout_iters: key({
    schema: numberIn({ min: 0, max: MAX_ADP_ITERS, int: true }),
    default: 50,
    scenario: 'adpTimeoutIters',
    flag: { arg: '<n>', help: 'adp_balance: most group steps context work waits for every rank to have some', parse: decimal },
    doc: { meaning: "adp_balance: TensorRT-LLM's `timeout_iters`, the most group steps context work is held waiting for every rank to have some (TensorRT-LLM blog 10 used 50)" },
  }),
  adp_batching_wait_iters: key({
    schema: numberIn({ min: 0, max: MAX_ADP_ITERS, int: true }),
    default: 10,
    scenario: 'adpBatchingWaitIters',
    flag: { arg: '<n>', help: 'adp_balance: group steps every rank keeps accumulating context work once all have some', parse: decimal },
    doc: { meaning: "adp_balance: TensorRT-LLM's `batching_wait_iters`, group steps context work keeps accumulating once every rank has some (0 = context wait only; blog 10 used 10)" },
  }),
  topology: key({
    schema: oneOf(TOPOLOGY_VALUES),
    default: 'colocated',
    scenario: 'topology',
    flag: { arg: '<topology>', help: 'colocated: every rank prefills and decodes; pd: a prefill pool feeds a decode-only DP+EP group' },
    doc: {
      meaning:
        'prefill/decode topology (docs/pd.md): `colocated` (every rank prefills and decodes), or `pd` (a pool of `prefill_instances` prefill-only instances; the prompt KV goes over `kv_link` to the `dp` decode ranks, chosen by the router; CPU engine only)',
    },
  }),
  prefill_instances: key({
    schema: numberIn({ min: 1, max: MAX_DP, int: true }),
    scenario: 'prefillInstances',
    flag: { arg: '<n>', help: 'pd: prefill instances P (default: dp / 2, rounded up)', parse: decimal },
    doc: { default: '`dp` / 2, rounded up', meaning: 'pd: P, prefill instances, each one GPU sharded like a decode rank (docs/pd.md)' },
  }),
  kv_link: key({
    schema: oneOf(KV_LINK_NAMES),
    default: 'ib',
    scenario: 'kvLink',
    flag: { arg: '<link>', help: 'pd: link that carries the prompt KV to the decode rank (nvlink, nvlink5, ib, roce)' },
    doc: { meaning: 'pd: KV transfer link preset: `nvlink` (NVLink 4), `nvlink5` (NVLink 5), `ib` (400 Gb/s InfiniBand), `roce` (400 GbE); figures and sources in docs/pd.md' },
  }),
  kv_link_gbps: key({
    schema: numberIn({ min: 0, max: MAX_LINK_GBPS, minExclusive: true, rule: `a bandwidth in (0, ${MAX_LINK_GBPS}] Gb/s` }),
    scenario: 'kvLinkGbps',
    flag: { arg: '<Gb/s>', help: "pd: KV link bandwidth per transfer, Gb/s (overrides kv_link's)", parse: decimal },
    doc: { default: "`kv_link`'s", meaning: 'pd: bandwidth one KV transfer gets, Gb/s' },
  }),
  kv_link_latency_us: key({
    schema: numberIn({ min: 0, max: MAX_LINK_LATENCY_US, rule: `a latency in [0, ${MAX_LINK_LATENCY_US}] µs` }),
    scenario: 'kvLinkLatencyUs',
    flag: { arg: '<us>', help: "pd: fixed latency per KV transfer, µs (overrides kv_link's)", parse: decimal },
    doc: { default: "`kv_link`'s", meaning: 'pd: fixed latency of one KV transfer, µs' },
  }),
  kv_bytes_per_token: key({
    schema: numberIn({ min: 1, max: MAX_KV_BYTES_PER_TOKEN, int: true }),
    scenario: 'kvBytesPerToken',
    flag: { arg: '<bytes>', help: "pd: KV bytes per token moved per prompt token (default: the model's)", parse: decimal },
    doc: { default: "the model's `kvMemory.kvBytesPerToken`", meaning: 'pd: KV cache bytes per token, all layers (MLA for DeepSeek; docs/pd.md)' },
  }),
  timeout_s: key({
    schema: numberIn({ min: 0, max: MAX_TIMEOUT_S }),
    default: 0,
    scenario: 'timeoutS',
    flag: { arg: '<s>', help: 'client timeout from arrival (0 = none)', parse: decimal },
    doc: { meaning: 'client timeout from arrival, s (0 = none)' },
  }),
  timeseries: key({
    schema: z.boolean({ error: 'must be true or false' }),
    default: false,
    scenario: 'timeseries',
    doc: { meaning: 'record a per-step time series for this configuration (`sweep --timeseries FILE`; `run --timeseries FILE` sets it)' },
  }),
};

export type SweepKey = keyof typeof KEYS;
export const SWEEP_KEYS = Object.keys(KEYS) as SweepKey[];

export function isSweepKey(k: string): k is SweepKey {
  return Object.hasOwn(KEYS, k);
}

/** The checked (output) type of each key's value. */
export type KeyValue<K extends SweepKey> = z.output<(typeof KEYS)[K]['schema']>;

type Defs = typeof KEYS;
/** Scenario fields copied from one key each, typed from the key's schema. */
export type ScenarioFields = {
  [K in SweepKey as NonNullable<Defs[K]['scenario']>]: KeyValue<K>;
};

/** `rate` and `requests` default differently for a trace: its own timing, all its rows. */
export const TRACE_DEFAULTS = { rate: 0, requests: 0 } as const;

/** The static default of a key (undefined when it depends on other keys or is absent). */
export function defaultOf<K extends SweepKey>(k: K): KeyValue<K> | undefined {
  return (KEYS[k] as { default?: KeyValue<K> }).default;
}

// ---- flags ----

/** `--max-num-seqs` for `max_num_seqs`. */
export function flagName(k: SweepKey): string {
  return `--${k.replaceAll('_', '-')}`;
}

/** Commander's attribute name for a key's flag: `maxNumSeqs`. */
export function flagAttribute(k: SweepKey): string {
  return k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Keys that `run` takes as flags, in documentation order. */
export function flagKeys(): SweepKey[] {
  return SWEEP_KEYS.filter((k) => (KEYS[k] as { flag?: FlagDef }).flag !== undefined);
}

/** The enum choices of a key, when its schema is a list of names. */
export function choicesOf(k: SweepKey): readonly string[] | undefined {
  const s = KEYS[k].schema as unknown as { options?: readonly string[] };
  return Array.isArray(s.options) && s.options.every((o) => typeof o === 'string') ? s.options : undefined;
}

/** A flag's text to the value a sweep file would hold; undefined text stays undefined. */
export function flagValue(k: SweepKey, raw: string): unknown {
  const parse = (KEYS[k] as { flag?: FlagDef }).flag?.parse;
  if (parse === undefined) return raw;
  if (parse === 'decimal') {
    const x = parseDecimal(raw);
    if (x === undefined) throw new InputError(k, raw, 'must be a decimal number (such as 16, 2.5 or 1e3)');
    return x;
  }
  return parse(raw, k);
}

function parseTraceColumns(raw: string, field: string): unknown {
  const cols = raw.split(',').map((s) => s.trim());
  if (cols.length !== 3 || cols.some((c) => c === '')) throw new InputError(field, raw, 'expected three names: arrival,prompt,output');
  return { arrival: cols[0], prompt: cols[1], output: cols[2] };
}

function parseTraceWindow(raw: string, field: string): unknown {
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.length > 2 || parts[0] === '') {
    throw new InputError(field, raw, 'expected START_S,END_S (seconds from the first row; END_S may be left out)');
  }
  const num = (s: string, f: string) => {
    const x = parseDecimal(s);
    if (x === undefined) throw new InputError(`${field}.${f}`, s, 'must be a number');
    return x;
  };
  const start = num(parts[0], 'start_s');
  return parts[1] === undefined || parts[1] === '' ? { start_s: start } : { start_s: start, end_s: num(parts[1], 'end_s') };
}

// ---- the sweep file ----

/** Top-level keys of a sweep file. */
export const SWEEP_FILE_KEYS = ['name', 'base', 'axes', 'configs'] as const;

const anyKey = Object.fromEntries(SWEEP_KEYS.map((k) => [k, z.unknown().optional()])) as Record<SweepKey, z.ZodOptional<z.ZodUnknown>>;

/** A mapping of configuration keys to (not yet checked) values: `base` and each `configs` entry. */
const entrySchema = z.strictObject(anyKey, { error: unknownKeyError(SWEEP_KEYS, 'a mapping of key: value') });

/**
 * The shape of a sweep file (docs/sweeps.md, "Format"); values are checked per key afterwards,
 * where each one's place is known (`axes.rate[2]`).
 */
export const sweepFileSchema = z.strictObject(
  {
    name: z.union([z.string(), z.number()], { error: 'must be a string' }).nullish(),
    base: entrySchema.nullish(),
    axes: z
      .strictObject(anyKey, { error: unknownKeyError(SWEEP_KEYS, 'a mapping of key to list of values') })
      .check((ctx) => {
        for (const [k, v] of Object.entries(ctx.value)) {
          if (Array.isArray(v) && v.length === 0) {
            ctx.issues.push({ code: 'custom', message: 'empty list: an axis needs at least one value (or remove it)', input: v, path: [k] });
          }
        }
      })
      .nullish(),
    configs: z
      .array(entrySchema, { error: 'must be a list of mappings' })
      .min(1, { error: 'empty list: give at least one configuration or remove configs' })
      .nullish(),
  },
  {
    error: unknownKeyError(
      SWEEP_FILE_KEYS,
      `a mapping with keys ${SWEEP_FILE_KEYS.join(', ')}`,
      'unknown top-level key',
    ),
  },
);
