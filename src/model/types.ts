/**
 * Step-time model of one DP rank, in integer picoseconds per unit so that every engine computes
 * bit-identical step times (see docs/model.md §5 and docs/step-model.md).
 *
 *   t_g [ps] = base + baseExperts / G
 *            + perDecodeSeq * decodeSeqs
 *            + perPrefillToken * prefillTokens
 *            + perKvTokenRead * kvTokensRead
 *            + perAttnKiloPair * floor(prefillAttnPairs / 1024)
 *            + perPrefillKvToken * prefillKvTokens
 *            + (prefillTokens > 0 ? perMixedDecodeSeq * decodeSeqs
 *                                   + perMixedDecodeKvToken * (kvTokensRead - prefillKvTokens) : 0)
 *            + perDecodeSkewToken * (decodeSeqs * decodeKvMax - (kvTokensRead - prefillKvTokens))
 *   t_g [µs] = floor(t_g [ps] / 1e6)            (0 when the rank has no work)
 *   T   [µs] = max_g t_g + floor((a2aBase + a2aPerMaxRankToken * max_g tokens_g
 *                                 + a2aPerToken * sum_g tokens_g
 *                                 + curve(max_g tokens_g)
 *                                 + floor(perMeanKvToken * sum_g kvTokensRead_g / G)) / 1e6)
 *          + floor((hostPerStep + hostPerRequest * R_max + dpSync(G)) / 1e6)
 *   (R_max = most requests scheduled on one rank; dpSync = dpSyncIntraNode for
 *    2 <= G <= ranks_per_node, dpSyncInterNode for G > ranks_per_node, 0 for G = 1)
 */
export interface StepModel {
  /** Preset or file name, for result rows. */
  name: string;
  base: number;
  baseExperts: number;
  perDecodeSeq: number;
  perPrefillToken: number;
  perKvTokenRead: number;
  perAttnKiloPair: number;
  a2aBase: number;
  a2aPerMaxRankToken: number;
  a2aPerToken: number;
  /** Extra cost per KV token a prefill chunk attends to (its already computed tokens). */
  perPrefillKvToken: number;
  /**
   * Extra cost per KV token read by decode requests in a step that also runs a prefill chunk
   * (a mixed batch runs decodes through the varlen prefill kernel; docs/step-model.md §3).
   */
  perMixedDecodeKvToken: number;
  /** Extra cost per decode request in a step that also runs a prefill chunk (mixed batch). */
  perMixedDecodeSeq: number;
  /**
   * Cost per token of decode-context skew, decodeSeqs * (longest decode context) - (sum of
   * decode contexts): attention kernels pay for uneven context lengths (docs/step-model.md §3).
   */
  perDecodeSkewToken: number;
  /**
   * Group term per token of the ranks' mean KV load, mean_g kvTokensRead_g: work every rank does
   * in lockstep that grows with the average context (the DP-BalanceRouter write-up's `b` in
   * t_step = max_g a*L_g + b*mean_g L_g; docs/model.md §5). Model files may give it as a ratio
   * of perKvTokenRead (`meanKvRatio`).
   */
  perMeanKvToken: number;
  /**
   * Host time per group step with work (CPU scheduling, input preparation, output processing,
   * launch gaps that kernel profiles miss), ps. docs/model.md §5, "Host terms".
   */
  hostPerStep: number;
  /** Host time per request scheduled on the busiest rank (R_max), ps. */
  hostPerRequest: number;
  /** Per-step DP synchronisation when all G >= 2 ranks share a node (G <= ranks_per_node), ps. */
  dpSyncIntraNode: number;
  /** Per-step DP synchronisation when the ranks span nodes (G > ranks_per_node), ps. */
  dpSyncInterNode: number;
  /**
   * Async scheduling (vLLM's default): the scheduler runs one step ahead, so admission and slot
   * / KV reuse lag one step (docs/model.md §3). The scenario's `async_scheduling: auto` uses this.
   */
  asyncScheduling: boolean;
  /** Front-end terms of client-anchored latencies (not on the engine clock); absent = all 0. */
  frontend?: FrontendTerms;
  /**
   * Optional lookup-table term of the group step: a piecewise-linear function of the largest
   * rank's token count (work every rank does in lockstep on padded batches: dense layers, MoE
   * experts, the EP collectives). Absent = 0.
   */
  maxRankTokenCurve?: StepCurve;
  /**
   * Terms that depend on the DP size, keyed by G (calibrated models: the MoE and the
   * collectives change with the expert-parallel degree). When present, only these DP sizes
   * may be simulated; use `stepModelForDp` to get the flat model for one G.
   */
  byDp?: ReadonlyMap<number, DpStepTerms>;
  /** Longest request (prompt + output) the model accepts. */
  maxModelLen: number;
  /** Default KV capacity per rank in tokens as a function of DP size (weights shrink under EP). */
  kvCapacityTokens: (dp: number) => number;
  /**
   * KV cache bytes per token, all layers (the model's `kvMemory.kvBytesPerToken`); absent when
   * the model gives a fixed capacity. Prefill/decode disaggregation moves it (docs/pd.md).
   */
  kvBytesPerToken?: number;
}

/**
 * Piecewise-linear integer function of a token count x >= 1 (docs/model.md §5):
 * with i the last index where tokens[i] <= x (i = 0 when x < tokens[0]),
 * value(x) = ps[i] + slopePs[i] * max(0, x - tokens[i]). All entries are non-negative integers;
 * `tokens` is strictly increasing and starts at 1 or more.
 */
export interface StepCurve {
  readonly tokens: readonly number[];
  readonly ps: readonly number[];
  readonly slopePs: readonly number[];
}

/**
 * Front-end time of client-side metrics, µs (docs/model.md §8): the client sent the request
 * `ingressUs` before it reached the engine, received the last byte `egressUs` after the engine's
 * last step, and each output token costs `perTokenUs` of detokenisation and streaming.
 */
export interface FrontendTerms {
  readonly ingressUs: number;
  readonly egressUs: number;
  readonly perTokenUs: number;
}

/** Overrides for one DP size: coefficients replaced and/or the max-rank-token curve. */
export interface DpStepTerms {
  readonly coefficients: Partial<Record<StepCoefficient, number>>;
  readonly maxRankTokenCurve?: StepCurve;
}

/** Coefficient field names, in a fixed order (used for packing and validation). */
export const STEP_COEFFICIENTS = [
  'base',
  'baseExperts',
  'perDecodeSeq',
  'perPrefillToken',
  'perKvTokenRead',
  'perAttnKiloPair',
  'a2aBase',
  'a2aPerMaxRankToken',
  'a2aPerToken',
  'perPrefillKvToken',
  'perMixedDecodeKvToken',
  'perMixedDecodeSeq',
  'perDecodeSkewToken',
  'perMeanKvToken',
  'hostPerStep',
  'hostPerRequest',
  'dpSyncIntraNode',
  'dpSyncInterNode',
] as const;
export type StepCoefficient = (typeof STEP_COEFFICIENTS)[number];

/** Coefficients a model file may leave out (added after the format was published; default 0). */
export const OPTIONAL_STEP_COEFFICIENTS: ReadonlySet<StepCoefficient> = new Set<StepCoefficient>([
  'perPrefillKvToken',
  'perMixedDecodeKvToken',
  'perMixedDecodeSeq',
  'perDecodeSkewToken',
  'perMeanKvToken',
  'hostPerStep',
  'hostPerRequest',
  'dpSyncIntraNode',
  'dpSyncInterNode',
]);

/** The host-overhead terms (docs/model.md §5, "Host terms"): group terms on the engine clock. */
export const HOST_STEP_COEFFICIENTS = ['hostPerStep', 'hostPerRequest', 'dpSyncIntraNode', 'dpSyncInterNode'] as const satisfies readonly StepCoefficient[];

/** Coefficients that are fixed per-step amounts (larger limit than per-unit rates). */
export const BASE_STEP_COEFFICIENTS: ReadonlySet<StepCoefficient> = new Set<StepCoefficient>(['base', 'baseExperts', 'a2aBase', 'hostPerStep', 'dpSyncIntraNode', 'dpSyncInterNode']);
