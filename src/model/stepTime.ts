import { InputError } from '../errors.ts';
import { curveMaxPs, curvePs } from './stepCurve.ts';
import type { StepModel } from './types.ts';

/** Work a rank does in one step, as the step-time model sees it. */
export interface RankWork {
  decodeSeqs: number;
  prefillTokens: number;
  kvTokensRead: number;
  /** Sum over prefill chunks of (query, key) pairs: chunk*computed + chunk*(chunk+1)/2. */
  prefillAttnPairs: number;
  /**
   * Sum over prefill chunks of the tokens already computed before the chunk (part of
   * kvTokensRead). Absent = 0; only read when the model has prefill-KV or mixed-batch terms.
   */
  prefillKvTokens?: number;
  /** Longest context (computed tokens) among the decode requests. Absent = 0; read only with a skew term. */
  decodeKvMax?: number;
}

const PS_PER_US = 1_000_000;

/** Exact floor(ps / 1e6) for a non-negative integer ps < 2^53. */
export function psToUs(ps: number): number {
  // Below 2^32 µs the quotient's rounding error (< 2^-21) is smaller than the distance of any
  // non-integer quotient from the next integer (>= 1e-6), so one division and floor are exact
  // (and much cheaper than the remainder, the decode fast-forward's hottest call).
  if (ps >= 0 && ps < PS_EXACT_DIV) return Math.floor(ps / PS_PER_US);
  return (ps - (ps % PS_PER_US)) / PS_PER_US;
}
/** Below this many ps, psToUs is one division and floor (exact). */
export const PS_EXACT_DIV = 2 ** 32 * PS_PER_US;

/**
 * The flat model for DP size G: a model with per-DP terms (`byDp`, calibrated models) gets
 * G's coefficients and curve; a model without them is returned as is. Throws InputError when
 * the model has per-DP terms but none for G.
 */
export function stepModelForDp(m: StepModel, G: number, field = 'dp'): StepModel {
  if (!m.byDp) return m;
  const terms = m.byDp.get(G);
  if (!terms) {
    const known = [...m.byDp.keys()].sort((a, b) => a - b).join(', ');
    throw new InputError(field, G, `model ${m.name} was calibrated for dp ${known} only; recalibrate with --dp ${G} (balanceroute calibrate)`);
  }
  return { ...m, ...terms.coefficients, maxRankTokenCurve: terms.maxRankTokenCurve ?? m.maxRankTokenCurve, byDp: undefined };
}

/**
 * Fixed part of a rank's step (shared weights + this rank's share of expert weights), ps.
 * floor(baseExperts / G) keeps it an integer.
 */
export function rankBasePs(m: StepModel, G: number): number {
  return m.base + Math.floor(m.baseExperts / G);
}

/** Step time of one rank in integer µs; 0 when it has no work (it only waits at the barrier). */
export function rankStepUs(m: StepModel, basePs: number, w: RankWork): number {
  return psToUs(rankStepPs(m, basePs, w));
}

/** Step time of one rank in integer picoseconds, before rounding down to µs; 0 without work. */
export function rankStepPs(m: StepModel, basePs: number, w: RankWork): number {
  if (w.decodeSeqs === 0 && w.prefillTokens === 0) return 0;
  let ps =
    basePs +
    m.perDecodeSeq * w.decodeSeqs +
    m.perPrefillToken * w.prefillTokens +
    m.perKvTokenRead * w.kvTokensRead +
    m.perAttnKiloPair * Math.floor(w.prefillAttnPairs / 1024);
  if (w.prefillTokens > 0 && (m.perPrefillKvToken !== 0 || m.perMixedDecodeKvToken !== 0 || m.perMixedDecodeSeq !== 0)) {
    // Prefill chunks' own context, and the decodes of a mixed batch (charged again at the
    // mixed-batch rates: decodes then run through the varlen prefill kernel).
    const prefillKv = w.prefillKvTokens ?? 0;
    ps +=
      m.perPrefillKvToken * prefillKv +
      m.perMixedDecodeSeq * w.decodeSeqs +
      m.perMixedDecodeKvToken * (w.kvTokensRead - prefillKv);
  }
  if (m.perDecodeSkewToken !== 0 && w.decodeSeqs > 0) {
    // Uneven decode contexts: the gap between a batch at the longest context and the actual one.
    const decodeKv = w.kvTokensRead - (w.prefillKvTokens ?? 0);
    ps += m.perDecodeSkewToken * (w.decodeSeqs * (w.decodeKvMax ?? 0) - decodeKv);
  }
  return ps;
}

/**
 * Group part of a step in integer µs: the all-to-all terms, the max-rank-token curve (work all
 * ranks do in lockstep) and the mean-KV term, from the largest rank's and the total token count
 * and the KV tokens read by all G ranks together. 0 without tokens.
 */
export function allToAllUs(m: StepModel, maxRankTokens: number, totalTokens: number, totalKvRead = 0, G = 1): number {
  if (totalTokens === 0) return 0;
  const curve = m.maxRankTokenCurve ? curvePs(m.maxRankTokenCurve, maxRankTokens) : 0;
  return psToUs(m.a2aBase + m.a2aPerMaxRankToken * maxRankTokens + m.a2aPerToken * totalTokens + curve + meanKvPs(m, totalKvRead, G));
}

/** floor(perMeanKvToken * totalKvRead / G): the mean-KV group term in exact integer ps. */
export function meanKvPs(m: StepModel, totalKvRead: number, G: number): number {
  if (!m.perMeanKvToken) return 0;
  const ps = m.perMeanKvToken * totalKvRead;
  return (ps - (ps % G)) / G;
}

/**
 * Per-step DP synchronisation of a group of G ranks, ps (docs/model.md §5, "Host terms"): 0 for
 * one rank, `dpSyncIntraNode` while the G ranks fit on one node (G <= ranksPerNode),
 * `dpSyncInterNode` beyond.
 */
export function dpSyncPs(m: StepModel, G: number, ranksPerNode: number): number {
  if (G < 2) return 0;
  return G <= ranksPerNode ? m.dpSyncIntraNode : m.dpSyncInterNode;
}

/**
 * Host time of a step in integer µs (docs/model.md §5): floor((hostPerStep + hostPerRequest *
 * rMax + syncPs) / 1e6), rMax the most requests scheduled on one rank in the step, syncPs from
 * dpSyncPs (0 for a rank stepping alone, `sync: independent`). Only added to steps with work.
 * The GPU engine computes the same sum (shaders/).
 */
export function hostStepUs(m: StepModel, rMax: number, syncPs: number): number {
  return psToUs(m.hostPerStep + m.hostPerRequest * rMax + syncPs);
}

/**
 * Largest picosecond sum a step can reach with these limits; must stay below 2^53 so that
 * every engine computes it exactly (docs/model.md, "Step time").
 */
export function worstCaseStepPs(m: StepModel, maxNumSeqs: number, maxBatchedTokens: number, maxModelLen: number, G = 1): number {
  const seqs = Math.min(maxNumSeqs, maxBatchedTokens);
  const kvRead = seqs * maxModelLen;
  const pairs = maxBatchedTokens * maxModelLen + (maxBatchedTokens * (maxBatchedTokens + 1)) / 2;
  const rank =
    m.base + m.baseExperts + m.perDecodeSeq * seqs + m.perPrefillToken * maxBatchedTokens +
    m.perKvTokenRead * kvRead + m.perAttnKiloPair * Math.ceil(pairs / 1024) +
    m.perPrefillKvToken * kvRead + m.perMixedDecodeKvToken * kvRead + m.perMixedDecodeSeq * seqs +
    m.perDecodeSkewToken * kvRead;
  const curve = m.maxRankTokenCurve ? curveMaxPs(m.maxRankTokenCurve, maxBatchedTokens) : 0;
  // The mean-KV term's product is over all G ranks' KV reads before the division by G.
  const meanKv = (m.perMeanKvToken ?? 0) * kvRead * G;
  const host = (m.hostPerStep ?? 0) + (m.hostPerRequest ?? 0) * seqs + Math.max(m.dpSyncIntraNode ?? 0, m.dpSyncInterNode ?? 0);
  return Math.max(rank, host, m.a2aBase + (m.a2aPerMaxRankToken + m.a2aPerToken) * maxBatchedTokens * 4096 + curve + (m.perMeanKvToken ?? 0) * kvRead, meanKv);
}
