/**
 * Router interface. A router is a pure function of (view, request, params, state): it returns the
 * rank to send the request to and may update its own small integer state (scan cursor, RNG).
 * Engines own the view and apply the optimistic bookkeeping after each decision.
 */

/** Per-rank statistics the router sees: the last snapshot plus its own bookkeeping since. */
export interface RouterView {
  /** Number of DP ranks G. */
  readonly G: number;
  /** Requests waiting (queued, not admitted) on each rank. */
  readonly waiting: Float64Array;
  /** Requests running (admitted) on each rank. */
  readonly running: Float64Array;
  /** KV tokens resident on each rank (prefilled + decoded tokens of admitted requests). */
  readonly kvTokens: Float64Array;
  /** Prompt tokens queued on each rank and not yet prefilled. */
  readonly queuedTokens: Float64Array;
  /** Fraction of KV blocks in use on each rank, in [0, 1]. */
  readonly kvUsage: Float64Array;
  /** Unfinished requests this router sent to each rank (exact, never stale). */
  readonly inflight: Float64Array;
  /** KV capacity per rank in tokens. */
  readonly kvCapacity: number;
  /**
   * Horizon offsets (decode steps ahead, ascending) at which the engine projects loads, for
   * routers that declare `horizon(params, survival)`; empty for the others. Row j of the
   * projection arrays below belongs to offset horizonSteps[j]; entry [j*G + g] is rank g.
   */
  readonly horizonSteps: Float64Array;
  /**
   * Survival-weighted projected load (routers whose `projection` is 'survival'): the sum over
   * rank g's requests of q·(w + h), q = P(still running h steps ahead | its age) from the output
   * survival curve, w = its KV load now. Empty otherwise.
   */
  readonly projMean: Float64Array;
  /** Variance of that sum, Σ q(1−q)(w + h)² (Bernoulli-gated loads); same shape as projMean. */
  readonly projVar: Float64Array;
  /**
   * Binary-cutoff projected load (routers whose `projection` is 'cutoff'): the sum over rank g's
   * requests of (w + h) for those with h < ĉ, ĉ = the request's predicted remaining decode steps
   * (the engine's predictor; the router never sees true output lengths). Empty otherwise.
   */
  readonly projCut: Float64Array;
  /** P(output > a) for a = 0..len-1; what the router knows about output lengths. */
  readonly outputSurvival: Float64Array;
}

/** A per-rank field of the router's view snapshot. */
export type RankStat = 'waiting' | 'running' | 'kvTokens' | 'queuedTokens' | 'kvUsage' | 'inflight';

/** What a router knows about the request it routes. */
export interface RouteRequest {
  /** Prompt length in tokens. */
  readonly prompt: number;
  /** Time the request has waited for a decision, µs (0 with on_arrival dispatch). */
  readonly waitedUs: number;
  /**
   * True when the router may return HOLD to keep the request in its global queue until the next
   * step boundary: only with per_step dispatch, and never while every rank is idle.
   */
  readonly canHold: boolean;
}

/** What route() returns to keep a request in the global queue (only when req.canHold). */
export const HOLD = -1;

export type KnobValue = number | string;
export type RouterParams = Readonly<Record<string, KnobValue>>;

export interface KnobSpec {
  name: string;
  kind: 'number' | 'integer' | 'enum';
  default: KnobValue;
  /** Allowed values for 'enum'; for 'number' and 'integer', words accepted besides numbers (e.g. 'full'). */
  values?: readonly string[];
  min?: number;
  max?: number;
  description: string;
  /**
   * How the knob reaches the router's WGSL port when the plain encoding does not fit (docs/gpu.md,
   * "Router knobs"): a u32 or f32 computed on the host. Default: integer -> u32, number -> f32,
   * enum -> u32 index into `values`.
   */
  gpu?: { type: 'u32' | 'f32'; value: (params: RouterParams, ctx: KnobGpuContext) => number };
  /**
   * The knob acts only under this dispatch mode (e.g. holding needs a global queue): a value
   * other than the default under another mode is an input error, not a silent no-op.
   */
  onlyWith?: { dispatch: 'on_arrival' | 'per_step' };
}

/** What a knob's host-side GPU encoding may use besides the knobs. */
export interface KnobGpuContext {
  /** KV capacity per rank in tokens (as RouterView.kvCapacity). */
  capacityTokens: number;
  /** Number of ranks (as RouterView.G), for knobs that may name it (br0 b = 'G'). */
  G: number;
}

/**
 * Number of u32 state words every router gets (cursor, RNG state, ...). Convention used by the
 * built-in routers: word 0 = PCG state, word 1 = scan start, word 2 = round-robin counter.
 */
export const ROUTER_STATE_WORDS = 4;

/** Output-length predictors of the binary-cutoff projection (docs/routers.md, brh). */
export const PREDICTORS = ['oracle', 'noisy', 'median', 'none'] as const;
export type Predictor = (typeof PREDICTORS)[number];

/**
 * What the engine projects for a horizon router: nothing, survival-weighted mean and variance
 * (projMean/projVar), or binary-cutoff loads (projCut) from a predictor of remaining steps.
 */
export type ProjectionSpec =
  | { kind: 'none' }
  | { kind: 'survival' }
  | { kind: 'cutoff'; predictor: Predictor; sigma: number };

export interface RouterDef {
  /** Name used on the command line and in result rows, e.g. 'jsq_load'. */
  name: string;
  /**
   * Place in the registry's order (ascending; routers without one follow, by name). The order is
   * what listings, the GPU router ids and the knob columns of result files follow (docs/routers.md,
   * "Adding a router").
   */
  order?: number;
  description: string;
  knobs: readonly KnobSpec[];
  /** True when decisions depend only on integer arithmetic (engines must then agree exactly). */
  integerScored: (params: RouterParams) => boolean;
  /**
   * Horizon offsets (in decode steps, ascending, distinct) at which the router needs projected
   * loads; [] if none. `survival` is the workload's output survival (P(output > a)), for routers
   * whose points sit at percentiles of the output-length distribution.
   */
  horizon: (params: RouterParams, survival: Float64Array) => number[];
  /** Which projection the engine fills at those offsets (ignored when the horizon is empty). */
  projection: (params: RouterParams) => ProjectionSpec;
  /** Initialise state words for a run (seed = the configuration's seed). */
  init: (state: Uint32Array, seed: number, G: number) => void;
  /**
   * The per-rank snapshot fields route() reads (default: all of them). Engines may leave the
   * others unset when they take a snapshot: the CPU engine then skips working out each rank's
   * free KV blocks for a router that does not read `kvUsage` (docs/model.md §7.1). Checked for
   * every router by changing the fields it leaves out (test/routers/reads.test.ts).
   */
  reads?: readonly RankStat[];
  /** Choose a rank in [0, G). May update `state`. Must not modify `view`. */
  route: (view: RouterView, req: RouteRequest, params: RouterParams, state: Uint32Array) => number;
  /** The router's port to the WebGPU engine; without one its configurations run on the CPU engine. */
  wgsl?: WgslPort;
  /**
   * Why the router has no WGSL port (a router without `wgsl` must say so): its configurations
   * run on the CPU engine with this note (docs/gpu.md).
   */
  noWgslReason?: string;
  /** The router works only under this dispatch mode; any other is an input error. */
  requiresDispatch?: 'per_step';
  /** per_step: the engine sorts the global queue this way before dealing it (else `assign_order`). */
  queueOrder?: 'largest_first';
}

/**
 * Where a router lives in shaders/routers.wgsl. The engine generates the router ids and the
 * `route()` dispatch from these entries (src/engine/gpu/routing.ts), and the registry finds the
 * router's module itself (src/routers/index.ts), so a new router touches its own TS file and the
 * WGSL file only.
 */
export interface WgslPort {
  /** WGSL functions `fn NAME(...) -> u32` returning the chosen rank, one per variant. */
  fns: readonly string[];
  /** The functions take the request's prompt length (`fn NAME(prompt: u32) -> u32`). */
  prompt?: boolean;
  /** Which of `fns` serves these knobs (default: the first). */
  variant?: (params: RouterParams) => number;
}
