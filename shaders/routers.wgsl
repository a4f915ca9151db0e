// The eleven routers of src/routers/*.ts, ported decision for decision. The override constant ROUTER
// picks one per pipeline (specialised pipelines: dead routers are compiled out and a warp never
// diverges on the router), or RT_FROM_PARAMS reads it per configuration (one generic pipeline:
// cheap to compile on a software adapter; the host still orders configurations by router, so a
// warp mostly sees one). Integer-scored routers compare
// exact integers (U64 where a product can pass 2^32); float-scored ones (vllm_inflight, br0 with
// fractional b, brh, fast_phi, fast_phi_gauss) compute in f32 (docs/gpu.md, "Numerics").
//
// The router sees the view words K_V* (snapshot + optimistic bookkeeping), the exact in-flight
// counts K_INFLIGHT, the projections (horizon routers) and its four state words rs[0..3]
// (0 = PCG state, 1 = scan start, 2 = round-robin counter), seeded on the host by the router's
// own init().

override ROUTER: u32 = RT_FROM_PARAMS;

fn viewLoad(g: u32) -> u32 {
  return ranks[kIdx(K_VKV, g)] + ranks[kIdx(K_VQUEUED, g)];
}

// `route()`, the dispatch to the functions below by router id, is generated from the routers'
// `wgsl` ports (src/engine/gpu/routing.ts).

// round_robin: ranks in turn.
fn routeRoundRobin() -> u32 {
  let g = rs[2] % G;
  rs[2] = select(g + 1u, 0u, g + 1u == G);
  return g;
}

// sorted_round_robin: dealt as round_robin; the engine sorts the global queue largest prompt
// first before the deal (P_LPT is set for it on the host: its queueOrder), so only the deal is here.
fn routeSortedRoundRobin() -> u32 {
  let g = rs[2] % G;
  rs[2] = select(g + 1u, 0u, g + 1u == G);
  return g;
}

// random: uniform rank from the router's PCG stream.
fn routeRandom() -> u32 {
  if (G == 1u) {
    return 0u;
  }
  let s = pcgStep(rs[0]);
  rs[0] = s;
  return uniformBelow(pcgOutput(s), G);
}

// power_of_two: two distinct random ranks, lower load wins, tie -> first drawn.
fn routePowerOfTwo() -> u32 {
  if (G == 1u) {
    return 0u;
  }
  var s = pcgStep(rs[0]);
  let i = uniformBelow(pcgOutput(s), G);
  s = pcgStep(s);
  var j = uniformBelow(pcgOutput(s), G - 1u);
  if (j >= i) {
    j = j + 1u;
  }
  rs[0] = s;
  return select(i, j, viewLoad(j) < viewLoad(i));
}

// vllm_default: argmin waiting_weight * waiting + running, first minimum from a rotating start.
fn routeVllmDefault() -> u32 {
  let ww = knob_vllm_default_waiting_weight();
  let rotate = knob_vllm_default_rotate() == VLLM_DEFAULT_ROTATE_YES;
  let start = rs[1] % G;
  var best = start;
  var bestScore = add64u(mul32x32(ww, ranks[kIdx(K_VWAIT, start)]), ranks[kIdx(K_VRUN, start)]);
  for (var i = 1u; i < G; i = i + 1u) {
    var g = start + i;
    if (g >= G) {
      g = g - G;
    }
    let score = add64u(mul32x32(ww, ranks[kIdx(K_VWAIT, g)]), ranks[kIdx(K_VRUN, g)]);
    if (lt64(score, bestScore)) {
      bestScore = score;
      best = g;
    }
  }
  if (rotate) {
    rs[1] = select(start + 1u, 0u, start + 1u == G);
  }
  return best;
}

// vllm_inflight: max(inflight, waiting + running) + waiting * penalty * max(0, kvUsage - threshold).
fn routeVllmInflight() -> u32 {
  let pen = knob_vllm_inflight_kv_penalty();
  let thr = knob_vllm_inflight_kv_threshold();
  let total = f32(totalBlocks);
  let start = rs[1] % G;
  var best = start;
  var bestScore = 3.4028234e38;
  var first = true;
  for (var i = 0u; i < G; i = i + 1u) {
    var g = start + i;
    if (g >= G) {
      g = g - G;
    }
    let wu = ranks[kIdx(K_VWAIT, g)];
    let w = f32(wu);
    var score = max(f32(ranks[kIdx(K_INFLIGHT, g)]), f32(wu + ranks[kIdx(K_VRUN, g)]));
    if (wu > 0u) {
      let usage = f32(ranks[kIdx(K_VUSED, g)]) / total;
      score = score + w * pen * max(0.0, usage - thr);
    }
    if (first || score < bestScore) {
      bestScore = score;
      best = g;
      first = false;
    }
  }
  rs[1] = select(start + 1u, 0u, start + 1u == G);
  return best;
}

// jsq_load: least load (KV + queued prompt tokens), ties -> lowest index.
fn routeJsqLoad() -> u32 {
  var best = 0u;
  var bestL = viewLoad(0u);
  for (var g = 1u; g < G; g = g + 1u) {
    let L = viewLoad(g);
    if (L < bestL) {
      bestL = L;
      best = g;
    }
  }
  return best;
}

// br0 envelope (scaled): max load, mean (times G: the sum), or capacity (the host computes
// floor(envelope_frac * capacity) into the envelope_frac slot).
fn br0Envelope(env: u32) -> U64 {
  if (env == BR0_ENVELOPE_CAPACITY) {
    return u64of(knob_br0_envelope_frac());
  }
  if (env == BR0_ENVELOPE_MEAN) {
    var E = U64(0u, 0u);
    for (var g = 0u; g < G; g = g + 1u) {
      E = add64u(E, viewLoad(g));
    }
    return E;
  }
  var E = viewLoad(0u);
  for (var g = 1u; g < G; g = g + 1u) {
    E = max(E, viewLoad(g));
  }
  return u64of(E);
}

// br0 (write-up BR-0): F = a*s - b*max(s - margin, 0), highest wins. a*s is the same for every
// rank, so the highest F is the lowest b*overflow, overflow = s + L - E (scaled by G with the mean
// envelope): compared as exact U64 with integer b (the host puts G for b = 'G'). b arrives as
// f32 and is an integer of at most max(1e6, G) here (integerScored), so the conversion is exact.
fn routeBr0Int(prompt: u32) -> u32 {
  let b = u32(knob_br0_b());
  let env = knob_br0_envelope();
  let scale = select(1u, G, env == BR0_ENVELOPE_MEAN);
  let E = br0Envelope(env);
  let w = mul32x32(scale, prompt);
  var best = 0u;
  var bestP = U64(0u, 0u);
  var bestL = 0u;
  for (var g = 0u; g < G; g = g + 1u) {
    let L = viewLoad(g);
    let top = add64(mul32x32(scale, L), w);
    let over = select(U64(0u, 0u), sub64(top, E), lt64(E, top));
    let Pg = mul64x32(over, b);
    if (g == 0u || lt64(Pg, bestP) || (eq64(Pg, bestP) && L < bestL)) {
      best = g;
      bestP = Pg;
      bestL = L;
    }
  }
  return best;
}

// br0 with a fractional b: the same integer overflow, the penalty b*overflow in f32.
fn routeBr0Float(prompt: u32) -> u32 {
  let b = knob_br0_b();
  let env = knob_br0_envelope();
  let scale = select(1u, G, env == BR0_ENVELOPE_MEAN);
  let E = br0Envelope(env);
  let w = mul32x32(scale, prompt);
  var best = 0u;
  var bestP = 0.0;
  var bestL = 0u;
  for (var g = 0u; g < G; g = g + 1u) {
    let L = viewLoad(g);
    let top = add64(mul32x32(scale, L), w);
    let over = select(U64(0u, 0u), sub64(top, E), lt64(E, top));
    let P = b * f32of64(over);
    if (g == 0u || P < bestP || (P == bestP && L < bestL)) {
      best = g;
      bestP = P;
      bestL = L;
    }
  }
  return best;
}

fn projMean(j: u32, g: u32) -> f32 {
  return bitcast<f32>(ranks[projMeanIdx(j, g)]);
}
fn projVar(j: u32, g: u32) -> f32 {
  return bitcast<f32>(ranks[projVarIdx(j, g)]);
}
fn hzStep(j: u32) -> u32 {
  return par(P_HZ + P_HZ_WORDS * j);
}
fn hzWeight(j: u32) -> f32 {
  return parF(P_HZ + P_HZ_WORDS * j + 1u);
}
fn hzNewcomer(j: u32) -> f32 {
  return parF(P_HZ + P_HZ_WORDS * j + 2u);
}

// Envelope M_j = max_g of the projected load at each point, into the scratch words.
fn projEnvelopes() {
  for (var j = 0u; j < J; j = j + 1u) {
    var E = projMean(j, 0u);
    for (var g = 1u; g < G; g = g + 1u) {
      E = max(E, projMean(j, g));
    }
    ranks[scratchIdx(j)] = bitcast<u32>(E);
  }
}

// brh (write-up BR-H): F = alpha*(sum gamma^h)*s - beta*sum_h gamma^h*max(s - m_h, 0) on the
// binary-cutoff projection (in the projMean words); the reward is the same for every rank, so
// the highest F is the lowest beta * penalty. The host puts gamma^h in the point weights.
fn routeBrh(prompt: u32) -> u32 {
  let beta = knob_brh_beta();
  let s = f32(prompt);
  projEnvelopes();
  var best = 0u;
  var bestP = 0.0;
  var bestL = 0u;
  for (var g = 0u; g < G; g = g + 1u) {
    var pen = 0.0;
    for (var j = 0u; j < J; j = j + 1u) {
      let over = s - (bitcast<f32>(ranks[scratchIdx(j)]) - projMean(j, g));
      if (over > 0.0) {
        pen = pen + hzWeight(j) * over;
      }
    }
    let P = beta * pen;
    let L0 = viewLoad(g);
    if (g == 0u || P < bestP || (P == bestP && L0 < bestL)) {
      best = g;
      bestP = P;
      bestL = L0;
    }
  }
  return best;
}

// fast_phi (write-up Fast-Phi): sum_k w_k S(h_k) max(s + h_k - m(h_k), 0) on the survival-weighted
// projection, plus lambda times the drift sum_k w_k S(h_k) (L(h_k) - mean L(h_k)) (s + h_k); the
// host folds w_k * S(h_k) into the point weights. Lowest wins.
fn routeFastPhi(prompt: u32) -> u32 {
  let lambda = knob_fast_phi_lambda();
  projEnvelopes();
  var best = 0u;
  var bestD = 0.0;
  var bestL = 0u;
  for (var g = 0u; g < G; g = g + 1u) {
    var phi = 0.0;
    var drift = 0.0;
    for (var j = 0u; j < J; j = j + 1u) {
      let ws = hzWeight(j);
      if (ws == 0.0) {
        continue;
      }
      let sh = f32(prompt + hzStep(j));
      let L = projMean(j, g);
      let over = sh - (bitcast<f32>(ranks[scratchIdx(j)]) - L);
      if (over > 0.0) {
        phi = phi + ws * over;
      }
      if (lambda != 0.0) {
        var mean = 0.0;
        for (var k = 0u; k < G; k = k + 1u) {
          mean = mean + projMean(j, k);
        }
        drift = drift + ws * (L - mean / f32(G)) * sh;
      }
    }
    let D = select(phi, phi + lambda * drift, lambda != 0.0);
    let L0 = viewLoad(g);
    if (g == 0u || D < bestD || (D == bestD && L0 < bestL)) {
      best = g;
      bestD = D;
      bestL = L0;
    }
  }
  return best;
}

// fast_phi_gauss (ours): Gauss-Legendre sum over the horizon of the increase of the Gaussian
// expected overflow above the max projected load; the host folds (H/2) * w_j * discount^t_j into
// the weight. The sum D is kept as ln D (gaussian.wgsl, "the log domain"); comparing ln D orders
// ranks as D does.
fn routeFastPhiGauss(prompt: u32) -> u32 {
  projEnvelopes();
  var best = 0u;
  var bestD = 0.0;
  var bestL = 0u;
  for (var g = 0u; g < G; g = g + 1u) {
    var logD = LOG_ZERO;
    for (var j = 0u; j < J; j = j + 1u) {
      let w = hzWeight(j);
      if (!(w > 0.0)) {
        continue;
      }
      let E = bitcast<f32>(ranks[scratchIdx(j)]);
      let q = hzNewcomer(j);
      let load = f32(prompt + hzStep(j));
      let addMean = q * load;
      let addVar = q * (1.0 - q) * load * load;
      let mu = projMean(j, g);
      let v = projVar(j, g);
      let l1 = logExpectedOverflow(mu + addMean, v + addVar, E);
      let l0 = logExpectedOverflow(mu, v, E);
      if (l1 > l0) {
        logD = logAdd(logD, log(w) + logSub(l1, l0));
      }
    }
    let L0 = viewLoad(g);
    if (g == 0u || logD < bestD || (logD == bestD && L0 < bestL)) {
      best = g;
      bestD = logD;
      bestL = L0;
    }
  }
  return best;
}
