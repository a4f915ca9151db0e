// br0: BalanceRoute BR-0 (Bu et al., arXiv:2605.06113) as this project reconstructs it; the
// paper's exact F-score is not public. Filling the margin under the envelope is free for the
// barrier (small reward a), pushing a rank above it raises every rank's step (large penalty b).
import { loadOf, noHorizon, num, str } from './common.ts';
import { HOLD, type KnobSpec, type RouterDef, type RouterParams } from './types.ts';

export const BR_KNOBS_AB: readonly KnobSpec[] = [
  { name: 'a', kind: 'number', default: 1, min: 0, max: 1e6, description: 'Reward per token of safe margin filled under the envelope.' },
  { name: 'b', kind: 'number', default: 8, min: 0, max: 1e6, description: 'Penalty per token of overflow above the envelope (b >> a: asymmetry).' },
];

export const br0: RouterDef = {
  name: 'br0',
  description: 'BalanceRoute BR-0 (reconstruction): argmin -a*min(w, margin) + b*overflow over the load envelope; ties -> lower load, then index.',
  knobs: [
    ...BR_KNOBS_AB,
    { name: 'envelope', kind: 'enum', default: 'max', values: ['max', 'mean', 'capacity'], description: 'Envelope E: max load over ranks, mean load, or envelope_frac * KV capacity.' },
    {
      name: 'envelope_frac', kind: 'number', default: 0.9, min: 0, max: 1, description: "Fraction of per-rank KV capacity used as E when envelope = capacity.",
      // The WGSL port gets E itself, computed as route() does (f64, then floor): f32 could round it.
      gpu: { type: 'u32', value: (p, ctx) => (str(p, 'envelope') === 'capacity' ? Math.floor(num(p, 'envelope_frac') * ctx.capacityTokens) : 0) },
    },
    { name: 'hold_ms', kind: 'number', default: 0, min: 0, max: 1e6, description: 'per_step only: hold a request whose best admission has F > 0 (overflow outweighs filled margin) for up to this long (0 = never hold).', onlyWith: { dispatch: 'per_step' } },
  ],
  // With mean, scores are compared multiplied by G (see route), so integer a, b suffice for all envelopes.
  integerScored: (p: RouterParams) => Number.isInteger(num(p, 'a')) && Number.isInteger(num(p, 'b')),
  horizon: noHorizon,
  init(state) {
    state.fill(0);
  },
  route(view, req, params) {
    const G = view.G;
    const a = num(params, 'a');
    const b = num(params, 'b');
    const env = str(params, 'envelope');
    // Everything is scaled by `scale` so the mean envelope stays an integer: G*E = sum of loads.
    // Multiplying all F by G > 0 changes no decision.
    let scale = 1;
    let E: number;
    if (env === 'capacity') {
      E = Math.floor(num(params, 'envelope_frac') * view.kvCapacity);
    } else if (env === 'mean') {
      scale = G;
      E = 0;
      for (let g = 0; g < G; g++) E += loadOf(view, g);
    } else {
      E = loadOf(view, 0);
      for (let g = 1; g < G; g++) {
        const L = loadOf(view, g);
        if (L > E) E = L;
      }
    }
    const w = scale * req.prompt;
    let best = 0;
    let bestF = 0;
    let bestL = 0;
    for (let g = 0; g < G; g++) {
      const L = loadOf(view, g);
      const sL = scale * L;
      const margin = E > sL ? E - sL : 0;
      const over = sL + w - E;
      const F = -a * (w < margin ? w : margin) + b * (over > 0 ? over : 0);
      if (g === 0 || F < bestF || (F === bestF && L < bestL)) {
        best = g;
        bestF = F;
        bestL = L;
      }
    }
    // Admission control (per_step dispatch): an admission whose overflow outweighs the margin it
    // fills waits for the next step boundary, when a completion may have opened margin, until it
    // has waited hold_ms. With E = 0 there is no envelope to protect.
    if (req.canHold && bestF > 0 && E > 0 && req.waitedUs < num(params, 'hold_ms') * 1000) return HOLD;
    return best;
  },
};
