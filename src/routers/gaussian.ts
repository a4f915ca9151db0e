// Normal pdf/cdf, Gaussian expected overflow and Gauss–Legendre rules, for fast_phi.
// Everything here is a few multiplies, one exp and one sqrt, so a WGSL port is line-for-line.

const INV_SQRT_2PI = 0.3989422804014327;
const INV_SQRT2 = 0.7071067811865476;

/**
 * Complementary error function, Chebyshev fit from Numerical Recipes (2nd ed., §6.2, `erfcc`):
 * relative error < 1.2e-7 for every x. Chosen over Abramowitz–Stegun 7.1.26 (absolute error
 * 1.5e-7) because that one is ~40% off in relative terms deep in the tail, where fast_phi
 * subtracts two nearly equal overflow terms; here the tail keeps its relative accuracy.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export function erf(x: number): number {
  return 1 - erfc(x);
}

/** Standard normal density. */
export function phi(z: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/** Standard normal cdf Φ(z). */
export function Phi(z: number): number {
  return 0.5 * erfc(-z * INV_SQRT2);
}

/** Upper tail 1 − Φ(z), computed directly so it stays accurate for large z. */
export function upperTail(z: number): number {
  return 0.5 * erfc(z * INV_SQRT2);
}

/**
 * E[(X − E)^+] for X ~ N(mu, variance): σφ(z) + (μ − E)(1 − Φ(z)) with z = (E − μ)/σ; the hinge
 * max(0, μ − E) when the variance is 0. Clamped below by the hinge (Jensen) so rounding in the
 * far tail can never make it negative or smaller than the deterministic overflow.
 */
export function expectedOverflow(mu: number, variance: number, envelope: number): number {
  const hinge = mu > envelope ? mu - envelope : 0;
  if (!(variance > 0)) return hinge;
  const sigma = Math.sqrt(variance);
  const z = (envelope - mu) / sigma;
  const v = sigma * (phi(z) - z * upperTail(z));
  return v > hinge ? v : hinge;
}

/** Gauss–Legendre nodes on [-1, 1] for K = 1..8 (ascending), index K-1. */
export const GL_NODES: readonly (readonly number[])[] = [
  [0],
  [-0.5773502691896257, 0.5773502691896257],
  [-0.7745966692414834, 0, 0.7745966692414834],
  [-0.8611363115940526, -0.33998104358485626, 0.33998104358485626, 0.8611363115940526],
  [-0.906179845938664, -0.5384693101056831, 0, 0.5384693101056831, 0.906179845938664],
  [-0.932469514203152, -0.6612093864662645, -0.2386191860831969, 0.2386191860831969, 0.6612093864662645, 0.932469514203152],
  [-0.9491079123427585, -0.7415311855993945, -0.4058451513773972, 0, 0.4058451513773972, 0.7415311855993945, 0.9491079123427585],
  [
    -0.9602898564975363, -0.7966664774136267, -0.525532409916329, -0.1834346424956498, 0.1834346424956498, 0.525532409916329,
    0.7966664774136267, 0.9602898564975363,
  ],
];

/** Matching weights (sum to 2). */
export const GL_WEIGHTS: readonly (readonly number[])[] = [
  [2],
  [1, 1],
  [0.5555555555555556, 0.8888888888888888, 0.5555555555555556],
  [0.34785484513745385, 0.6521451548625461, 0.6521451548625461, 0.34785484513745385],
  [0.23692688505618908, 0.47862867049936647, 0.5688888888888889, 0.47862867049936647, 0.23692688505618908],
  [0.17132449237917036, 0.3607615730481386, 0.46791393457269104, 0.46791393457269104, 0.3607615730481386, 0.17132449237917036],
  [0.1294849661688697, 0.27970539148927664, 0.3818300505051189, 0.4179591836734694, 0.3818300505051189, 0.27970539148927664, 0.1294849661688697],
  [
    0.10122853629037626, 0.22238103445337448, 0.31370664587788727, 0.362683783378362, 0.362683783378362, 0.31370664587788727,
    0.22238103445337448, 0.10122853629037626,
  ],
];

export const GL_MAX_K = GL_NODES.length;

/** Node j of the K-point rule mapped from [-1, 1] to [0, H]. */
export function glNodeOnInterval(K: number, j: number, H: number): number {
  return (H / 2) * (GL_NODES[K - 1][j] + 1);
}
