/**
 * Linear step-time model of one DP rank, in integer picoseconds per unit so that every engine
 * computes bit-identical step times (see docs/model.md, "Step time").
 *
 *   t_g [ps] = base + baseExperts / G
 *            + perDecodeSeq * decodeSeqs
 *            + perPrefillToken * prefillTokens
 *            + perKvTokenRead * kvTokensRead
 *            + perAttnKiloPair * floor(prefillAttnPairs / 1024)
 *   t_g [µs] = floor(t_g [ps] / 1e6)            (0 when the rank has no work)
 *   T   [µs] = max_g t_g + floor((a2aBase + a2aPerMaxRankToken * max_g tokens_g
 *                                 + a2aPerToken * sum_g tokens_g) / 1e6)
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
  /** Longest request (prompt + output) the model accepts. */
  maxModelLen: number;
  /** Default KV capacity per rank in tokens as a function of DP size (weights shrink under EP). */
  kvCapacityTokens: (dp: number) => number;
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
] as const;
export type StepCoefficient = (typeof STEP_COEFFICIENTS)[number];
