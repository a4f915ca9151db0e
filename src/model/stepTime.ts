import type { StepModel } from './types.ts';

/** Work a rank does in one step, as the step-time model sees it. */
export interface RankWork {
  decodeSeqs: number;
  prefillTokens: number;
  kvTokensRead: number;
  /** Sum over prefill chunks of (query, key) pairs: chunk*computed + chunk*(chunk+1)/2. */
  prefillAttnPairs: number;
}

const PS_PER_US = 1_000_000;

/** Exact floor(ps / 1e6) for a non-negative integer ps < 2^53. */
export function psToUs(ps: number): number {
  return (ps - (ps % PS_PER_US)) / PS_PER_US;
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
  return (
    basePs +
    m.perDecodeSeq * w.decodeSeqs +
    m.perPrefillToken * w.prefillTokens +
    m.perKvTokenRead * w.kvTokensRead +
    m.perAttnKiloPair * Math.floor(w.prefillAttnPairs / 1024)
  );
}

/** All-to-all time of a step in integer µs, from the largest rank's and the total token count. */
export function allToAllUs(m: StepModel, maxRankTokens: number, totalTokens: number): number {
  if (totalTokens === 0) return 0;
  return psToUs(m.a2aBase + m.a2aPerMaxRankToken * maxRankTokens + m.a2aPerToken * totalTokens);
}

/**
 * Largest picosecond sum a step can reach with these limits; must stay below 2^53 so that
 * every engine computes it exactly (docs/model.md, "Step time").
 */
export function worstCaseStepPs(m: StepModel, maxNumSeqs: number, maxBatchedTokens: number, maxModelLen: number): number {
  const seqs = Math.min(maxNumSeqs, maxBatchedTokens);
  const kvRead = seqs * maxModelLen;
  const pairs = maxBatchedTokens * maxModelLen + (maxBatchedTokens * (maxBatchedTokens + 1)) / 2;
  const rank =
    m.base + m.baseExperts + m.perDecodeSeq * seqs + m.perPrefillToken * maxBatchedTokens +
    m.perKvTokenRead * kvRead + m.perAttnKiloPair * Math.ceil(pairs / 1024);
  return Math.max(rank, m.a2aBase + (m.a2aPerMaxRankToken + m.a2aPerToken) * maxBatchedTokens * 4096);
}
