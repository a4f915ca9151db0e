// fast_phi: Fast-Φ as the DP-BalanceRouter write-up defines it (J. Li, "The EP Barrier Tax",
// 2026): the expected marginal overflow cost ΔΦ_g(s) = Σ_h S(h)·max(s + h − m_g(h), 0), evaluated
// at K horizon points at percentiles of the output-length distribution and summed with trapezoid
// weights; lowest wins. m_g(h) = M(h) − L̄_g(h) on survival-weighted projections (projMean).
// Where the points sit (levels k/K), the trapezoid's end and the tie rule are ours.
import { bestScoreRank, defineRouter, distinctSteps, newRequestSurvival, num, scoreBuffer, scratchBuffer } from './common.ts';
import type { RouterParams, RouterView } from './types.ts';

/** Largest K (points); K = 'full' takes every step instead. */
export const FAST_PHI_MAX_K = 64;

/** First h with S(h) = 0 (the largest output length); the table's length when S never reaches 0. */
export function survivalEnd(surv: Float64Array): number {
  let lo = 0;
  let hi = surv.length; // S non-increasing: binary search for the first zero
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (surv[mid] > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Horizon points: h_0 = 0 (the present) and h_k = the (k/K)-quantile of the output length,
 * min{h : S(h) ≤ 1 − k/K}, for k = 1..K−1; duplicates and points at or past the largest output
 * (where S = 0) dropped. K = 'full': every step 0 .. (largest output − 1).
 */
export function fastPhiSteps(params: RouterParams, surv: Float64Array): number[] {
  const end = survivalEnd(surv);
  if (params.K === 'full') return Array.from({ length: Math.max(1, end) }, (_, h) => h);
  const K = num(params, 'K');
  const out = [0];
  let h = 0;
  for (let k = 1; k < K; k++) {
    // S(h)·K ≤ K − k, with a relative slack so that S = (K−k)/K computed as count/n still counts.
    while (h < end && surv[h] * K > (K - k) * (1 + 1e-12)) h++;
    if (h < end) out.push(h);
  }
  return distinctSteps(out);
}

/**
 * Weights w_j of the view's points: trapezoid rule on [0, end] with the integrand 0 at
 * end = the largest output (S(end) = 0), so w_j = (h_{j+1} − h_{j−1})/2 with h_{−1} = h_0 and
 * h_J = end; with `full`, the exact sum (every w = 1).
 */
export function fastPhiWeights(steps: Float64Array, surv: Float64Array, full: boolean, out: Float64Array): void {
  const J = steps.length;
  if (full) {
    for (let j = 0; j < J; j++) out[j] = 1;
    return;
  }
  const end = Math.max(survivalEnd(surv), steps[J - 1]);
  for (let j = 0; j < J; j++) {
    const prev = j > 0 ? steps[j - 1] : steps[0];
    const next = j + 1 < J ? steps[j + 1] : end;
    out[j] = (next - prev) / 2;
  }
}

/**
 * ΔΦ_g (+ λ·drift) of every rank into out[0..G) for a newcomer of prompt s, over the view's points.
 * Exported for tests. Scratch: 3J words (envelope, mean, w·S(h)).
 */
export function fastPhiScores(view: RouterView, s: number, params: RouterParams, out: Float64Array): void {
  const G = view.G;
  const J = view.horizonSteps.length;
  if (J === 0 || view.projMean.length < J * G) throw new Error('fast_phi: the view carries no survival-weighted projections');
  const lambda = num(params, 'lambda');
  const buf = scratchBuffer(3 * J);
  fastPhiWeights(view.horizonSteps, view.outputSurvival, params.K === 'full', buf);
  for (let j = 0; j < J; j++) {
    const row = j * G;
    let M = view.projMean[row];
    let sum = M;
    for (let g = 1; g < G; g++) {
      const L = view.projMean[row + g];
      if (L > M) M = L;
      sum += L;
    }
    buf[2 * J + j] = buf[j] * newRequestSurvival(view.outputSurvival, view.horizonSteps[j]);
    buf[j] = M;
    buf[J + j] = sum / G;
  }
  for (let g = 0; g < G; g++) {
    let phi = 0;
    let drift = 0;
    for (let j = 0; j < J; j++) {
      const ws = buf[2 * J + j];
      if (ws === 0) continue;
      const h = view.horizonSteps[j];
      const L = view.projMean[j * G + g];
      const over = s + h - (buf[j] - L); // s + h − m_g(h)
      if (over > 0) phi += ws * over;
      if (lambda !== 0) drift += ws * (L - buf[J + j]) * (s + h);
    }
    out[g] = lambda !== 0 ? phi + lambda * drift : phi;
  }
}

export const fastPhi = defineRouter({
  name: 'fast_phi',
  order: 90,
  description: 'Fast-Phi (DP-BalanceRouter write-up): argmin sum_k w_k*S(h_k)*max(s + h_k - margin(h_k), 0) at K percentile points of the output length (trapezoid weights), survival-weighted projections; ties -> lower load, then index.',
  knobs: [
    {
      name: 'K', kind: 'integer', default: 5, values: ['full'], min: 1, max: FAST_PHI_MAX_K, description: "Points h_k: 0 and the (k/K)-quantiles of the output length, k = 1..K-1 (write-up: 5); 'full' = every step up to the largest output (exact sum).",
      // The port reads the points from the horizon table, not K; 'full' travels as 0.
      gpu: { type: 'u32', value: (p) => (p.K === 'full' ? 0 : num(p, 'K')) },
    },
    { name: 'lambda', kind: 'number', default: 0, min: 0, max: 1e6, description: 'Weight of the Lyapunov drift tie-break sum_k w_k*S(h_k)*(L_g(h_k) - mean L(h_k))*(s + h_k) (write-up: 0).' },
  ],
  reads: ['kvTokens', 'queuedTokens'],
  integerScored: () => false,
  wgsl: { fns: ['routeFastPhi'], prompt: true },
  horizon: fastPhiSteps,
  projection: () => ({ kind: 'survival' }),
  route(view, req, params) {
    const D = scoreBuffer(view.G);
    fastPhiScores(view, req.prompt, params, D);
    return bestScoreRank(view, D, false);
  },
});
