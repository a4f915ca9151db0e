// br0: BR-0 as the DP-BalanceRouter write-up defines it (J. Li, "The EP Barrier Tax", 2026, after
// Bu et al., arXiv:2605.06113): F_g = s − G·max(s − m_g, 0), m_g = max load − L_g, highest F
// wins, ties -> lowest load, then lowest index. The general form a·s − b·max(s − m_g, 0) and the
// envelope are knobs (ours); the defaults are the write-up's. Per request it picks what jsq_load
// picks (docs/routers.md proves it); it differs only through hold_ms (admission control, ours).
import { defineRouter, loadOf, num, str } from './common.ts';
import { HOLD, type RouterParams } from './types.ts';

/** Overflow weight b: a number, or 'G' (the write-up's) = the number of ranks. */
export function br0OverflowWeight(params: RouterParams, G: number): number {
  return params.b === 'G' ? G : num(params, 'b');
}

/** Integer a and b (or b = G): scores are exact integers. */
const integerKnobs = (p: RouterParams): boolean => Number.isInteger(num(p, 'a')) && (p.b === 'G' || Number.isInteger(num(p, 'b')));

export const br0 = defineRouter({
  name: 'br0',
  order: 70,
  description: 'BR-0 (DP-BalanceRouter write-up): argmax F = a*s - b*max(s - margin, 0), margin = envelope - load; defaults a = 1, b = G, envelope max; ties -> lower load, then index.',
  knobs: [
    { name: 'a', kind: 'number', default: 1, min: 0, max: 1e6, description: 'Reward weight a of the prompt s (write-up: 1). Same for every rank: only hold_ms reads it.' },
    {
      name: 'b', kind: 'number', default: 'G', values: ['G'], min: 0, max: 1e6, description: 'Overflow weight b (write-up: G, the number of ranks).',
      // The WGSL port gets the number: G for 'G'.
      gpu: { type: 'f32', value: (p, ctx) => br0OverflowWeight(p, ctx.G) },
    },
    { name: 'envelope', kind: 'enum', default: 'max', values: ['max', 'mean', 'capacity'], description: 'Envelope the margin is measured from: max load (write-up), mean load, or envelope_frac * KV capacity (ours).' },
    {
      name: 'envelope_frac', kind: 'number', default: 0.9, min: 0, max: 1, description: 'Fraction of per-rank KV capacity used as the envelope when envelope = capacity.',
      // The WGSL port gets E itself, computed as route() does (f64, then floor): f32 could round it.
      gpu: { type: 'u32', value: (p, ctx) => (str(p, 'envelope') === 'capacity' ? Math.floor(num(p, 'envelope_frac') * ctx.capacityTokens) : 0) },
    },
    { name: 'hold_ms', kind: 'number', default: 0, min: 0, max: 1e6, description: 'per_step only: hold a request whose best rank has F < 0 (overflow outweighs the reward) for up to this long (0 = never; ours).', onlyWith: { dispatch: 'per_step' } },
  ],
  // Scores are compared multiplied by G with the mean envelope (see route): integers in, integers out.
  reads: ['kvTokens', 'queuedTokens'],
  integerScored: integerKnobs,
  // Integer knobs: exact integer scores (U64); fractional ones: f32, as the other float routers.
  wgsl: { fns: ['routeBr0Int', 'routeBr0Float'], prompt: true, variant: (p) => (integerKnobs(p) ? 0 : 1) },
  route(view, req, params) {
    const G = view.G;
    const a = num(params, 'a');
    const b = br0OverflowWeight(params, G);
    const env = str(params, 'envelope');
    // With the mean envelope everything is scaled by G so that G·E = Σ L stays an integer;
    // multiplying every F by G > 0 changes no decision.
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
    const s = scale * req.prompt;
    let best = 0;
    let bestF = 0;
    let bestL = 0;
    for (let g = 0; g < G; g++) {
      const L = loadOf(view, g);
      // s − m_g = s + L_g − E: how far the request pushes rank g above the envelope.
      const over = s + scale * L - E;
      const F = a * s - b * (over > 0 ? over : 0);
      if (g === 0 || F > bestF || (F === bestF && L < bestL)) {
        best = g;
        bestF = F;
        bestL = L;
      }
    }
    // Admission control (per_step dispatch, ours): an admission whose best F is negative — the
    // overflow it causes, weighted by b, outweighs its reward — waits for the next step boundary,
    // when a completion may have opened margin, until it has waited hold_ms. With E = 0 there
    // is no envelope to protect.
    if (req.canHold && bestF < 0 && E > 0 && req.waitedUs < num(params, 'hold_ms') * 1000) return HOLD;
    return best;
  },
});
