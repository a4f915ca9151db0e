// brh: BR-H as the DP-BalanceRouter write-up defines it (J. Li, "The EP Barrier Tax", 2026, after
// Bu et al., arXiv:2605.06113): F_g = α(Σ_h γ^h)s − β Σ_h γ^h max(s − m_{g,h}, 0) over h = 0..H,
// m_{g,h} = M_h − L̂_g(h), M_h = max_g L̂_g(h), highest wins. L̂ is the binary-cutoff projection
// the engine computes from a predictor of each request's remaining steps (routers/projections.ts);
// the router sees only those projected loads, never an output length.
import { bestScoreRank, defineRouter, num, scoreBuffer, scratchBuffer, str } from './common.ts';
import { PREDICTORS, type Predictor, type RouterParams, type RouterView } from './types.ts';

/** Every step 0, 1, ..., H (the write-up's sum). */
export function brhSteps(params: RouterParams): number[] {
  const H = num(params, 'H');
  return Array.from({ length: H + 1 }, (_, h) => h);
}

/**
 * F_g of every rank into out[0..G) for a newcomer of prompt s, over the view's horizon points
 * (weights γ^h at h = horizonSteps[j]). Exported so tests can check the write-up's penalties.
 */
export function brhScores(view: RouterView, s: number, params: RouterParams, out: Float64Array): void {
  const G = view.G;
  const J = view.horizonSteps.length;
  if (J === 0 || view.projCut.length < J * G) throw new Error('brh: the view carries no binary-cutoff projections');
  const alpha = num(params, 'alpha');
  const beta = num(params, 'beta');
  const gamma = num(params, 'gamma');
  // Per-point envelope M_h and weight γ^h, once per call.
  const buf = scratchBuffer(2 * J);
  let wsum = 0;
  for (let j = 0; j < J; j++) {
    const row = j * G;
    let M = view.projCut[row];
    for (let g = 1; g < G; g++) if (view.projCut[row + g] > M) M = view.projCut[row + g];
    buf[j] = M;
    buf[J + j] = Math.pow(gamma, view.horizonSteps[j]);
    wsum += buf[J + j];
  }
  const reward = alpha * wsum * s;
  // Penalties accumulate in `out`, point by point: each row of projCut is read contiguously, and
  // every rank's sum runs over h in the same order as a per-rank loop would (same result).
  const cut = view.projCut;
  for (let g = 0; g < G; g++) out[g] = 0;
  for (let j = 0; j < J; j++) {
    const row = j * G;
    const M = buf[j];
    const w = buf[J + j];
    for (let g = 0; g < G; g++) {
      const over = s - (M - cut[row + g]); // s − m_{g,h}
      if (over > 0) out[g] += w * over;
    }
  }
  for (let g = 0; g < G; g++) out[g] = reward - beta * out[g];
}

export const brh = defineRouter({
  name: 'brh',
  order: 80,
  description: 'BR-H (DP-BalanceRouter write-up): argmax F = alpha*(sum gamma^h)*s - beta*sum_h gamma^h*max(s - margin_h, 0), h = 0..H, on binary-cutoff projections from a predictor of remaining steps; ties -> lower load, then index.',
  knobs: [
    { name: 'H', kind: 'integer', default: 50, min: 0, max: 4096, description: 'Lookahead in decode steps: F sums h = 0..H (default ours; gamma^50 ~ 0.005 at gamma = 0.9).' },
    { name: 'gamma', kind: 'number', default: 0.9, min: 0, max: 1, description: 'Per-step discount gamma: step h weighs gamma^h (write-up example: 0.9).' },
    { name: 'alpha', kind: 'number', default: 1, min: 0, max: 1e6, description: 'Reward weight alpha (same for every rank: changes no decision).' },
    { name: 'beta', kind: 'number', default: 8, min: 0, max: 1e6, description: 'Overflow penalty weight beta (write-up example: 8).' },
    { name: 'predictor', kind: 'enum', default: 'median', values: PREDICTORS, description: 'Predicted remaining steps c of each request: oracle (true), noisy (true x lognormal), median (conditional median given age, from the output survival), none (never finishes).' },
    { name: 'predictor_sigma', kind: 'number', default: 0.5, min: 0, max: 10, description: 'noisy only: sigma of the lognormal factor exp(sigma*Z) on the true remaining steps (seeded per request).' },
  ],
  reads: ['kvTokens', 'queuedTokens'],
  integerScored: () => false,
  wgsl: { fns: ['routeBrh'], prompt: true },
  horizon: brhSteps,
  projection: (p) => ({ kind: 'cutoff', predictor: str(p, 'predictor') as Predictor, sigma: num(p, 'predictor_sigma') }),
  route(view, req, params) {
    const F = scoreBuffer(view.G);
    brhScores(view, req.prompt, params, F);
    return bestScoreRank(view, F, true);
  },
});
