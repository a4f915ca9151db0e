// Normal pdf, upper tail and Gaussian expected overflow for fast_phi_gauss (the Gaussian variant
// of Fast-Phi): an f32 port of src/routers/gaussian.ts (Numerical Recipes erfcc, relative error
// < 1.2e-7), evaluated in the log domain (docs/gpu.md, "fast_phi_gauss in f32"). fast_phi_gauss
// is float-scored: its decisions agree with the CPU engine's within the tolerance stated in
// docs/gpu.md, not bit for bit.

const INV_SQRT_2PI: f32 = 0.3989422804014327;
const INV_SQRT2: f32 = 0.7071067811865476;

/// The exponent's polynomial part of erfcc: erfc(z) = t * exp(-z^2 + erfcPoly(t)), t = 1/(1 + z/2).
fn erfcPoly(t: f32) -> f32 {
  return -1.26551223 +
    t * (1.00002368 +
      t * (0.37409196 +
        t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
}

fn erfcNR(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z + erfcPoly(t));
  return select(2.0 - r, r, x >= 0.0);
}

fn normalPdf(z: f32) -> f32 {
  return INV_SQRT_2PI * exp(-0.5 * z * z);
}

fn upperTail(z: f32) -> f32 {
  return 0.5 * erfcNR(z * INV_SQRT2);
}

/// E[(X - E)^+] for X ~ N(mu, variance), clamped below by the hinge max(0, mu - E).
fn expectedOverflow(mu: f32, variance: f32, envelope: f32) -> f32 {
  let hinge = select(0.0, mu - envelope, mu > envelope);
  if (!(variance > 0.0)) {
    return hinge;
  }
  let sigma = sqrt(variance);
  let z = (envelope - mu) / sigma;
  let v = sigma * (normalPdf(z) - z * upperTail(z));
  return select(hinge, v, v > hinge);
}

// ---- the log domain: f32 has too little range for the far tail ----
//
// A rank far below the envelope has an expected overflow like exp(-z^2/2): below f32's smallest
// normal (1e-38) from z = 13, while the CPU's f64 resolves it down to 1e-308 (z = 38). In f32 such
// ranks would all tie at 0 and fall back to the load tie-break where the CPU still tells them
// apart. So the GPU compares log D instead of D, with the far tail written without underflow, and
// treats what would underflow f64 as 0, as the CPU does.

const LOG_ZERO: f32 = -3.0e38;
/// ln of f64's smallest subnormal (4.9e-324): below this the CPU's exp() returns 0.
const LOG_F64_TINY: f32 = -744.44;
const LOG_INV_SQRT_2PI: f32 = -0.91893853320467274;

fn logOrZero(v: f32) -> f32 {
  return select(LOG_ZERO, log(v), v > 0.0);
}

/// ln E[(X - E)^+] (LOG_ZERO for 0), X ~ N(mu, variance); expectedOverflow in the log domain.
fn logExpectedOverflow(mu: f32, variance: f32, envelope: f32) -> f32 {
  let hinge = select(0.0, mu - envelope, mu > envelope);
  if (!(variance > 0.0)) {
    return logOrZero(hinge);
  }
  let sigma = sqrt(variance);
  let z = (envelope - mu) / sigma;
  if (z < 4.0) {
    // No underflow here: the CPU's formula as it is.
    let v = sigma * (normalPdf(z) - z * upperTail(z));
    return logOrZero(select(hinge, v, v > hinge));
  }
  // z >= 4 (so mu < E and the hinge is 0): sigma * phi(z) * (1 - z * Q(z) / phi(z)), with the
  // Mills ratio Q/phi taken from the same erfc fit (erfc(x) = t exp(-x^2 + poly), x^2 = z^2/2).
  let t = 1.0 / (1.0 + 0.5 * (z * INV_SQRT2));
  let mills = 0.5 * t * exp(erfcPoly(t)) / INV_SQRT_2PI;
  let inner = 1.0 - z * mills;
  if (!(inner > 0.0)) {
    return LOG_ZERO;
  }
  let l = log(sigma) + LOG_INV_SQRT_2PI - 0.5 * z * z + log(inner);
  return select(l, LOG_ZERO, l < LOG_F64_TINY);
}

/// ln(exp(a) + exp(b)).
fn logAdd(a: f32, b: f32) -> f32 {
  let hi = max(a, b);
  let lo = min(a, b);
  if (lo <= LOG_ZERO) {
    return hi;
  }
  return hi + log(1.0 + exp(lo - hi));
}

/// ln(exp(l1) - exp(l0)) for l1 > l0.
fn logSub(l1: f32, l0: f32) -> f32 {
  if (l0 <= LOG_ZERO) {
    return l1;
  }
  let d = l1 - l0;
  // 1 - exp(-d) without cancellation for small d.
  let m = select(1.0 - exp(-d), d * (1.0 - 0.5 * d * (1.0 - d / 3.0)), d < 1e-2);
  return l1 + log(m);
}
