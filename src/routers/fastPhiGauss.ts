// fast_phi_gauss: expected overflow of a Gaussian projected load above the envelope, integrated
// over the horizon [0, H] with K-point Gauss–Legendre. This project's own variant (an earlier
// reading of the DP-BalanceRouter README, before its write-up defined Fast-Φ: see fastPhi.ts).
import { expectedOverflow, glNodeOnInterval, GL_MAX_K, GL_WEIGHTS } from './gaussian.ts';
import { defineRouter, loadOf, newRequestSurvival, num, scratchBuffer } from './common.ts';
import type { RouterParams } from './types.ts';

/** Gauss–Legendre nodes mapped to [0, H], rounded to whole decode steps (projections are per step). */
export function fastPhiGaussSteps(params: RouterParams): number[] {
  const H = num(params, 'H');
  const K = num(params, 'K');
  const out: number[] = [];
  for (let j = 0; j < K; j++) out.push(Math.round(glNodeOnInterval(K, j, H)));
  return out;
}

export const fastPhiGauss = defineRouter({
  name: 'fast_phi_gauss',
  order: 100,
  description: 'Ours: Gaussian expected overflow over the max projected load, integrated over [0, H] by K-point Gauss-Legendre; argmin of the increase.',
  knobs: [
    { name: 'H', kind: 'integer', default: 64, min: 1, max: 65536, description: 'Horizon in decode steps.' },
    { name: 'K', kind: 'integer', default: 4, min: 1, max: GL_MAX_K, description: 'Gauss-Legendre points on [0, H].' },
    { name: 'discount', kind: 'number', default: 1.0, min: 0, max: 1, description: 'Per-step discount delta: node t weighs delta^t.' },
  ],
  reads: ['kvTokens', 'queuedTokens'],
  integerScored: () => false,
  wgsl: { fns: ['routeFastPhiGauss'], prompt: true },
  horizon: fastPhiGaussSteps,
  projection: () => ({ kind: 'survival' }),
  route(view, req, params) {
    const G = view.G;
    const H = num(params, 'H');
    const K = num(params, 'K');
    const delta = num(params, 'discount');
    if (view.horizonSteps.length !== K || view.projMean.length < K * G) {
      throw new Error('fast_phi_gauss: the view does not carry the K horizon projections');
    }
    const wts = GL_WEIGHTS[K - 1];
    // Per-node constants: envelope, newcomer's mean and variance, quadrature weight.
    const buf = scratchBuffer(4 * K);
    for (let j = 0; j < K; j++) {
      const t = view.horizonSteps[j];
      const row = j * G;
      let E = view.projMean[row];
      for (let g = 1; g < G; g++) if (view.projMean[row + g] > E) E = view.projMean[row + g];
      const q = newRequestSurvival(view.outputSurvival, t);
      const load = req.prompt + t;
      buf[j] = E;
      buf[K + j] = q * load;
      buf[2 * K + j] = q * (1 - q) * load * load;
      buf[3 * K + j] = (H / 2) * wts[j] * Math.pow(delta, t);
    }
    let best = 0;
    let bestD = 0;
    let bestL = 0;
    for (let g = 0; g < G; g++) {
      let D = 0;
      for (let j = 0; j < K; j++) {
        const mu = view.projMean[j * G + g];
        const v = view.projVar[j * G + g];
        const E = buf[j];
        D += buf[3 * K + j] * (expectedOverflow(mu + buf[K + j], v + buf[2 * K + j], E) - expectedOverflow(mu, v, E));
      }
      const L0 = loadOf(view, g);
      if (g === 0 || D < bestD || (D === bestD && L0 < bestL)) {
        best = g;
        bestD = D;
        bestL = L0;
      }
    }
    return best;
  },
});
