// Buffer layout of the WebGPU engine: bindings, field numbers and index functions.
//
// The host (src/engine/gpu/layout.ts) reads the `const NAME: u32 = N;` lines of this file, so
// field numbers are defined once, here. Everything is structure-of-arrays with the configuration
// index fastest ([field][rank][config], [field][request][config], [field][config]): neighbouring
// invocations (= neighbouring configurations) touch neighbouring words, so a warp's loads coalesce.
// docs/gpu.md has the full picture.

// ---- per-chunk dimensions (one uniform buffer per pipeline group of a chunk) ----
struct Dims {
  // Configurations in the chunk: the stride of the config dimension in every buffer.
  C: u32,
  // Request slots per configuration (max requests over the chunk).
  maxN: u32,
  // Rank slots per configuration (max G over the chunk).
  maxG: u32,
  // Running-list slots per rank (max over the chunk of min(max_num_seqs, requests)).
  runCap: u32,
  // Horizon points per configuration (max over the chunk; 0 when no router needs projections).
  maxJ: u32,
  // This dispatch covers configurations [base, base + count) of the chunk.
  base: u32,
  count: u32,
  // Main-loop iterations (steps or idle jumps) one invocation runs per dispatch.
  maxIter: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
// Per-configuration parameters, [P_*][config] (f32 knobs stored as bits).
@group(0) @binding(1) var<storage, read> params: array<u32>;
// Request streams shared by every configuration with the same workload (common random numbers):
// per request 4 words (arrival low, arrival high, prompt, output) from the stream's offset, and
// the output-length survival table as f32 bits from its own offset; also the step-time curves
// shared by every configuration with the same model and G.
@group(0) @binding(2) var<storage, read> streams: array<u32>;
// Per-configuration scalar state and totals, [S_*][config].
@group(0) @binding(3) var<storage, read_write> cfg: array<u32>;
// Per-request state, [R_*][request][config].
@group(0) @binding(4) var<storage, read_write> reqs: array<u32>;
// Per-rank state [K_*][rank][config], then the running lists [slot][rank][config], then the
// projected loads (mean, variance: [point][rank][config] each, f32 bits), then one scratch word
// per horizon point [point][config].
@group(0) @binding(5) var<storage, read_write> ranks: array<u32>;
// Dispatch bookkeeping: [CTL_ACTIVE] configurations not finished, [CTL_RAN] invocations that ran,
// [CTL_ERRORS] configurations that stopped on an internal error.
@group(0) @binding(6) var<storage, read_write> control: array<atomic<u32>, 4>;

// ---- control words ----
const CTL_ACTIVE: u32 = 0u;
const CTL_RAN: u32 = 1u;
const CTL_ERRORS: u32 = 2u;
const CTL_WORDS: u32 = 4u;

// ---- parameters [P_*][config] ----
const P_N: u32 = 0u;
const P_STREAM: u32 = 1u;
const P_SURV: u32 = 2u;
const P_SURV_LEN: u32 = 3u;
const P_G: u32 = 4u;
const P_B: u32 = 5u;
const P_M: u32 = 6u;
const P_BS: u32 = 7u;
const P_TOTAL_BLOCKS: u32 = 8u;
const P_FIT_LIMIT: u32 = 9u;
const P_TIMEOUT_LO: u32 = 10u;
const P_TIMEOUT_HI: u32 = 11u;
const P_STATS_LO: u32 = 12u;
const P_STATS_HI: u32 = 13u;
const P_LPT: u32 = 14u;
const P_BASE_PS_LO: u32 = 15u;
const P_BASE_PS_HI: u32 = 16u;
const P_C_DECODE: u32 = 17u;
const P_C_PREFILL: u32 = 18u;
const P_C_KV_READ: u32 = 19u;
const P_C_ATTN_KILO: u32 = 20u;
const P_A2A_BASE_LO: u32 = 21u;
const P_A2A_BASE_HI: u32 = 22u;
const P_A2A_MAX_TOK: u32 = 23u;
const P_A2A_TOK: u32 = 24u;
const P_RS0: u32 = 25u;
const P_J: u32 = 29u;
// Router id (RT_*) and dispatch mode (1 = per_step), read when the pipeline is not specialised.
const P_ROUTER: u32 = 30u;
const P_PER_STEP: u32 = 31u;
// Step-time terms of calibrated models (docs/model.md §5; 0 when absent).
const P_C_PREFILL_KV: u32 = 32u;
const P_C_MIXED_KV: u32 = 33u;
const P_C_MIXED_SEQ: u32 = 34u;
const P_C_SKEW: u32 = 35u;
// Max-rank-token curve: offset in `streams` and number of points (0 = no curve). Each point is
// 4 words: tokens, ps low, ps high, slope (ps per token).
const P_CURVE: u32 = 36u;
const P_CURVE_LEN: u32 = 37u;
// Mean-KV group term, ps per token of mean_g kv_read (docs/model.md §5; 0 when absent).
const P_C_MEAN_KV: u32 = 38u;
// Projection of horizon routers whose projection is a binary cutoff (routers/projections.ts; the
// engine's, not a router knob): predictor (PRED_*), and the offset in `streams` of the noisy
// predictor's per-request fixed-point factors (host-drawn; 0 unless PRED_NOISY).
const P_PRED: u32 = 39u;
const P_NOISE: u32 = 40u;
// Host terms of the step model (docs/model.md §5), resolved per configuration on the host:
// hostPerStep + dpSync(G, ranks_per_node) in ps (64 bits), and hostPerRequest (ps per request of
// the busiest rank). P_ASYNC: 1 when async scheduling is on (docs/model.md §3.1).
const P_HOST_LO: u32 = 41u;
const P_HOST_HI: u32 = 42u;
const P_HOST_REQ: u32 = 43u;
const P_ASYNC: u32 = 44u;
// Context admission (docs/model.md §3.2): 1 for adp_balance, and its adp_timeout_iters and
// adp_batching_wait_iters (group steps).
const P_ADP: u32 = 45u;
const P_ADP_TIMEOUT: u32 = 46u;
const P_ADP_BATCH: u32 = 47u;
// Router knobs: KNOB_WORDS words from P_K0, one named slot per knob (knob_<router>_<knob>(),
// generated on the host from the routers' knob lists: src/engine/gpu/knobs.ts).
const P_K0: u32 = 48u;
// Horizon table: for point j, words P_HZ + 3j + {0: offset h (steps), 1: weight (f32),
// 2: survival of a newcomer at h (f32)}. The survival table in `streams` (P_SURV, P_SURV_LEN
// words of f32) is followed by as many words of the median-remaining table (u32, brh's
// `median` predictor).
const P_HZ: u32 = P_K0 + KNOB_WORDS;
const P_HZ_WORDS: u32 = 3u;

// ---- scalar state [S_*][config] ----
const S_NOW_LO: u32 = 0u;
const S_NOW_HI: u32 = 1u;
const S_NEXT_ARR: u32 = 2u;
const S_TIMEOUT_PTR: u32 = 3u;
const S_GQ_TAIL: u32 = 4u;
const S_SNAP_LO: u32 = 5u;
const S_SNAP_HI: u32 = 6u;
const S_SNAP_DIRTY: u32 = 7u;
const S_RS0: u32 = 8u;
const S_COMPLETED: u32 = 12u;
const S_FAILED_REJECTED: u32 = 13u;
const S_FAILED_TIMEOUT: u32 = 14u;
const S_PREEMPTIONS: u32 = 15u;
const S_STEPS: u32 = 16u;
const S_IN_SYSTEM: u32 = 17u;
const S_BUSY_LO: u32 = 18u;
const S_BUSY_HI: u32 = 19u;
const S_LOAD_WEIGHT_LO: u32 = 20u;
const S_LOAD_WEIGHT_HI: u32 = 21u;
const S_SUM_RANK_LO: u32 = 22u;
const S_SUM_RANK_HI: u32 = 23u;
const S_SUM_MAX_LO: u32 = 24u;
const S_SUM_MAX_HI: u32 = 25u;
const S_AREA_LO: u32 = 26u;
const S_AREA_HI: u32 = 27u;
// Load-balance accumulators in fixed point (value * 2^FIX_BITS, truncated per step), U64 each.
const S_IMB_LO: u32 = 28u;
const S_IMB_HI: u32 = 29u;
const S_BAL_LO: u32 = 30u;
const S_BAL_HI: u32 = 31u;
const S_DONE: u32 = 32u;
const S_ERROR: u32 = 33u;
const S_ITERATIONS: u32 = 34u;
// Async scheduling: start of the group step that ended at `now` (S_PREV_HI = NONE when no step
// ended there: the first boundary, an idle jump), and whether a request was appended at `now` to
// a rank whose pipeline was busy (so it is hidden until the next boundary).
const S_PREV_LO: u32 = 35u;
const S_PREV_HI: u32 = 36u;
const S_HIDDEN: u32 = 37u;
// ADP Balance counters (TensorRT-LLM's adp_ctx_waiting_iters_count and
// adp_ctx_batching_wait_iters_count; docs/model.md §3.2).
const S_ADP_WAIT: u32 = 38u;
const S_ADP_BATCH: u32 = 39u;
// TensorRT-LLM's balance ratio (token_balance_ratio): the sum over busy group steps of
// mean_g / max_g tokens scheduled per rank, in 2^-TOKBAL_BITS fixed point (a ratio <= 1 per step).
const S_TOKBAL_LO: u32 = 40u;
const S_TOKBAL_HI: u32 = 41u;
const S_WORDS: u32 = 42u;
const FIX_BITS: u32 = 16u;
const TOKBAL_BITS: u32 = 31u;

// ---- per-request state [R_*][request][config]; the first R_READBACK fields are read back ----
// (status, times, rank: the per-request log; 48 bytes per request)
const R_STATUS: u32 = 0u;
const R_ADMIT_LO: u32 = 1u;
const R_ADMIT_HI: u32 = 2u;
const R_FIRST_LO: u32 = 3u;
const R_FIRST_HI: u32 = 4u;
const R_END_LO: u32 = 5u;
const R_END_HI: u32 = 6u;
// Engine-side timestamps (docs/model.md §8): appended to a rank's waiting queue, first scheduled.
const R_QUEUED_LO: u32 = 7u;
const R_QUEUED_HI: u32 = 8u;
const R_SCHED_AT_LO: u32 = 9u;
const R_SCHED_AT_HI: u32 = 10u;
const R_RANK: u32 = 11u;
const R_READBACK: u32 = 12u;
const R_COMPUTED: u32 = 12u;
const R_GENERATED: u32 = 13u;
const R_BLOCKS: u32 = 14u;
const R_SCHED: u32 = 15u;
const R_WNEXT: u32 = 16u;
const R_WPREV: u32 = 17u;
const R_GQ: u32 = 18u;
const R_WORDS: u32 = 19u;

// ---- per-rank state [K_*][rank][config] ----
const K_WHEAD: u32 = 0u;
const K_WTAIL: u32 = 1u;
const K_NWAIT: u32 = 2u;
const K_NRUN: u32 = 3u;
const K_FREE: u32 = 4u;
const K_KV: u32 = 5u;
const K_QUEUED: u32 = 6u;
const K_INFLIGHT: u32 = 7u;
// The router's view: snapshot plus optimistic bookkeeping.
const K_VWAIT: u32 = 8u;
const K_VRUN: u32 = 9u;
const K_VKV: u32 = 10u;
const K_VQUEUED: u32 = 11u;
const K_VUSED: u32 = 12u;
// This step's decode work per rank, for fast-forwarding decode-only stretches.
const K_FF_DECODE: u32 = 13u;
const K_FF_KV_READ: u32 = 14u;
const K_FF_KV_MAX: u32 = 15u;
// Async scheduling: the rank scheduled a token in the step that ended at `now` (its pipeline is
// busy), and the KV blocks and running slots released at `now`, held until the next boundary.
const K_BUSY: u32 = 16u;
const K_PEND_BLOCKS: u32 = 17u;
const K_PEND_SLOTS: u32 = 18u;
const K_WORDS: u32 = 19u;

// Request status codes (ST_*), predictor ids (PRED_*) and router ids (RT_*) are generated from
// their TS definitions (src/engine/gpu/routing.ts) and joined after this file.

// ---- internal error codes (S_ERROR) ----
const ERR_NONE: u32 = 0u;
const ERR_STALLED: u32 = 1u;
const ERR_BAD_RANK: u32 = 2u;
const ERR_STEP_OVERFLOW: u32 = 3u;

// Override value: read the router id from the parameters (one pipeline for every router).
const RT_FROM_PARAMS: u32 = 0xffffu;
// DISPATCH override values.
const DISPATCH_ON_ARRIVAL: u32 = 0u;
const DISPATCH_PER_STEP: u32 = 1u;
const DISPATCH_FROM_PARAMS: u32 = 2u;

const NONE: u32 = 0xffffffffu;

// ---- the configuration this invocation simulates (set once per invocation) ----
var<private> cfgIndex: u32;
// Strides and region starts of the chunk, hoisted out of the index functions.
var<private> strideC: u32;
var<private> strideReq: u32;
var<private> strideRank: u32;
var<private> runBase: u32;
var<private> projMeanBase: u32;
var<private> projVarBase: u32;
var<private> scratchBase: u32;

fn setConfig(c: u32) {
  cfgIndex = c;
  strideC = dims.C;
  strideReq = dims.maxN * dims.C;
  strideRank = dims.maxG * dims.C;
  runBase = K_WORDS * strideRank + c;
  projMeanBase = (K_WORDS + dims.runCap) * strideRank + c;
  projVarBase = (K_WORDS + dims.runCap + dims.maxJ) * strideRank + c;
  scratchBase = (K_WORDS + dims.runCap + 2u * dims.maxJ) * strideRank + c;
}

fn pIdx(f: u32) -> u32 {
  return f * strideC + cfgIndex;
}
fn par(f: u32) -> u32 {
  return params[pIdx(f)];
}
fn parF(f: u32) -> f32 {
  return bitcast<f32>(params[pIdx(f)]);
}
fn sIdx(f: u32) -> u32 {
  return f * strideC + cfgIndex;
}
fn rIdx(f: u32, r: u32) -> u32 {
  return f * strideReq + r * strideC + cfgIndex;
}
fn kIdx(f: u32, g: u32) -> u32 {
  return f * strideRank + g * strideC + cfgIndex;
}
fn runIdx(i: u32, g: u32) -> u32 {
  return runBase + i * strideRank + g * strideC;
}
fn projMeanIdx(j: u32, g: u32) -> u32 {
  return projMeanBase + j * strideRank + g * strideC;
}
fn projVarIdx(j: u32, g: u32) -> u32 {
  return projVarBase + j * strideRank + g * strideC;
}
fn scratchIdx(j: u32) -> u32 {
  return scratchBase + j * strideC;
}
