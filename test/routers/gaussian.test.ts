import { describe, expect, it } from 'vitest';
import { erf, erfc, expectedOverflow, GL_MAX_K, GL_NODES, GL_WEIGHTS, glNodeOnInterval, phi, Phi, upperTail } from '../../src/routers/gaussian.ts';

describe('normal pdf/cdf', () => {
  it('matches reference values (erf/erfc to ~1e-7 relative)', () => {
    // Reference values from mpmath at 30 digits.
    const cases: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
    ];
    for (const [x, v] of cases) {
      expect(Math.abs(erf(x) - v)).toBeLessThan(2e-7);
      expect(Math.abs(erf(-x) + v)).toBeLessThan(2e-7);
    }
    // Tail: relative accuracy is what matters for fast_phi.
    const tails: [number, number][] = [
      [3, 2.209049699858544e-5],
      [5, 1.5374597944280349e-12],
      [8, 1.1224297172982928e-29],
    ];
    for (const [x, v] of tails) expect(Math.abs(erfc(x) / v - 1)).toBeLessThan(2e-7);
    expect(phi(0)).toBeCloseTo(0.3989422804014327, 15);
    expect(phi(1.5)).toBeCloseTo(0.12951759566589174, 15);
    expect(Math.abs(Phi(1.96) - 0.9750021048517795)).toBeLessThan(1e-7);
    expect(Math.abs(Phi(-1) - 0.15865525393145707)).toBeLessThan(1e-7);
    expect(Phi(0)).toBeCloseTo(0.5, 7);
    expect(Math.abs(upperTail(6) / 9.865876450376946e-10 - 1)).toBeLessThan(2e-7);
  });
});

describe('expectedOverflow', () => {
  /** E[(X-E)^+] by the trapezoid rule on a fine grid (reference). */
  function numeric(mu: number, v: number, E: number): number {
    const s = Math.sqrt(v);
    const n = 200_000;
    const lo = mu - 12 * s;
    const hi = mu + 12 * s;
    const dx = (hi - lo) / n;
    let acc = 0;
    for (let i = 0; i <= n; i++) {
      const x = lo + i * dx;
      const f = Math.max(0, x - E) * Math.exp(-0.5 * ((x - mu) / s) ** 2) / (s * Math.sqrt(2 * Math.PI));
      acc += (i === 0 || i === n ? 0.5 : 1) * f;
    }
    return acc * dx;
  }

  it('agrees with numerical integration', () => {
    for (const [mu, v, E] of [
      [100, 400, 100],
      [100, 400, 130],
      [100, 400, 60],
      [1000, 2500, 1100],
    ]) {
      const ref = numeric(mu, v, E);
      expect(Math.abs(expectedOverflow(mu, v, E) - ref)).toBeLessThan(1e-5 * Math.max(1, ref));
    }
    // At the mean: sigma * phi(0).
    expect(expectedOverflow(50, 100, 50)).toBeCloseTo(10 * 0.3989422804014327, 6);
  });

  it('is the hinge when the variance is zero, and never below it', () => {
    expect(expectedOverflow(120, 0, 100)).toBe(20);
    expect(expectedOverflow(80, 0, 100)).toBe(0);
    // Far tail: phi(z) - z(1 - Phi(z)) is a difference of nearly equal terms; the erfc fit keeps
    // relative accuracy there (references from mpmath at 50 digits).
    const tail: [number, number][] = [
      [3, 0.0003821543170477236],
      [5, 5.346165533832815e-8],
      [10, 7.474560254589328e-25],
    ];
    for (const [z, ref] of tail) expect(Math.abs(expectedOverflow(0, 1, z) / ref - 1)).toBeLessThan(1e-3);
    for (const z of [20, 40, 100]) expect(expectedOverflow(0, 1, z)).toBeGreaterThanOrEqual(0);
    expect(expectedOverflow(100, 1, 0)).toBeGreaterThanOrEqual(100);
  });
});

describe('Gauss-Legendre rules', () => {
  /** Legendre P_K(x) by the three-term recurrence. */
  function legendre(K: number, x: number): number {
    let p0 = 1;
    let p1 = x;
    if (K === 0) return 1;
    for (let n = 1; n < K; n++) [p0, p1] = [p1, ((2 * n + 1) * x * p1 - n * p0) / (n + 1)];
    return p1;
  }

  it('has K nodes that are roots of P_K, weights summing to 2', () => {
    expect(GL_MAX_K).toBe(8);
    for (let K = 1; K <= GL_MAX_K; K++) {
      expect(GL_NODES[K - 1].length).toBe(K);
      expect(GL_WEIGHTS[K - 1].length).toBe(K);
      for (const x of GL_NODES[K - 1]) expect(Math.abs(legendre(K, x))).toBeLessThan(1e-14);
      expect(GL_WEIGHTS[K - 1].reduce((s, w) => s + w, 0)).toBeCloseTo(2, 14);
    }
  });

  it('integrates polynomials of degree 2K-1 exactly on [0, H]', () => {
    const H = 64;
    for (let K = 1; K <= GL_MAX_K; K++) {
      for (let d = 0; d <= 2 * K - 1; d++) {
        let q = 0;
        for (let j = 0; j < K; j++) q += (H / 2) * GL_WEIGHTS[K - 1][j] * (glNodeOnInterval(K, j, H) / H) ** d;
        // ∫_0^H (t/H)^d dt = H / (d + 1)
        expect(q / (H / (d + 1))).toBeCloseTo(1, 12);
      }
    }
  });
});
