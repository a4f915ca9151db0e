// brh: BalanceRoute BR-H (Bu et al., arXiv:2605.06113), horizon-discounted F-score, as this
// project reconstructs it. The output-length survival curve plays the paper's "termination
// classifier": the engine's projMean already discounts running requests by P(still running).
import { loadOf, newRequestSurvival, num, scratchBuffer, str } from './common.ts';
import { BR_KNOBS_AB } from './br0.ts';
import type { RouterDef, RouterParams } from './types.ts';

/** Offsets 0, stride, 2*stride, ... <= H, plus H itself when stride does not divide H. */
export function brhSteps(params: RouterParams): number[] {
  const H = num(params, 'H');
  const stride = num(params, 'stride');
  const out: number[] = [];
  for (let h = 0; h <= H; h += stride) out.push(h);
  if (out[out.length - 1] !== H) out.push(H);
  return out;
}

export const brh: RouterDef = {
  name: 'brh',
  description: 'BalanceRoute BR-H (reconstruction): BR-0 F-score on projected loads at h = 0, stride, ..., H, discounted by delta^h.',
  knobs: [
    { name: 'H', kind: 'integer', default: 32, min: 0, max: 65536, description: 'Lookahead horizon in decode steps (H = 0: BR-0 with envelope max/mean).' },
    { name: 'stride', kind: 'integer', default: 8, min: 1, max: 65536, description: 'Spacing of the horizon points in decode steps (H is always included).' },
    { name: 'discount', kind: 'number', default: 0.95, min: 0, max: 1, description: 'Per-step discount delta: point h weighs delta^h.' },
    ...BR_KNOBS_AB,
    { name: 'envelope', kind: 'enum', default: 'max', values: ['max', 'mean'], description: 'Envelope at each point: max or mean over ranks of the projected load.' },
  ],
  integerScored: () => false,
  horizon: brhSteps,
  init(state) {
    state.fill(0);
  },
  route(view, req, params) {
    const G = view.G;
    const J = view.horizonSteps.length;
    if (J === 0 || view.projMean.length < J * G) throw new Error('brh: the view carries no horizon projections');
    const a = num(params, 'a');
    const b = num(params, 'b');
    const delta = num(params, 'discount');
    const useMean = str(params, 'envelope') === 'mean';
    // Per-point constants, computed once per call: envelope, newcomer's expected load, weight.
    const buf = scratchBuffer(3 * J);
    for (let j = 0; j < J; j++) {
      const h = view.horizonSteps[j];
      const row = j * G;
      let E = view.projMean[row];
      for (let g = 1; g < G; g++) {
        const m = view.projMean[row + g];
        if (useMean) E += m;
        else if (m > E) E = m;
      }
      buf[j] = useMean ? E / G : E;
      buf[J + j] = (req.prompt + h) * newRequestSurvival(view.outputSurvival, h);
      buf[2 * J + j] = Math.pow(delta, h);
    }
    let best = 0;
    let bestF = 0;
    let bestL = 0;
    for (let g = 0; g < G; g++) {
      let F = 0;
      for (let j = 0; j < J; j++) {
        const E = buf[j];
        const w = buf[J + j];
        const L = view.projMean[j * G + g];
        const margin = E > L ? E - L : 0;
        const over = L + w - E;
        F += buf[2 * J + j] * (-a * (w < margin ? w : margin) + b * (over > 0 ? over : 0));
      }
      const L0 = loadOf(view, g);
      if (g === 0 || F < bestF || (F === bestF && L0 < bestL)) {
        best = g;
        bestF = F;
        bestL = L0;
      }
    }
    return best;
  },
};
